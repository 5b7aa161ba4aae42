import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { collector, parseDrbd } from "../../../agent/metrics/collectors/drbd.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const DRBD_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_drbd_"));
const FIXTURE_DRBD = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/drbd"), "utf8");

const summarize = (text: string) => parseDrbd(text).map((s) => `${s.desc.name}{${s.labels.join(",")}} ${s.value}`);

describe("drbd collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    expect(DRBD_FAMILIES).toHaveLength(15);
    expect(diffFamilies(toParsed(await collectOnce(collector)), DRBD_FAMILIES)).toEqual([]);
  });

  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
    expect(e2eConfig().metrics.collectors.drbd.enabled).toBe(true);
  });

  it("emits nothing when /proc/drbd does not exist", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
  });

  it("labels several devices and fails on a malformed number", async () => {
    const text =
      "version: 8.4.11 (api:1/proto:86-101)\n" +
      " 0: cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown C r-----\n" +
      "    ns:0 nr:0 dw:8 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:4\n" +
      " 12: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n" +
      "    ns:1 nr:2 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n";
    const out = await scrapeTree(collector, hostTree({ "proc/drbd": text }));
    expect(valuesOf(out, "node_drbd_connected")).toEqual(
      new Map([
        ["drbd0", 0],
        ["drbd12", 1],
      ]),
    );
    expect(valuesOf(out, "node_drbd_node_role_is_primary")).toEqual(
      new Map([
        ["drbd0,local", 0],
        ["drbd0,remote", 0],
        ["drbd12,local", 1],
        ["drbd12,remote", 0],
      ]),
    );
    expect(valuesOf(out, "node_drbd_out_of_sync_bytes")).toEqual(
      new Map([
        ["drbd0", 4096],
        ["drbd12", 0],
      ]),
    );
    expect(valuesOf(out, "node_drbd_network_sent_bytes_total").get("drbd12")).toBe(1024);
    expect(valuesOf(out, "node_drbd_network_received_bytes_total").get("drbd12")).toBe(2);
    await expect(scrapeTree(collector, hostTree({ "proc/drbd": " 1: cs:Connected ns:lots\n" }))).rejects.toThrow(
      /drbd: drbd1: ns: not a number: "lots"/,
    );
  });
});

describe("drbd parser", () => {
  it("reads words as node_exporter does", () => {
    // Keys before any device go to "unknown"; only "<n>:" with a uint64 starts a device.
    expect(summarize("ap:3 x:1: -1: lo:0x1p4 wo:b ep:1e2")).toEqual([
      "node_drbd_application_pending{unknown} 3",
      "node_drbd_local_pending{unknown} 16",
      "node_drbd_epochs{unknown} 100",
    ]);
    // Only the first two parts of a pair count; cs other than Connected is 0.
    expect(summarize("007: ds:UpToDate/UpToDate/x cs:StandAlone")).toEqual([
      "node_drbd_disk_state_is_up_to_date{drbd7,local} 1",
      "node_drbd_disk_state_is_up_to_date{drbd7,remote} 1",
      "node_drbd_connected{drbd7} 0",
    ]);
  });

  it("fails where node_exporter fails or panics", () => {
    expect(() => parseDrbd("1: ro:Primary")).toThrow(/ro: expected local\/remote, got "Primary"/);
    expect(() => parseDrbd("1: dw:1e400")).toThrow(/dw: not a number/);
    expect(() => parseDrbd("1: dw:0x10")).toThrow(/dw: not a number/); // a hex float needs its p exponent
    expect(() => parseDrbd(`1: ${"x".repeat(70000)}`)).toThrow(/token too long/);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseDrbd, FIXTURE_DRBD);
  });
});
