import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector } from "../../../agent/metrics/collectors/stat.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { parseProcStat } from "../../../agent/metrics/parsers/proc-stat.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, e2eConfig, FIXTURE_ROOT, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { hostTree, useHostTrees } from "../../helpers/host-tree.js";

const STAT_FAMILIES = [
  "node_boot_time_seconds",
  "node_context_switches_total",
  "node_forks_total",
  "node_intr_total",
  "node_procs_blocked",
  "node_procs_running",
  "node_softirqs_total",
];

const fixtureStat = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/stat"), "utf8");

useHostTrees();

function scrapeStat(statText: string | undefined, flags: string[] = []): FamilyCollector {
  const paths = hostTree(statText === undefined ? {} : { "proc/stat": statText });
  const out = new FamilyCollector();
  collector.create({ paths, config: e2eConfig(flags).metrics, logger: silentLogger }).update(out, { signal: new AbortController().signal });
  return out;
}

describe("stat collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    const out = await collectOnce(collector);
    expect(diffFamilies(toParsed(out), STAT_FAMILIES)).toEqual([]);
  });

  it("reports softirqs only with --collector.stat.softirq", () => {
    expect(scrapeStat(fixtureStat, ["--collector.stat.softirq=false"]).families.has("node_softirqs_total")).toBe(false);
    expect(scrapeStat(fixtureStat).families.get("node_softirqs_total")?.samples).toHaveLength(10);
  });

  it("leaves out a malformed value instead of reporting 0, and counts the line", () => {
    const out = scrapeStat("ctxt 12\nbtime notanumber\nprocesses 3\n");
    expect(out.families.get("node_context_switches_total")?.samples[0].value).toBe(12);
    expect(out.families.has("node_boot_time_seconds")).toBe(false);
    expect(out.families.get("nodetap_collector_malformed_lines_total")?.samples[0].value).toBe(1);
  });

  it("fails with a CollectorError when /proc/stat is missing or holds none of its keys", () => {
    expect(() => scrapeStat(undefined)).toThrow(/stat: file not found/);
    expect(() => scrapeStat("cpu0 1 2 3\n")).toThrow(CollectorError);
  });
});

describe("parseProcStat", () => {
  it("parses the fixture like procfs", () => {
    const stat = parseProcStat(fixtureStat);
    expect(stat.bootTime).toBe(1418183276);
    expect(stat.interrupts).toBe(8885917);
    expect(stat.contextSwitches).toBe(38014093);
    expect(stat.forks).toBe(26442);
    expect(stat.procsRunning).toBe(2);
    expect(stat.procsBlocked).toBe(0);
    expect(stat.softirqTotal).toBe(5057579);
    expect(stat.softirqs).toEqual([250191, 1481983, 1647, 211099, 186066, 0, 1783454, 622196, 12499, 508444]);
    expect(stat.total?.user).toBe(3018.54);
    expect(stat.cpus.size).toBe(8);
    expect(stat.cpus.get(7)).toEqual({
      user: 290.98,
      nice: 2.68,
      system: 101.64,
      idle: 11392.82,
      iowait: 5.55,
      irq: 0,
      softirq: 0.31,
      steal: 0,
      guest: 0.09,
      guestNice: 0.08,
    });
    expect(stat.problems.count).toBe(0);
  });

  it("treats modes an old kernel does not print as 0 (procfs' Sscanf)", () => {
    const stat = parseProcStat("cpu3 10 20 30 40\n");
    expect(stat.cpus.get(3)).toMatchObject({ user: 0.1, idle: 0.4, iowait: 0, steal: 0, guestNice: 0 });
  });

  it("skips and reports malformed lines, keeping the others", () => {
    const stat = parseProcStat("cpu0 1 2 3\ncpuX 1 2 3\ncpu1 1 a 3\nsoftirq 10 1 2\nintr\nctxt 5\n");
    expect([...stat.cpus.keys()]).toEqual([0]);
    expect(stat.softirqs).toBeUndefined();
    expect(stat.interrupts).toBeUndefined();
    expect(stat.contextSwitches).toBe(5);
    expect(stat.problems.count).toBe(4);
    expect(stat.problems.first).toMatch(/^line 2: "cpuX 1 2 3": CPU number/);
  });

  it("ignores keys it does not know and blank lines", () => {
    const stat = parseProcStat("\n  \nnewkey 1 2\nbtime 7\r\n");
    expect(stat.bootTime).toBe(7);
    expect(stat.problems.count).toBe(0);
  });

  it("reads only the total of a very long intr line", () => {
    const stat = parseProcStat(`intr 42 ${"0 ".repeat(200_000)}\nctxt 1\n`);
    expect(stat.interrupts).toBe(42);
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput(parseProcStat, fixtureStat, 80);
  });
});
