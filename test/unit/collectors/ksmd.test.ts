import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { KSMD_FILES, collector, parseKsmdValue } from "../../../agent/metrics/collectors/ksmd.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_ksmd_"));

describe("ksmd collector", () => {
  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
  });

  it("matches node_exporter's output for the fixture host", async () => {
    expect(FAMILIES).toHaveLength(10);
    expect(fs.readdirSync(path.join(FIXTURE_ROOT, "sys/kernel/mm/ksm")).sort()).toEqual([...KSMD_FILES].sort());
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("emits nothing without /sys/kernel/mm/ksm and leaves out files an older kernel lacks", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const out = await scrapeTree(collector, hostTree({ "sys/kernel/mm/ksm/run": "0\n", "sys/kernel/mm/ksm/sleep_millisecs": "200\n" }));
    expect([...out.families.keys()]).toEqual(["node_ksmd_run", "node_ksmd_sleep_seconds"]);
    expect(valuesOf(out, "node_ksmd_sleep_seconds")).toEqual(new Map([["", 0.2]]));
  });

  it("reports a negative general_profit (node_exporter's uint64 read would fail the collector)", async () => {
    const out = await scrapeTree(collector, hostTree({ "sys/kernel/mm/ksm/general_profit": "-201384320\n" }));
    expect(valuesOf(out, "node_ksmd_general_profit_bytes")).toEqual(new Map([["", -201384320]]));
  });

  it("fails, emitting nothing, on a malformed value or an unreadable file", async () => {
    const bad = hostTree({ "sys/kernel/mm/ksm/full_scans": "3\n", "sys/kernel/mm/ksm/pages_shared": "-1\n" });
    await expect(scrapeTree(collector, bad)).rejects.toThrow(/ksm\/pages_shared: expected an unsigned integer, got "-1"/);
    const dir = hostTree({ "sys/kernel/mm/ksm/full_scans": "3\n" });
    fs.mkdirSync(path.join(dir.sysfs, "kernel/mm/ksm/run"));
    await expect(scrapeTree(collector, dir)).rejects.toThrow(CollectorError);
  });

  it("parses as strconv.ParseUint / ParseInt of the trimmed text, base 10", () => {
    expect(parseKsmdValue(" 323\n")).toBe(323);
    expect(parseKsmdValue("-5", true)).toBe(-5);
    expect(() => parseKsmdValue("-5")).toThrow(CollectorError);
    expect(() => parseKsmdValue("0x10")).toThrow(CollectorError);
    expect(() => parseKsmdValue("9223372036854775808", true)).toThrow(CollectorError);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseKsmdValue(text), "323\n");
    checkParserOnBadInput((text) => parseKsmdValue(text, true), "-1044480\n");
  });
});
