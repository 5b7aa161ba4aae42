import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseZoneinfo, parseZoneinfoInt } from "../../../agent/metrics/collectors/zoneinfo.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_zoneinfo_"));
const SEED = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/zoneinfo"), "utf8");

describe("zoneinfo collector", () => {
  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
  });

  it("matches node_exporter's output for the fixture host", async () => {
    expect(FAMILIES).toHaveLength(37);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("emits nothing without /proc/zoneinfo, and nothing for an empty one", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    expect((await scrapeTree(collector, hostTree({ "proc/zoneinfo": "" }))).families.size).toBe(0);
  });

  it("counts a node's per-node stats for its first zone and emits only the fields present", async () => {
    const text = [
      "Node 1, zone      DMA",
      "  per-node stats",
      "      nr_dirty     7",
      "  pages free     3",
      "        min      0x10",
      "        protection: (0, 5)",
      "  pagesets",
      "    cpu: 0",
      "              high:  378",
      "Node 1, zone   Normal",
      "  pages free     4",
      "      nr_free_pages 4",
      "      numa_hit     9",
      "        protection: (0, 0)",
      "",
    ].join("\n");
    const out = await scrapeTree(collector, hostTree({ "proc/zoneinfo": text }));
    expect(valuesOf(out, "node_zoneinfo_nr_dirty_pages")).toEqual(new Map([["1,DMA", 7]]));
    expect(valuesOf(out, "node_zoneinfo_min_pages")).toEqual(new Map([["1,DMA", 16]]));
    expect(valuesOf(out, "node_zoneinfo_high_pages").size).toBe(0);
    expect(valuesOf(out, "node_zoneinfo_nr_free_pages")).toEqual(new Map([["1,Normal", 4]]));
    expect(valuesOf(out, "node_zoneinfo_numa_hit_total")).toEqual(new Map([["1,Normal", 9]]));
    expect(out.families.get("node_zoneinfo_numa_hit_total")?.desc.type).toBe("counter");
    expect(valuesOf(out, "node_zoneinfo_protection_1")).toEqual(
      new Map([
        ["1,DMA", 5],
        ["1,Normal", 0],
      ]),
    );
    expect(out.families.has("node_zoneinfo_protection_2")).toBe(false);
  });

  it("fails, emitting nothing, on a known field or protection entry that is not an integer", async () => {
    const bad = SEED.replace("numa_hit     13", "numa_hit     13.5");
    await expect(scrapeTree(collector, hostTree({ "proc/zoneinfo": bad }))).rejects.toThrow(
      /zoneinfo: node 0, zone DMA32: numa_hit "13.5" is not an integer/,
    );
    expect(() => parseZoneinfo("Node 0, zone DMA\n  protection: (0, x)\n")).toThrow(/protection "x"/);
    // Unknown keys and short lines are skipped, as procfs does.
    expect(parseZoneinfo("Node 0, zone DMA\n  cma 1.5\n  low\n")[0].values.every((v) => v === undefined)).toBe(true);
  });

  it("parses values as procfs's ValueParser.PInt64 does", () => {
    expect(parseZoneinfoInt("-3")).toBe(-3);
    expect(parseZoneinfoInt("0xff")).toBe(255);
    expect(parseZoneinfoInt("0x-1")).toBe(-1);
    expect(parseZoneinfoInt("0X10")).toBeNaN();
    expect(parseZoneinfoInt("1_0")).toBeNaN();
    expect(parseZoneinfoInt("9223372036854775808")).toBeNaN();
    expect(parseZoneinfoInt("0x8000000000000000")).toBeNaN();
    expect(() => parseZoneinfo("Node 0, zone DMA\n  min 0x\n")).toThrow(CollectorError);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseZoneinfo, SEED);
  });
});
