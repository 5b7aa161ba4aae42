import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseMeminfoNuma, parseNumastat } from "../../../agent/metrics/collectors/meminfo-numa.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_memory_numa_"));
const NODE0 = path.join(FIXTURE_ROOT, "sys/devices/system/node/node0");
const MEMINFO = fs.readFileSync(path.join(NODE0, "meminfo"), "utf8");
const NUMASTAT = fs.readFileSync(path.join(NODE0, "numastat"), "utf8");

describe("meminfo_numa collector", () => {
  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
    expect(collector.name).toBe("meminfo_numa");
  });

  it("matches node_exporter's output for the fixture host (3 nodes)", async () => {
    expect(FAMILIES).toHaveLength(35);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("emits nothing without NUMA nodes in sysfs", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    expect((await scrapeTree(collector, hostTree({ "sys/devices/system/node/possible": "0\n" }))).families.size).toBe(0);
  });

  it("labels meminfo series with the file's node and numastat series with the directory's", async () => {
    const tree = hostTree({
      "sys/devices/system/node/node10/meminfo": "Node 7 Active(file):  4 kB\nNode 7 HugePages_Total:     2\n",
      "sys/devices/system/node/node10/numastat": "numa_hit 5\n",
      "sys/devices/system/node/nodeX/meminfo": "not a node\n",
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_memory_numa_Active_file")).toEqual(new Map([["7", 4096]]));
    expect(valuesOf(out, "node_memory_numa_HugePages_Total")).toEqual(new Map([["7", 2]]));
    expect(valuesOf(out, "node_memory_numa_numa_hit_total")).toEqual(new Map([["10", 5]]));
    expect(out.families.get("node_memory_numa_numa_hit_total")?.desc.type).toBe("counter");
  });

  it("fails, emitting nothing, when a node lacks a file or has a malformed line", async () => {
    const noNumastat = hostTree({
      "sys/devices/system/node/node0/meminfo": MEMINFO,
      "sys/devices/system/node/node0/numastat": NUMASTAT,
      "sys/devices/system/node/node1/meminfo": MEMINFO,
    });
    await expect(scrapeTree(collector, noNumastat)).rejects.toThrow(/node1\/numastat: file not found/);
    const badUnit = hostTree({
      "sys/devices/system/node/node0/meminfo": "Node 0 MemTotal: 1 MB\n",
      "sys/devices/system/node/node0/numastat": NUMASTAT,
    });
    await expect(scrapeTree(collector, badUnit)).rejects.toThrow(/node0\/meminfo: invalid line in meminfo/);
    expect(() => parseMeminfoNuma("Node 0 MemTotal:\n")).toThrow(CollectorError);
    expect(() => parseMeminfoNuma("Node 0 MemTotal: lots kB\n")).toThrow(/invalid value in meminfo: "lots"/);
    expect(() => parseNumastat("numa_hit 1 2\n", "0")).toThrow(/did not return 2 fields/);
    expect(() => parseNumastat("numa_hit x\n", "0")).toThrow(/invalid value in numastat/);
  });

  it("parses meminfo lines as node_exporter does", () => {
    expect(parseMeminfoNuma("\n  Node 0 Inactive(anon)::  2 kB\n\nNode 0 Weird(a)(b): 1\n")).toEqual([
      { name: "Inactive_anon", node: "0", value: 2048 },
      { name: "Weird_a)(b", node: "0", value: 1 },
    ]);
    expect(parseNumastat(NUMASTAT, "3")[0]).toEqual({ name: "numa_hit_total", node: "3", value: 193460335812 });
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseMeminfoNuma, MEMINFO);
    checkParserOnBadInput((text) => parseNumastat(text, "0"), NUMASTAT);
  });
});
