import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseLnstat } from "../../../agent/metrics/collectors/lnstat.js";
import { parseHexUint64 } from "../../../agent/metrics/parsers/numbers.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_lnstat_"));
const SEED = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/stat/nf_conntrack"), "utf8");

describe("lnstat collector", () => {
  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
  });

  it("matches node_exporter's output for the fixture host (arp_cache, ndisc_cache, nf_conntrack)", async () => {
    expect(FAMILIES).toHaveLength(29);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("emits nothing without /proc/net/stat, or with it empty", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const empty = hostTree({});
    fs.mkdirSync(empty.proc("net/stat"), { recursive: true });
    expect((await scrapeTree(collector, empty)).families.size).toBe(0);
  });

  it("labels each counter with its file and CPU line, skipping blank lines and directories", async () => {
    const tree = hostTree({
      "proc/net/stat/rt_cache": "entries  in_hit\n0000000a 0000000B\n\n00000001 ffffffffffffffff\n",
      "proc/net/stat/sub/ignored": "x\n1\n",
      "proc/net/stat/empty": "",
    });
    const out = await scrapeTree(collector, tree);
    expect([...out.families.keys()]).toEqual(["node_lnstat_entries_total", "node_lnstat_in_hit_total"]);
    expect(valuesOf(out, "node_lnstat_entries_total")).toEqual(
      new Map([
        ["rt_cache,0", 10],
        ["rt_cache,1", 1],
      ]),
    );
    expect(valuesOf(out, "node_lnstat_in_hit_total")).toEqual(
      new Map([
        ["rt_cache,0", 11],
        ["rt_cache,1", 2 ** 64],
      ]),
    );
    expect(out.families.get("node_lnstat_in_hit_total")?.desc).toMatchObject({ type: "counter", help: "linux network cache stats" });
  });

  it("fails, emitting nothing, on a malformed counter or a line that does not fit the header", async () => {
    const scrape = (text: string) => scrapeTree(collector, hostTree({ "proc/net/stat/arp_cache": text }));
    await expect(scrape("entries allocs\n00000001 0x000002\n")).rejects.toThrow(
      /arp_cache: line 2: allocs value "0x000002" is not a hexadecimal uint64/,
    );
    await expect(scrape("entries allocs\n00000001 00000002 00000003\n")).rejects.toThrow(/line 2: 3 counters for 2 columns/);
    await expect(scrape("entries allocs\n00000001\n")).rejects.toThrow(/line 2: 1 counters for 2 columns/);
    await expect(scrape("entries entries\n1 2\n")).rejects.toThrow(/column "entries" appears twice/);
    await expect(scrape("entries bad-name\n1 2\n")).rejects.toThrow(/column name "bad-name" cannot be part of a metric name/);
  });
});

describe("lnstat parsers", () => {
  it("parses counters as strconv.ParseUint(s, 16, 64)", () => {
    expect(parseHexUint64("0000588a")).toBe(22666);
    expect(parseHexUint64("000000000000000000000001")).toBe(1);
    expect(parseHexUint64("ffffffffffffffff")).toBe(2 ** 64);
    expect(parseHexUint64("10000000000000000")).toBeNaN();
    for (const bad of ["", "+1", "-1", "0x1", "1_0", "g"]) expect(parseHexUint64(bad)).toBeNaN();
  });

  it("reads the header and one row per CPU", () => {
    const stats = parseLnstat(SEED);
    expect(stats.columns).toHaveLength(17);
    expect(stats.rows).toHaveLength(4);
    expect(stats.rows.map((row) => row[stats.columns.indexOf("ignore")])).toEqual([22666, 22180, 22740, 22152]);
    expect(parseLnstat("")).toEqual({ columns: [], rows: [] });
    expect(() => parseLnstat("a\nzz\n")).toThrow(CollectorError);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseLnstat, SEED);
  });
});
