import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseCgroupSummaries } from "../../../agent/metrics/collectors/cgroups.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const CGROUPS_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_cgroups_"));
const FIXTURE_CGROUPS = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/cgroups"), "utf8");

describe("cgroups collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    expect(CGROUPS_FAMILIES).toHaveLength(2);
    expect(diffFamilies(toParsed(await collectOnce(collector)), CGROUPS_FAMILIES)).toEqual([]);
  });

  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
    expect(e2eConfig().metrics.collectors.cgroups.enabled).toBe(true);
    expect(e2eConfig(["--no-collector.cgroups"]).metrics.collectors.cgroups.enabled).toBe(false);
  });

  it("emits nothing when /proc/cgroups does not exist", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
  });

  it("reads a cgroup v2 host's file (controllers on hierarchy 0) and fails on a malformed line", async () => {
    const out = await scrapeTree(
      collector,
      hostTree({ "proc/cgroups": "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t93\t1\nmemory\t0\t93\t0\n" }),
    );
    expect(valuesOf(out, "node_cgroups_cgroups")).toEqual(
      new Map([
        ["cpu", 93],
        ["memory", 93],
      ]),
    );
    expect(valuesOf(out, "node_cgroups_enabled")).toEqual(
      new Map([
        ["cpu", 1],
        ["memory", 0],
      ]),
    );
    const bad = hostTree({ "proc/cgroups": "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\tmany\t1\n" });
    await expect(scrapeTree(collector, bad)).rejects.toThrow(/cgroups: line 2: unable to parse cgroup number from "many"/);
  });
});

describe("cgroups parser", () => {
  it("skips comment lines only; a blank line or too few fields fails, as in procfs", () => {
    expect(parseCgroupSummaries("#a b\n# c\nrdma 4 1 1 extra\n")).toEqual([{ subsysName: "rdma", hierarchy: 4, cgroups: 1, enabled: 1 }]);
    expect(parseCgroupSummaries("")).toEqual([]);
    expect(() => parseCgroupSummaries("cpu 1 2 1\n\nmemory 2 3 1\n")).toThrow(CollectorError);
    expect(() => parseCgroupSummaries("cpu 1 2\n")).toThrow(/4\+ fields required, found 3/);
    // strconv.Atoi: signs are fine, other bases and underscores are not.
    expect(parseCgroupSummaries("cpu +1 -2 1")[0]).toMatchObject({ hierarchy: 1, cgroups: -2 });
    expect(() => parseCgroupSummaries("cpu 0x1 2 1")).toThrow(/hierarchy ID/);
    expect(() => parseCgroupSummaries("cpu 1 1_0 1")).toThrow(/cgroup number/);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseCgroupSummaries, FIXTURE_CGROUPS);
  });
});
