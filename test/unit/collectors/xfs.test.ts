import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseXfsStats } from "../../../agent/metrics/collectors/xfs.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const STATS = fs.readFileSync(path.join(FIXTURE_ROOT, "sys/fs/xfs/sda1/stats/stats"), "utf8");

describe("xfs collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_xfs_"));
    expect(families.length).toBe(39);
    expect(diffFamilies(toParsed(await collectOnce(collector)), families)).toEqual([]);
  });

  it("reports every filesystem under /sys/fs/xfs, and not the global stats", async () => {
    const paths = hostTree({
      "sys/fs/xfs/stats/stats": STATS,
      "sys/fs/xfs/sdb1/stats/stats": STATS.replace("rw 28 0", "rw 5 7"),
      "sys/fs/xfs/dm-0/stats/stats": STATS,
      "sys/fs/xfs/dm-1/other": "",
    });
    const out = await scrapeTree(collector, paths);
    expect(valuesOf(out, "node_xfs_write_calls_total")).toEqual(
      new Map([
        ["dm-0", 28],
        ["sdb1", 5],
      ]),
    );
    expect(valuesOf(out, "node_xfs_read_calls_total").get("sdb1")).toBe(7);
    expect(out.families.size).toBe(39);
  });

  it("reports nothing, without error, when there is no XFS filesystem", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    expect((await scrapeTree(collector, hostTree({ "sys/fs/xfs/stats/stats": STATS }))).families.size).toBe(0);
  });

  it("fails with a CollectorError naming the file for a malformed stats file", async () => {
    const paths = hostTree({ "sys/fs/xfs/sda1/stats/stats": STATS.replace("vnodes 4 0", "vnodes x 0") });
    await expect(scrapeTree(collector, paths)).rejects.toThrow(/sda1\/stats\/stats: line 14: value "x" of "vnodes" is not a uint32/);
  });
});

describe("parseXfsStats", () => {
  it("parses the lines procfs reads", () => {
    const stats = parseXfsStats(STATS);
    expect(stats.get("ig")).toEqual([5, 1, 0, 4, 0, 0, 1]);
    expect(stats.get("xpc")).toEqual([3571712, 3568056, 0]);
    expect(stats.has("abtb2")).toBe(false);
    // vnodes without "free" (older kernels); short lines are skipped.
    expect(parseXfsStats("vnodes 1 2 3 4 5 6 7\nqm\n").get("vnodes")).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("rejects what procfs rejects", () => {
    const bad = [
      ["rw 1 2 3\n", /"rw" has 3 values, expected 2/],
      ["vnodes 1 2 3 4 5 6\n", /expected 7 or 8/],
      ["debug 4294967296\n", /not a uint32/],
      ["rw -1 2\n", /not a uint32/],
      ["xpc 1 2\n", /"xpc" has 2 values/],
      ["xpc 1 2 18446744073709551616\n", /not a uint64/],
    ] as const;
    for (const [text, message] of bad) {
      expect(() => parseXfsStats(text, "f"), text).toThrow(CollectorError);
      expect(() => parseXfsStats(text, "f"), text).toThrow(message);
    }
    expect(parseXfsStats("xpc 1 2 4294967296\n").get("xpc")).toEqual([1, 2, 4294967296]);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseXfsStats(text), STATS);
  });
});
