import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector } from "../../../agent/metrics/collectors/bcachefs.js";
import {
  parseBtreeWriteStats,
  parseCompressionStats,
  parseCounterFile,
  parseDeviceIODone,
  parseDeviceIOErrors,
  parseErrors,
  parseHumanReadableBytes,
} from "../../../agent/metrics/collectors/bcachefs-parse.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const BCACHEFS_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_bcachefs_"));
const FIXTURE_FS = path.join(FIXTURE_ROOT, "sys/fs/bcachefs/deadbeef-1234-5678-9012-abcdefabcdef");
const read = (rel: string) => fs.readFileSync(path.join(FIXTURE_FS, rel), "utf8");
const COMPRESSION = read("compression_stats");
const ERRORS = read("errors");
const BTREE_WRITES = read("btree_write_stats");
const COUNTER = read("counters/btree_node_read");
const IO_DONE = read("dev-4/io_done");
const IO_ERRORS = read("dev-4/io_errors");

describe("bcachefs collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    expect(BCACHEFS_FAMILIES).toHaveLength(143);
    expect(diffFamilies(toParsed(await collectOnce(collector)), BCACHEFS_FAMILIES)).toEqual([]);
  });

  it("is enabled by default and emits nothing without a bcachefs filesystem", async () => {
    expect(collector.defaultEnabled).toBe(true);
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const empty = hostTree({});
    fs.mkdirSync(path.join(empty.sysfs, "fs/bcachefs"), { recursive: true });
    expect((await scrapeTree(collector, empty)).families.size).toBe(0);
    // Only directories are filesystems.
    expect((await scrapeTree(collector, hostTree({ "sys/fs/bcachefs/stray": "" }))).families.size).toBe(0);
  });

  it("fails when /sys/fs/bcachefs is not a directory (only ENOENT means no data)", async () => {
    await expect(scrapeTree(collector, hostTree({ "sys/fs/bcachefs": "" }))).rejects.toThrow(/fs\/bcachefs: ENOTDIR/);
  });

  it('treats absent files as procfs does: 0, "" or no series', async () => {
    const tree = hostTree({
      "sys/fs/bcachefs/u-1/dev-0/.keep": "",
      "sys/fs/bcachefs/u-1/dev-x/label": "x\n",
      "sys/fs/bcachefs/u-1/other/a": "",
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_bcachefs_info")).toEqual(new Map([["u-1", 1]]));
    expect(valuesOf(out, "node_bcachefs_btree_cache_size_bytes")).toEqual(new Map([["u-1", 0]]));
    expect(valuesOf(out, "node_bcachefs_device_info")).toEqual(
      new Map([
        ["u-1,0,,", 1],
        ["u-1,x,x,", 1],
      ]),
    );
    expect(valuesOf(out, "node_bcachefs_device_buckets")).toEqual(
      new Map([
        ["u-1,0", 0],
        ["u-1,x", 0],
      ]),
    );
    expect([...out.families.keys()].sort()).toEqual(
      [
        "node_bcachefs_info",
        "node_bcachefs_btree_cache_size_bytes",
        "node_bcachefs_device_info",
        "node_bcachefs_device_bucket_size_bytes",
        "node_bcachefs_device_buckets",
        "node_bcachefs_device_durability",
      ].sort(),
    );
  });

  it("names counter families with SanitizeMetricName and leaves out a counter whose name is taken", async () => {
    const counter = (n: number) => `since mount: ${n}\nsince filesystem creation: ${n}\n`;
    const tree = hostTree({
      "sys/fs/bcachefs/u-1/counters/a-b": counter(1),
      "sys/fs/bcachefs/u-1/counters/a_b": counter(2),
      "sys/fs/bcachefs/u-1/counters/errors": counter(3),
      "sys/fs/bcachefs/u-1/counters/sectors.alloc": counter(4),
      "sys/fs/bcachefs/u-1/counters/only_mount": "since mount: 1k\n",
      "sys/fs/bcachefs/u-1/counters/subdir/x": "",
      "sys/fs/bcachefs/u-2/counters/a-b": counter(5),
      "sys/fs/bcachefs/u-1/errors": "some_error 7 1700000000\n",
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_bcachefs_a_b_total")).toEqual(
      new Map([
        ["u-1", 1],
        ["u-2", 5],
      ]),
    );
    expect(out.families.get("node_bcachefs_a_b_total")?.desc.help).toBe("Bcachefs counter a-b since filesystem creation.");
    expect(valuesOf(out, "node_bcachefs_sectors_alloc_total")).toEqual(new Map([["u-1", 4]]));
    expect(valuesOf(out, "node_bcachefs_only_mount_total")).toEqual(new Map([["u-1", 0]]));
    expect(valuesOf(out, "node_bcachefs_errors_total")).toEqual(new Map([["u-1,some_error", 7]]));
    expect(out.families.has("node_bcachefs_subdir_total")).toBe(false);
  });

  it("fails, emitting nothing, on a malformed file", async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ "sys/fs/bcachefs/u-1/btree_cache_size": "lots\n" }, /btree_cache_size: strconv.ParseFloat/],
      [{ "sys/fs/bcachefs/u-1/errors": "e 1 soon\n" }, /errors: strconv.ParseUint: parsing "soon"/],
      [{ "sys/fs/bcachefs/u-1/counters/c": "12\n" }, /counters\/c: counter file format not recognized/],
      [{ "sys/fs/bcachefs/u-1/dev-0/nbuckets": "\n" }, /nbuckets: strconv.ParseUint/],
      [{ "sys/fs/bcachefs/u-1/dev-0/bucket_size": "-1M\n" }, /bucket_size: .* uint64 range/],
      [{ "sys/fs/bcachefs/u-1/dev-0/io_done": "write:\nuser: -1\n" }, /io_done: strconv.ParseUint/],
    ];
    for (const [files, message] of cases) {
      await expect(scrapeTree(collector, hostTree({ "sys/fs/bcachefs/u-0/btree_cache_size": "1k\n", ...files }))).rejects.toThrow(message);
    }
  });
});

describe("bcachefs parsers", () => {
  it("parses human-readable sizes as procfs does", () => {
    expect(parseHumanReadableBytes("2.05G")).toBe(2201170739);
    expect(parseHumanReadableBytes(" 28.2k\n")).toBe(28876);
    expect(parseHumanReadableBytes("720")).toBe(720);
    expect(parseHumanReadableBytes("10.8T")).toBe(11874725579980);
    expect(parseHumanReadableBytes("1e")).toBe(2 ** 60); // procfs's E suffix wins over an exponent
    expect(parseHumanReadableBytes("1e3")).toBe(1000);
    expect(parseHumanReadableBytes("5 m")).toBe(5 * 2 ** 20);
    for (const bad of ["", " ", "k", "1.2.3", "-5", "inf", "NaN", "16E", "1Y"])
      expect(() => parseHumanReadableBytes(bad), bad).toThrow(CollectorError);
  });

  it("parses the filesystem files", () => {
    expect(parseCompressionStats(COMPRESSION).get("lz4")).toEqual({ compressedBytes: 52505975193, uncompressedBytes: 76450417868 });
    expect(parseCompressionStats("lz4 1 2\nzstd: 3 4 5\nshort 1\n")).toEqual(
      new Map([["zstd", { compressedBytes: 3, uncompressedBytes: 4 }]]),
    );
    expect(() => parseCompressionStats("h\nzstd 1 2 x\n")).toThrow(CollectorError);
    const errors = parseErrors(ERRORS);
    expect(errors.size).toBe(18);
    expect(errors.get("extent_io_opts_not_set")).toBe(Number(11299659571772285102n)); // count and timestamp run together: one uint64
    expect(parseErrors("a 1\na 2\nlonely\n")).toEqual(new Map([["a", 2]]));
    expect(parseCounterFile(COUNTER)).toEqual({ sinceMount: 10566234, sinceFilesystemCreation: 70225874 });
    expect(parseBtreeWriteStats(BTREE_WRITES).get("interior")).toEqual({ count: 3035363, sizeBytes: 1290 });
    expect(() => parseBtreeWriteStats("h\ninitial: 1.5 100k\n")).toThrow(CollectorError);
  });

  it("parses the device files", () => {
    const done = parseDeviceIODone(IO_DONE);
    expect([...done.keys()]).toEqual(["read", "write"]);
    expect(done.get("read")?.get("user")).toBe(3770452246528);
    expect(done.get("write")?.size).toBe(10);
    expect(parseDeviceIODone("user: 5\nread:\nno colon\n  btree : 7 \n")).toEqual(new Map([["read", new Map([["btree", 7]])]]));
    expect(parseDeviceIOErrors(IO_ERRORS)).toEqual(
      new Map([
        ["read", 197416],
        ["write", 205],
        ["checksum", 0],
      ]),
    );
    expect(parseDeviceIOErrors("IO errors since 8 y ago\nIO errors since filesystem creation\n  read: 1\n")).toEqual(new Map());
    expect(() => parseDeviceIOErrors("IO errors since filesystem creation\n read: x\n")).toThrow(CollectorError);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseHumanReadableBytes(text), "2.05G\n");
    checkParserOnBadInput((text) => parseCompressionStats(text), COMPRESSION);
    checkParserOnBadInput((text) => parseErrors(text), ERRORS);
    checkParserOnBadInput((text) => parseCounterFile(text), COUNTER);
    checkParserOnBadInput((text) => parseBtreeWriteStats(text), BTREE_WRITES);
    checkParserOnBadInput((text) => parseDeviceIODone(text), IO_DONE);
    checkParserOnBadInput((text) => parseDeviceIOErrors(text), IO_ERRORS);
  });
});
