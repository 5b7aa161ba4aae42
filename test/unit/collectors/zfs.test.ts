import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { ZPOOL_STATES, collector } from "../../../agent/metrics/collectors/zfs.js";
import {
  parseGoInt64,
  parseGoUint64,
  parseZfsKstat,
  parseZpoolIo,
  parseZpoolObjset,
  parseZpoolState,
} from "../../../agent/metrics/collectors/zfs-parse.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const ZFS_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_zfs_"));
const FIXTURE_ZFS = path.join(FIXTURE_ROOT, "proc/spl/kstat/zfs");
const fixture = (file: string) => fs.readFileSync(path.join(FIXTURE_ZFS, file), "utf8");

const KSTAT_HEAD = "6 1 0x01 91 4368 5266997922 97951858082072\nname                            type data\n";
const kstat = (...rows: string[]) => KSTAT_HEAD + rows.map((r) => `${r}\n`).join("");
const IO_HEAD =
  "12 3 0x00 1 80 79205351707403 395818011156865\nnread    nwritten reads    writes   wtime    wlentime wupdate  rtime    rlentime rupdate  wcnt     rcnt\n";
const objset = (...rows: string[]) => `23 1 0x01 7 2160 221578688875 6665999035587\nname type data\n${rows.join("\n")}\n`;
const ZFS = "proc/spl/kstat/zfs";

/** Everything a parser callback receives, as arrays. */
function kstatRows(text: string): Array<[string, number]> {
  const rows: Array<[string, number]> = [];
  parseZfsKstat(text, "arcstats", (name, value) => rows.push([name, value]));
  return rows;
}
function ioRows(text: string): Array<[string, number]> {
  const rows: Array<[string, number]> = [];
  parseZpoolIo(text, "pool/io", (name, value) => rows.push([name, value]));
  return rows;
}
function objsetRows(text: string, pool = "pool"): Array<[string, number, string, string]> {
  const rows: Array<[string, number, string, string]> = [];
  parseZpoolObjset(text, "pool/objset-1", pool, (...row) => rows.push(row));
  return rows;
}

describe("zfs collector", () => {
  it("matches node_exporter's output for the fixture host (11 kstat files, pools with io, objsets and states)", async () => {
    expect(ZFS_FAMILIES).toHaveLength(278);
    const out = await collectOnce(collector);
    expect([...out.families.keys()].sort()).toEqual([...ZFS_FAMILIES].sort());
    expect(diffFamilies(toParsed(out), ZFS_FAMILIES)).toEqual([]);
  });

  it("is on by default, as in node_exporter on Linux, and --no-collector.zfs turns it off", () => {
    expect(collector.defaultEnabled).toBe(true);
    expect(e2eConfig().metrics.collectors.zfs.enabled).toBe(true);
    expect(e2eConfig(["--no-collector.zfs"]).metrics.collectors.zfs.enabled).toBe(false);
  });

  it("emits nothing, without failing, when ZFS is not loaded or has no kstats", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    expect((await scrapeTree(collector, hostTree({ "proc/spl/kstat/other": "" }))).families.size).toBe(0);
    const empty = hostTree({});
    fs.mkdirSync(path.join(empty.procfs, "spl/kstat/zfs"), { recursive: true });
    expect((await scrapeTree(collector, empty)).families.size).toBe(0);
    // A file where the directory should be: node_exporter opens it, then finds nothing under it.
    expect((await scrapeTree(collector, hostTree({ [ZFS]: "" }))).families.size).toBe(0);
  });

  it("skips kstat files that are missing or cannot be opened, and reads the others", async () => {
    const tree = hostTree({ [`${ZFS}/zil`]: kstat("zil_commit_count 4 7") });
    fs.symlinkSync("arcstats", path.join(tree.procfs, "spl/kstat/zfs/arcstats")); // ELOOP on open
    const out = await scrapeTree(collector, tree);
    expect([...out.families.keys()]).toEqual(["node_zfs_zil_zil_commit_count"]);
    expect(out.families.get("node_zfs_zil_zil_commit_count")?.desc).toMatchObject({
      type: "untyped",
      help: "kstat.zfs.misc.zil.zil_commit_count",
    });
  });

  it("names metrics after the last dot-separated part of the kstat name with '-' as '_', and leaves out names no metric can have", async () => {
    const tree = hostTree({
      [`${ZFS}/fm`]: kstat("erpt-dropped 4 18", "a.b.c 4 2", "bad/name 4 3", "ok 4 4"),
    });
    const out = await scrapeTree(collector, tree);
    expect([...out.families.keys()]).toEqual(["node_zfs_fm_erpt_dropped", "node_zfs_fm_c", "node_zfs_fm_ok"]);
    expect(out.families.get("node_zfs_fm_c")?.desc.help).toBe("kstat.zfs.misc.fm.a.b.c");
    expect(out.families.get("node_zfs_fm_erpt_dropped")?.desc.help).toBe("kstat.zfs.misc.fm.erpt-dropped");
  });

  it("fails, naming the file, on a kstat file without header or with a malformed number", async () => {
    await expect(scrapeTree(collector, hostTree({ [`${ZFS}/arcstats`]: "hits 4 1\n" }))).rejects.toThrow(
      /arcstats: no "name type data" header/,
    );
    await expect(scrapeTree(collector, hostTree({ [`${ZFS}/arcstats`]: kstat("hits 4 -1") }))).rejects.toThrow(
      /arcstats: line 3: hits: expected an integer, got "-1"/,
    );
    // A directory opens but cannot be read (EISDIR): node_exporter fails on it too.
    const dir = hostTree({});
    fs.mkdirSync(path.join(dir.procfs, "spl/kstat/zfs/zil"), { recursive: true });
    await expect(scrapeTree(collector, dir)).rejects.toThrow(/zil: EISDIR/);
  });

  it("keeps what it emitted before a failing file, as node_exporter does", async () => {
    const tree = hostTree({ [`${ZFS}/abdstats`]: kstat("struct_size 4 2"), [`${ZFS}/pool1/io`]: `${IO_HEAD}1 2 3\n` });
    const out = new FamilyCollector();
    const instance = collector.create({ paths: tree, config: e2eConfig().metrics, logger: silentLogger });
    await expect(instance.update(out, { signal: new AbortController().signal })).rejects.toThrow(
      /pool1\/io: line 3: 3 values for 12 columns/,
    );
    expect(valuesOf(out, "node_zfs_abd_struct_size")).toEqual(new Map([["", 2]]));
  });

  it("reads pool io rows, objsets and states of every pool directory, in name order", async () => {
    const tree = hostTree({
      [`${ZFS}/tank/io`]: `${IO_HEAD}1 2 3 4 5 6 7 8 9 10 11 12 13\n`,
      [`${ZFS}/tank/objset-0x36`]: objset("dataset_name 7 tank/home  ", "writes 4 5", "negative 3 -1"),
      [`${ZFS}/tank/state`]: "Degraded\r\n",
      [`${ZFS}/tank/txgs`]: "not read\n",
      [`${ZFS}/.hidden/state`]: "UNKNOWN\n",
      [`${ZFS}/empty/state`]: "",
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_zfs_zpool_nread")).toEqual(new Map([["tank", 1]]));
    expect(valuesOf(out, "node_zfs_zpool_rcnt")).toEqual(new Map([["tank", 12]]));
    expect(out.families.get("node_zfs_zpool_rcnt")?.desc).toMatchObject({ help: "kstat.zfs.misc.io.rcnt", labelNames: ["zpool"] });
    // The dataset is the rest of the line, trailing spaces included; int64 kstats are not read here.
    expect(valuesOf(out, "node_zfs_zpool_dataset_writes")).toEqual(new Map([["tank,tank/home  ", 5]]));
    expect(out.families.has("node_zfs_zpool_dataset_negative")).toBe(false);
    const states = out.families.get("node_zfs_zpool_state");
    expect(states?.desc).toMatchObject({ type: "gauge", help: "kstat.zfs.misc.state", labelNames: ["zpool", "state"] });
    expect(states?.samples.map((s) => [...s.labelValues, s.value].join(","))).toEqual([
      ...ZPOOL_STATES.map((s) => `.hidden,${s},0`),
      ...ZPOOL_STATES.map((s) => `empty,${s},0`),
      ...ZPOOL_STATES.map((s) => `tank,${s},${s === "degraded" ? 1 : 0}`),
    ]);
  });

  it("reads every objset of a pool with a thousand datasets, yielding to the event loop, and stops when the scrape is aborted", async () => {
    const files: Record<string, string> = { [`${ZFS}/tank/state`]: "ONLINE\n" };
    for (let i = 0; i < 1000; i++) files[`${ZFS}/tank/objset-0x${i.toString(16)}`] = objset(`dataset_name 7 tank/ds${i}`, `writes 4 ${i}`);
    const tree = hostTree(files);

    // A check-phase callback queued before the scrape runs during it only if the scrape yields.
    let yielded = false;
    setImmediate(() => (yielded = true));
    const out = await scrapeTree(collector, tree);
    expect(yielded).toBe(true);
    const writes = valuesOf(out, "node_zfs_zpool_dataset_writes");
    expect(writes.size).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(writes.get(`tank,tank/ds${i}`)).toBe(i);
    // Series in file-name order, as without the yields.
    const names = Object.keys(files)
      .filter((f) => f.includes("objset-"))
      .map((f) => path.basename(f))
      .sort();
    const order = names.map((n) => `tank,tank/ds${parseInt(n.slice("objset-0x".length), 16)}`);
    expect(out.families.get("node_zfs_zpool_dataset_writes")?.samples.map((s) => s.labelValues.join(","))).toEqual(order);
    expect(valuesOf(out, "node_zfs_zpool_state").get("tank,online")).toBe(1);

    const aborted = new AbortController();
    aborted.abort();
    const partial = new FamilyCollector();
    const instance = collector.create({ paths: tree, config: e2eConfig().metrics, logger: silentLogger });
    const run = instance.update(partial, { signal: aborted.signal });
    await expect(run).rejects.toThrow(CollectorError);
    await expect(run).rejects.toThrow(/stopped reading pool objsets: collector time limit reached/);
    // It stopped at the first yield: the first slice of objsets was emitted, no state.
    expect(valuesOf(partial, "node_zfs_zpool_dataset_writes").size).toBe(200);
    expect(partial.families.has("node_zfs_zpool_state")).toBe(false);
  });

  it("follows a pool directory link and fails when a listed pool file cannot be read", async () => {
    const tree = hostTree({ "proc/elsewhere/state": "ONLINE\n" });
    fs.mkdirSync(path.join(tree.procfs, "spl/kstat/zfs"), { recursive: true });
    fs.symlinkSync("../../../elsewhere", path.join(tree.procfs, "spl/kstat/zfs/linked"));
    expect(valuesOf(await scrapeTree(collector, tree), "node_zfs_zpool_state").get("linked,online")).toBe(1);

    const looped = hostTree({ [`${ZFS}/tank/state`]: "ONLINE\n" });
    fs.symlinkSync("io", path.join(looped.procfs, "spl/kstat/zfs/tank/io"));
    await expect(scrapeTree(collector, looped)).rejects.toThrow(/tank\/io: ELOOP/);
  });
});

describe("zfs parsers", () => {
  it("reads uint64 (type 4) and int64 (type 3) kstats after the header and skips the other types and short lines", () => {
    const rows = kstatRows(
      kstat(
        "hits 4 18446744073709551615",
        "arc_no_grow 3 -9223372036854775808",
        "plus 3 +5",
        "zero 3 -0",
        "name 7 text",
        "short 4",
        "n 2 12",
      ),
    );
    expect(rows).toEqual([
      ["hits", 2 ** 64],
      ["arc_no_grow", -9223372036854775808],
      ["plus", 5],
      ["zero", 0],
    ]);
    expect(Object.is(rows[3][1], 0)).toBe(true);
    // Lines before the header, even "name type data"-like ones with more fields, are skipped.
    expect(kstatRows("hits 4 1\nname type data extra\nname type data\nmisses 4 2\n")).toEqual([["misses", 2]]);
    expect(kstatRows("name type data\r\nhits 4 3\r\n")).toEqual([["hits", 3]]);
  });

  it("fails on a number out of range or of the wrong sign for its type, and on a missing header", () => {
    expect(() => kstatRows(kstat("hits 4 18446744073709551616"))).toThrow(CollectorError);
    expect(() => kstatRows(kstat("hits 3 9223372036854775808"))).toThrow(CollectorError);
    expect(() => kstatRows(kstat("hits 4 +1"))).toThrow(CollectorError);
    expect(() => kstatRows(kstat("hits 4 0x10"))).toThrow(CollectorError);
    expect(() => kstatRows("")).toThrow(/arcstats: no "name type data" header/);
    expect(() => kstatRows(`name type data\n${"x".repeat(70_000)} 4 1\n`)).toThrow(/arcstats: line 2: bufio.Scanner: token too long/);
  });

  it("parses decimal integers exactly as strconv does", () => {
    expect(parseGoUint64("000000000000000000000000012")).toBe(12);
    expect(parseGoUint64("18446744073709551615")).toBe(2 ** 64);
    expect(parseGoUint64("1_000")).toBeNaN();
    expect(parseGoUint64("")).toBeNaN();
    expect(parseGoInt64("-9223372036854775809")).toBeNaN();
    expect(parseGoInt64("-")).toBeNaN();
    expect(parseGoInt64("+9223372036854775807")).toBe(2 ** 63);
  });

  it("reads pool io columns: nothing without the header line, a CollectorError for a short row", () => {
    expect(ioRows(fixture("poolz1/io")).slice(0, 2)).toEqual([
      ["nread", 2826240],
      ["nwritten", 2680501248],
    ]);
    expect(ioRows("nread nwritten\n1 2\n")).toEqual([]);
    expect(() => ioRows(`${IO_HEAD}\n`)).toThrow(/pool\/io: line 3: 0 values for 12 columns/);
    expect(() => ioRows(`${IO_HEAD}1 2 3 4 5 6 7 8 9 10 11 x\n`)).toThrow(/rcnt: expected an integer, got "x"/);
  });

  it("labels objset kstats with the dataset_name line, as node_exporter cuts it", () => {
    expect(objsetRows(fixture("pool3/objset-2"), "pool3")[0]).toEqual(["writes", 4, "pool3", "pool3/dataset with  space"]);
    // Before the dataset_name line the labels are empty; the name starts at the first occurrence
    // of its third field in the line (strings.Index), which may be the type column.
    expect(objsetRows(objset("writes 4 1", "dataset_name 7 7", "reads 4 2"), "p")).toEqual([
      ["writes", 1, "", ""],
      ["reads", 2, "p", "7 7"],
    ]);
    expect(() => objsetRows("dataset_name 7 x\nwrites 4 1\n")).toThrow(/pool\/objset-1: no "name type data" header/);
    expect(() => objsetRows(objset("writes 4 1.5"))).toThrow(/writes: expected an integer, got "1.5"/);
  });

  it("reads a pool state as its first line, lower-cased as Go's strings.ToLower does", () => {
    expect(parseZpoolState("ONLINE\nextra\n", "state")).toBe("online");
    expect(parseZpoolState("SUSPENDED\r\n", "state")).toBe("suspended");
    expect(parseZpoolState("ONLİNE", "state")).toBe("online");
    expect(parseZpoolState("", "state")).toBe("");
    expect(() => parseZpoolState("X".repeat(70_000), "pool/state")).toThrow(/pool\/state: line 1: bufio.Scanner: token too long/);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => kstatRows(text), fixture("arcstats"));
    checkParserOnBadInput((text) => ioRows(text), fixture("pool1/io"));
    checkParserOnBadInput((text) => objsetRows(text), fixture("pool1/objset-2"));
    checkParserOnBadInput((text) => parseZpoolState(text, "state"), fixture("pool1/state"));
  });
});
