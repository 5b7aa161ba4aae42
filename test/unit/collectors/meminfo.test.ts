import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { collector, parseMeminfo } from "../../../agent/metrics/collectors/meminfo.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, expectedFamilies, FIXTURE_ROOT, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();
const fixtureMeminfo = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/meminfo"), "utf8");
// node_memory_numa_* belong to the meminfo_numa collector, which nodetap does not have.
const MEMINFO_FAMILIES = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_memory_") && !n.startsWith("node_memory_numa_"));

describe("meminfo collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    expect(MEMINFO_FAMILIES).toHaveLength(42);
    expect(diffFamilies(toParsed(await collectOnce(collector)), MEMINFO_FAMILIES)).toEqual([]);
  });

  it("exports newer fields node_exporter knows (MemAvailable, Zswap) and leaves out those it does not", async () => {
    const paths = hostTree({
      "proc/meminfo": "MemTotal: 10 kB\nMemAvailable: 4 kB\nZswap: 1 kB\nKReclaimable: 5 kB\nSecPageTables: 0 kB\n",
    });
    const out = await scrapeTree(collector, paths);
    expect([...out.families.keys()].sort()).toEqual([
      "node_memory_MemAvailable_bytes",
      "node_memory_MemTotal_bytes",
      "node_memory_Zswap_bytes",
    ]);
    expect(valuesOf(out, "node_memory_MemAvailable_bytes").get("")).toBe(4096);
  });

  it("counts a malformed line and keeps the rest", async () => {
    const paths = hostTree({ "proc/meminfo": "MemTotal: 10 kB\nMemFree: lots kB\n" });
    const out = await scrapeTree(collector, paths);
    expect(valuesOf(out, "node_memory_MemTotal_bytes").get("")).toBe(10240);
    expect(out.families.has("node_memory_MemFree_bytes")).toBe(false);
    expect(valuesOf(out, "nodetap_collector_malformed_lines_total").get(`meminfo,${paths.proc("meminfo")}`)).toBe(1);
  });

  it("fails with a CollectorError naming the file when it is missing or empty", async () => {
    await expect(scrapeTree(collector, hostTree({}))).rejects.toThrow(/meminfo: file not found/);
    await expect(scrapeTree(collector, hostTree({ "proc/meminfo": "" }))).rejects.toThrow(/meminfo: no "Key: value" lines/);
  });
});

describe("parseMeminfo", () => {
  it("multiplies kB values by 1024 and keeps unit-less counts", () => {
    const { entries, problems } = parseMeminfo("Active(anon):    2020004 kB\nHugePages_Total:       3\n");
    expect(entries).toEqual([
      { key: "Active(anon)", value: 2020004 * 1024 },
      { key: "HugePages_Total", value: 3 },
    ]);
    expect(problems.count).toBe(0);
  });

  it("rejects other units, extra fields and keys without a colon, like procfs", () => {
    const { entries, problems } = parseMeminfo("A: 1 MB\nB: 1 kB x\nC 1 kB\nD: -1 kB\n");
    expect(entries).toEqual([]);
    expect(problems.count).toBe(4);
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput(parseMeminfo, fixtureMeminfo);
  });
});
