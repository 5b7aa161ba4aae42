import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import {
  collector,
  dehumanize,
  dehumanizeSigned,
  parseBcacheValue,
  parsePriorityStats,
  parseWritebackRateDebug,
} from "../../../agent/metrics/collectors/bcache.js";
import { goFields, goScanLines, sortGoNames } from "../../../agent/metrics/parsers/go-text.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const BCACHE_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_bcache_"));
const FIXTURE_SET = path.join(FIXTURE_ROOT, "sys/fs/bcache/deaddd54-c735-46d5-868e-f331c5fd7c74");
const read = (rel: string) => fs.readFileSync(path.join(FIXTURE_SET, rel), "utf8");
const WRITEBACK_DEBUG = read("bdev0/writeback_rate_debug");
const PRIORITY_STATS = read("cache0/priority_stats");

const SET_FILES = ["average_key_size", "btree_cache_size", "cache_available_percent", "congested", "root_usage_percent", "tree_depth"];
const INTERNAL = ["active_journal_entries", "btree_nodes", "btree_read_average_duration_us", "cache_read_races"];
const PERIOD = [
  "bypassed",
  "cache_hits",
  "cache_misses",
  "cache_bypass_hits",
  "cache_bypass_misses",
  "cache_miss_collisions",
  "cache_readaheads",
];

/** A complete cache set under sys/fs/bcache/<uuid>: every value `v` unless overridden. */
function bcacheSet(uuid: string, over: Record<string, string> = {}, v = "1\n"): Record<string, string> {
  const base = `sys/fs/bcache/${uuid}`;
  const files: Record<string, string> = {};
  for (const f of SET_FILES) files[`${base}/${f}`] = v;
  for (const f of INTERNAL) files[`${base}/internal/${f}`] = v;
  files[`${base}/bdev0/dirty_data`] = v;
  files[`${base}/bdev0/writeback_rate_debug`] = WRITEBACK_DEBUG;
  for (const f of PERIOD) files[`${base}/bdev0/stats_total/${f}`] = v;
  files[`${base}/cache0/io_errors`] = v;
  files[`${base}/cache0/metadata_written`] = v;
  files[`${base}/cache0/written`] = v;
  files[`${base}/cache0/priority_stats`] = PRIORITY_STATS;
  for (const [rel, text] of Object.entries(over)) {
    if (text === "<absent>") delete files[`${base}/${rel}`];
    else files[`${base}/${rel}`] = text;
  }
  return files;
}

describe("bcache collector", () => {
  it("matches node_exporter's output for the fixture host (with --collector.bcache.priorityStats, as in the e2e run)", async () => {
    expect(BCACHE_FAMILIES).toHaveLength(28);
    expect(e2eConfig().metrics.collectors.bcache.priorityStats).toBe(true);
    expect(diffFamilies(toParsed(await collectOnce(collector)), BCACHE_FAMILIES)).toEqual([]);
  });

  it("is enabled by default and leaves priority stats out by default", async () => {
    expect(collector.defaultEnabled).toBe(true);
    const out = await collectOnce(collector, e2eConfig(["--no-collector.bcache.priorityStats"]));
    const withoutPriority = BCACHE_FAMILIES.filter((name) => !name.startsWith("node_bcache_priority_stats_"));
    expect(withoutPriority).toHaveLength(26);
    expect(diffFamilies(toParsed(out), withoutPriority)).toEqual([]);
    // priority_stats is not even read then: a malformed one does no harm.
    const tree = hostTree(bcacheSet("a-b", { "cache0/priority_stats": "Unused: lots\n" }));
    await expect(scrapeTree(collector, tree)).rejects.toThrow(/priority_stats: strconv.ParseUint: parsing "lots"/);
    const quiet = await scrapeTree(collector, tree, ["--no-collector.bcache.priorityStats"]);
    expect(quiet.families.has("node_bcache_priority_stats_unused_percent")).toBe(false);
    expect(valuesOf(quiet, "node_bcache_written_bytes_total")).toEqual(new Map([["a-b,cache0", 1]]));
  });

  it("emits nothing when /sys/fs/bcache is missing or holds no cache set", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const noSets = hostTree({ "sys/fs/bcache/register": "", "sys/fs/bcache/register_quiet": "", "sys/fs/bcache/pendings_cleanup": "" });
    expect((await scrapeTree(collector, noSets)).families.size).toBe(0);
  });

  it("reads every set, bdev<N> and cache<N> in Go's sort order, and leaves out a zero readahead count", async () => {
    const tree = hostTree({
      ...bcacheSet("b-2", { "bdev0/stats_total/cache_readaheads": "0\n" }),
      ...bcacheSet("a-1", { "bdev10/dirty_data": "2.5k\n", "bdev10/writeback_rate_debug": "rate: 512/sec\n" }),
      ...Object.fromEntries(PERIOD.map((f) => [`sys/fs/bcache/a-1/bdev10/stats_total/${f}`, "7\n"])),
      "sys/fs/bcache/a-1/bdevX/dirty_data": "junk", // not bdev[0-9]*: ignored
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_bcache_dirty_data_bytes")).toEqual(
      new Map([
        ["a-1,bdev0", 1],
        ["a-1,bdev10", 2 * 1024 + (5 / 10.24) * 1024],
        ["b-2,bdev0", 1],
      ]),
    );
    expect(valuesOf(out, "node_bcache_writeback_rate")).toEqual(
      new Map([
        ["a-1,bdev0", 1150976],
        ["a-1,bdev10", 512],
        ["b-2,bdev0", 1150976],
      ]),
    );
    expect(valuesOf(out, "node_bcache_writeback_rate_proportional_term").get("a-1,bdev10")).toBe(0);
    expect([...valuesOf(out, "node_bcache_cache_readaheads_total").keys()]).toEqual(["a-1,bdev0", "a-1,bdev10"]);
    expect(valuesOf(out, "node_bcache_btree_read_average_duration_seconds").get("a-1")).toBe(1e-9);
  });

  it("fails, emitting nothing, on a missing or malformed file of any set", async () => {
    const missing = hostTree({ ...bcacheSet("a-1"), ...bcacheSet("b-2", { "cache0/written": "<absent>" }) });
    await expect(scrapeTree(collector, missing)).rejects.toThrow(/failed to read: .*b-2\/cache0\/written: ENOENT/);
    const bad = hostTree(bcacheSet("a-1", { "internal/btree_nodes": "many\n" }));
    await expect(scrapeTree(collector, bad)).rejects.toThrow(CollectorError);
    const badDebug = hostTree(bcacheSet("a-1", { "bdev0/writeback_rate_debug": "rate: 1.1x/sec\n" }));
    await expect(scrapeTree(collector, badDebug)).rejects.toThrow(/writeback_rate_debug: unknown size suffix/);
    const stray = hostTree({ "sys/fs/bcache/not-a-set": "" });
    await expect(scrapeTree(collector, stray)).rejects.toThrow(/not-a-set\/average_key_size: ENOTDIR/);
  });
});

describe("bcache parsers", () => {
  it("dehumanizes bch_hprint's sizes as procfs does", () => {
    expect(dehumanize("0")).toBe(0);
    expect(dehumanize("512")).toBe(512);
    expect(dehumanize("1.1M")).toBe(1150976);
    expect(dehumanize("20.4G")).toBe(21894266880);
    expect(dehumanize("427.5k")).toBe(437748);
    expect(dehumanize("1.2.3k")).toBe(Math.trunc((1 + 2 / 10.24) * 1024)); // procfs reads two parts only
    expect(dehumanize("1e3")).toBe(1000);
    expect(dehumanize("3.9")).toBe(3);
    expect(dehumanizeSigned("-321.5k")).toBe(-329204);
    expect(dehumanizeSigned("790.0k")).toBe(808960);
    for (const bad of ["", "k", ".5k", "1.k", "abc", "1.1x", "-5", "inf", "nan", "1e400", " 5"]) {
      expect(() => dehumanize(bad), bad).toThrow(CollectorError);
    }
    expect(() => dehumanize("16E")).toThrow(/uint64 range/);
    expect(() => dehumanizeSigned("--5")).toThrow(CollectorError);
    expect(() => dehumanizeSigned("8E")).toThrow(/int64 range/);
  });

  it("reads a value file like procfs's readValue: one trailing newline cut", () => {
    expect(parseBcacheValue("1305\n")).toBe(1305);
    expect(parseBcacheValue("2.0k\n")).toBe(2048);
    expect(() => parseBcacheValue("")).toThrow(/empty file/);
    expect(() => parseBcacheValue("\n")).toThrow(/zero-length reply/);
    expect(() => parseBcacheValue("10")).toThrow(/no trailing newline/);
    expect(() => parseBcacheValue("10\n\n")).toThrow(CollectorError);
  });

  it("parses writeback_rate_debug and priority_stats", () => {
    expect(parseWritebackRateDebug(WRITEBACK_DEBUG)).toEqual({
      rate: 1150976,
      dirty: 21894266880,
      target: 21894266880,
      proportional: 437748,
      integral: 808960,
      change: 329204,
      nextIO: 17,
    });
    expect(parseWritebackRateDebug("proportional: -1.5k\r\nother: x\n")).toMatchObject({ proportional: -1524, rate: 0 }); // bch_hprint: .5 is 5/10.24;
    expect(() => parseWritebackRateDebug("next io: soon\n")).toThrow(/ParseInt: parsing "soon"/);
    expect(() => parseWritebackRateDebug("rate:\n")).toThrow(CollectorError);
    expect(parsePriorityStats(PRIORITY_STATS)).toEqual({ unusedPercent: 99, metadataPercent: 0 });
    expect(parsePriorityStats("Average: x\n")).toEqual({ unusedPercent: 0, metadataPercent: 0 });
    expect(() => parsePriorityStats("Metadata: 5.5%\n")).toThrow(CollectorError);
    expect(() => parsePriorityStats(`Unused: ${"1".repeat(70000)}%\n`)).toThrow(/token too long/);
  });

  it("splits and sorts text as Go does", () => {
    expect(sortGoNames(["\u{1F600}", "\uFF01", "b", "a"])).toEqual(["a", "b", "\uFF01", "\u{1F600}"]);
    expect(sortGoNames(["bdev10", "bdev2", "bdev1"])).toEqual(["bdev1", "bdev10", "bdev2"]);
    expect(goFields("\u00a0 rate:\t1.1M/sec \u0085")).toEqual(["rate:", "1.1M/sec"]);
    expect(goFields("  ")).toEqual([]);
    expect(goFields("\ufeffx")).toEqual(["\ufeffx"]);
    expect(goScanLines("a\r\nb\n\nc", "f")).toEqual(["a", "b", "", "c"]);
    expect(goScanLines("", "f")).toEqual([]);
    expect(goScanLines(`${"x".repeat(65535)}\n`, "f")).toHaveLength(1);
    expect(() => goScanLines("x".repeat(65536), "f")).toThrow(/token too long/);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseBcacheValue(text), "20.4G\n");
    checkParserOnBadInput((text) => parseWritebackRateDebug(text), WRITEBACK_DEBUG);
    checkParserOnBadInput((text) => parsePriorityStats(text), PRIORITY_STATS);
    checkParserOnBadInput((text) => dehumanizeSigned(text), "-427.5k");
  });
});
