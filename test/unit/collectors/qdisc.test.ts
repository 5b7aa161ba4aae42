import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { describe, expect, it, vi } from "vitest";
import { HostPaths } from "../../../agent/host/paths.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { QDISC_LIVE_UNSUPPORTED, collector, parseQdiscResults } from "../../../agent/metrics/collectors/qdisc.js";
import { parseFixtureJson } from "../../../agent/metrics/collectors/recorded-netlink.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const QDISC_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_qdisc_"));
const RESULTS = fs.readFileSync(path.join(FIXTURE_ROOT, "qdisc/results.json"), "utf8");

/** A fixtures directory holding `results` as results.json, and the flag that points at it. */
function fixtureFlag(results: string): { paths: HostPaths; flag: string } {
  const paths = hostTree({ "q/results.json": results });
  return { paths, flag: `--collector.qdisc.fixtures=${path.join(paths.rootfs, "q")}` };
}

describe("qdisc collector", () => {
  it("matches node_exporter's output for its recorded answers (qdisc/results.json, devices (wlan0|eth0))", async () => {
    expect(QDISC_FAMILIES).toHaveLength(7);
    expect(diffFamilies(toParsed(await collectOnce(collector)), QDISC_FAMILIES)).toEqual([]);
  });

  it("reads <fixtures>/results.json, as node_exporter joins the option with that name", async () => {
    const { paths, flag } = fixtureFlag(RESULTS);
    const out = await scrapeTree(collector, paths, [flag]);
    expect(valuesOf(out, "node_qdisc_bytes_total")).toEqual(
      new Map([
        ["wlan0,fq", 42],
        ["eth0,pfifo_fast", 83],
      ]),
    );
    const missing = hostTree({});
    await expect(scrapeTree(collector, missing, [`--collector.qdisc.fixtures=${missing.rootfs}/nope`])).rejects.toThrow(
      /nope\/results\.json: file not found/,
    );
  });

  it("emits nothing on a live host and logs once that rtnetlink statistics are not read yet", async () => {
    const warn = vi.fn();
    const logger = { warn, debug: vi.fn(), info: vi.fn() } as unknown as Logger;
    const config = e2eConfig(["--collector.qdisc.fixtures="]).metrics;
    const c = collector.create({ paths: hostTree({}), config, logger });
    for (let i = 0; i < 3; i++) {
      const out = new FamilyCollector();
      await c.update(out, { signal: new AbortController().signal });
      expect(out.families.size).toBe(0);
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(QDISC_LIVE_UNSUPPORTED);
    expect(QDISC_LIVE_UNSUPPORTED).toMatch(/netlink/);
  });

  it("reports root qdiscs only and applies the device filters", async () => {
    const results = JSON.stringify([
      { IfaceName: "eth0", Kind: "mq", Bytes: 10, Qlen: 3, Backlog: 300 },
      { IfaceName: "eth0", Kind: "fq_codel", Parent: 65537, Bytes: 4 },
      { IfaceName: "eth1", Kind: "noqueue", Overlimits: 7 },
      null,
    ]);
    const { paths, flag } = fixtureFlag(results);
    const all = await scrapeTree(collector, paths, [flag, "--collector.qdisc.device-include="]);
    expect(valuesOf(all, "node_qdisc_bytes_total")).toEqual(
      new Map([
        ["eth0,mq", 10],
        ["eth1,noqueue", 0],
        // A null element is a zero QdiscInfo in Go, reported under the empty device name.
        [",", 0],
      ]),
    );
    expect(valuesOf(all, "node_qdisc_current_queue_length").get("eth0,mq")).toBe(3);
    expect(valuesOf(all, "node_qdisc_backlog").get("eth0,mq")).toBe(300);
    const excluded = await scrapeTree(collector, paths, [
      flag,
      "--collector.qdisc.device-include=",
      "--collector.qdisc.device-exclude=^eth1$|^$",
    ]);
    expect([...valuesOf(excluded, "node_qdisc_overlimits_total").keys()]).toEqual(["eth0,mq"]);
    const deprecated = await scrapeTree(collector, paths, [flag, "--collector.qdisk.device-include=^eth1$"]);
    expect([...valuesOf(deprecated, "node_qdisc_overlimits_total")]).toEqual([["eth1,noqueue", 7]]);
  });

  it("fails on malformed answers, naming the file", async () => {
    for (const [results, problem] of [
      ["[{", /results\.json: invalid JSON/],
      ['{"IfaceName": "eth0"}', /cannot unmarshal object into a Go slice/],
      ['[{"IfaceName": 1}]', /field "IfaceName": cannot unmarshal number 1 into a Go string/],
      ['[{"Packets": 4294967296}]', /field "Packets": cannot unmarshal number 4294967296 into a Go uint32/],
      ['[{"Drops": -1}]', /cannot unmarshal number -1 into a Go uint32/],
      ['[{"Bytes": 1.5}]', /cannot unmarshal number 1.5 into a Go uint64/],
    ] as const) {
      const { paths, flag } = fixtureFlag(results);
      await expect(scrapeTree(collector, paths, [flag])).rejects.toThrow(problem);
    }
  });
});

describe("qdisc results parser", () => {
  it("matches keys without regard to case, the last one winning, and ignores unknown keys", () => {
    const [q] = parseQdiscResults(
      JSON.parse('[{"ifacename": "a", "IFACENAME": "b", "kInD": "fq", "requeues": 5, "gcflows": 9, "extra": {"x": []}}]'),
    );
    expect(q).toMatchObject({ ifaceName: "b", kind: "fq", requeues: 5, parent: 0, bytes: 0 });
    expect(parseQdiscResults(null)).toEqual([]);
    expect(() => parseQdiscResults([1])).toThrow(CollectorError);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseQdiscResults(parseFixtureJson(text, "results.json")), RESULTS);
  });
});
