import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseSlabinfo } from "../../../agent/metrics/collectors/slabinfo.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_slabinfo_"));
const SEED = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/slabinfo"), "utf8");

describe("slabinfo collector", () => {
  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
  });

  it("matches node_exporter's output for the fixture host", async () => {
    expect(FAMILIES).toHaveLength(5);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("emits nothing without /proc/slabinfo", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
  });

  it("filters slabs by name with slabs-include and slabs-exclude (both apply)", async () => {
    const slabs = (flags: string[]) =>
      collectOnce(collector, e2eConfig(flags)).then((out) => [...valuesOf(out, "node_slabinfo_objects").keys()]);
    expect(await slabs(["--collector.slabinfo.slabs-include=^kmalloc"])).toEqual(["kmalloc-8192"]);
    expect(await slabs(["--collector.slabinfo.slabs-exclude=_"])).toEqual(["dmaengine-unmap-128", "kmalloc-8192"]);
    expect(await slabs(["--collector.slabinfo.slabs-include=k", "--collector.slabinfo.slabs-exclude=cache"])).toEqual([
      "tw_sock_TCP",
      "kmalloc-8192",
    ]);
  });

  it("fails, emitting nothing, on a line that is not a 2.1 slab entry", async () => {
    const bad = `${SEED}kmalloc-64 1 2 64 64 1 : tunables 0 0 0 : slabdata 1 1\n`;
    await expect(scrapeTree(collector, hostTree({ "proc/slabinfo": bad }))).rejects.toThrow(/slabinfo: unable to read line "kmalloc-64/);
    expect(() => parseSlabinfo("x 1 2 3 4 5 : tunables 0 0 0 : slabdata 1 1 z\n")).toThrow(/column 16 "z" is not an integer/);
    // A blank line is a line like any other for procfs, and so is leading whitespace.
    expect(() => parseSlabinfo("\n")).toThrow(CollectorError);
    expect(() => parseSlabinfo(" x 1 2 3 4 5 : tunables 0 0 0 : slabdata 1 1 0\n")).toThrow(CollectorError);
  });

  it("skips the version and header lines and keeps the file's order", () => {
    const slabs = parseSlabinfo(SEED);
    expect(slabs.map((s) => s.name)).toEqual(["tw_sock_TCP", "dmaengine-unmap-128", "kmalloc-8192", "kmem_cache"]);
    expect(slabs[1]).toEqual({
      name: "dmaengine-unmap-128",
      activeObjects: 1206,
      objects: 1320,
      objectSize: 1088,
      objectsPerSlab: 30,
      pagesPerSlab: 8,
    });
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseSlabinfo, SEED);
  });
});
