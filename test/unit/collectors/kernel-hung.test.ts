import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseHungTaskCount } from "../../../agent/metrics/collectors/kernel-hung.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_kernel_hung_"));

describe("kernel_hung collector", () => {
  it("is on by default, as in node_exporter 1.11 and later", () => {
    expect(collector.defaultEnabled).toBe(true);
    expect(collector.name).toBe("kernel_hung");
  });

  it("matches node_exporter's output for the fixture host", async () => {
    expect(FAMILIES).toEqual(["node_kernel_hung_tasks_total"]);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("emits nothing when the kernel has no hung task detector (file missing)", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
  });

  it("reads the count with surrounding whitespace and fails on a malformed or unreadable file", async () => {
    const out = await scrapeTree(collector, hostTree({ "proc/sys/kernel/hung_task_detect_count": " 18446744073709551615\n" }));
    expect(valuesOf(out, "node_kernel_hung_tasks_total")).toEqual(new Map([["", 2 ** 64]]));
    await expect(scrapeTree(collector, hostTree({ "proc/sys/kernel/hung_task_detect_count": "-1\n" }))).rejects.toThrow(
      /hung_task_detect_count: expected an unsigned integer, got "-1"/,
    );
    const dir = hostTree({});
    fs.mkdirSync(path.join(dir.procfs, "sys/kernel/hung_task_detect_count"), { recursive: true });
    await expect(scrapeTree(collector, dir)).rejects.toThrow(CollectorError);
  });

  it("parses as strconv.ParseUint(strings.TrimSpace(s), 10, 64)", () => {
    expect(parseHungTaskCount("42\n")).toBe(42);
    expect(() => parseHungTaskCount("0x10")).toThrow(CollectorError);
    expect(() => parseHungTaskCount("1_000")).toThrow(CollectorError);
    expect(() => parseHungTaskCount("18446744073709551616")).toThrow(CollectorError);
    expect(() => parseHungTaskCount("")).toThrow(CollectorError);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseHungTaskCount, "42\n");
  });
});
