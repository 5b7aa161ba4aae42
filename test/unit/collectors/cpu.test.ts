import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { HostPaths } from "../../../agent/host/paths.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, cpuDirectories } from "../../../agent/metrics/collectors/cpu.js";
import { CpuTimesGuard, JUMP_BACK_SECONDS } from "../../../agent/metrics/collectors/cpu-times-guard.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { parseCpuList } from "../../../agent/metrics/parsers/cpu-list.js";
import { parseCpuInfo } from "../../../agent/metrics/parsers/cpuinfo.js";
import { zeroCpuTimes, type CpuTimes } from "../../../agent/metrics/parsers/proc-stat.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, e2eConfig, FIXTURE_ROOT, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { hostTree, useHostTrees } from "../../helpers/host-tree.js";

const CPU_FAMILIES = [
  "node_cpu_seconds_total",
  "node_cpu_guest_seconds_total",
  "node_cpu_info",
  "node_cpu_frequency_hertz",
  "node_cpu_flag_info",
  "node_cpu_bug_info",
  "node_cpu_core_throttles_total",
  "node_cpu_package_throttles_total",
  "node_cpu_isolated",
];

const fixtureCpuinfo = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/cpuinfo"), "utf8");

useHostTrees();
const tree = hostTree;

function create(paths: HostPaths, flags: string[] = []) {
  return collector.create({ paths, config: e2eConfig(flags).metrics, logger: silentLogger });
}

function scrape(instance: ReturnType<typeof create>): FamilyCollector {
  const out = new FamilyCollector();
  instance.update(out, { signal: new AbortController().signal });
  return out;
}

function samples(out: FamilyCollector, name: string): Map<string, number> {
  const fam = out.families.get(name);
  return new Map(fam?.samples.map((s) => [s.labelValues.join(","), s.value]) ?? []);
}

describe("cpu collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    const out = await collectOnce(collector);
    expect(diffFamilies(toParsed(out), CPU_FAMILIES)).toEqual([]);
  });

  it("leaves out the info families without --collector.cpu.info and guest times with --no-collector.cpu.guest", async () => {
    const config = e2eConfig([
      "--collector.cpu.info=false",
      "--collector.cpu.info.flags-include=",
      "--collector.cpu.info.bugs-include=",
      "--no-collector.cpu.guest",
    ]);
    const names = [...(await collectOnce(collector, config)).families.keys()].sort();
    expect(names).toEqual([
      "node_cpu_core_throttles_total",
      "node_cpu_isolated",
      "node_cpu_package_throttles_total",
      "node_cpu_seconds_total",
    ]);
  });

  it("turns the info metrics on when only a flags include filter is set, as node_exporter does", async () => {
    const config = e2eConfig([
      "--collector.cpu.info=false",
      "--collector.cpu.info.flags-include=^avx2$",
      "--collector.cpu.info.bugs-include=",
    ]);
    const out = await collectOnce(collector, config);
    expect([...samples(out, "node_cpu_flag_info").keys()]).toEqual(["avx2"]);
    expect(out.families.has("node_cpu_bug_info")).toBe(false);
    expect(out.families.get("node_cpu_info")?.samples).toHaveLength(8);
  });

  it("reports node_cpu_online when the first CPU has an online file, 0 for offline or unreadable ones", () => {
    const paths = tree({
      "proc/stat": "cpu 1 1 1 1\ncpu0 1 1 1 1\ncpu1 1 1 1 1\n",
      "sys/devices/system/cpu/cpu0/online": "1\n",
      "sys/devices/system/cpu/cpu1/online": "0\n",
      "sys/devices/system/cpu/cpu2/topology/core_id": "0\n",
      "sys/devices/system/cpu/cpufreq/boost": "1\n",
    });
    const out = scrape(
      create(paths, ["--collector.cpu.info=false", "--collector.cpu.info.flags-include=", "--collector.cpu.info.bugs-include="]),
    );
    expect(samples(out, "node_cpu_online")).toEqual(
      new Map([
        ["0", 1],
        ["1", 0],
        ["2", 0],
      ]),
    );
    expect(out.families.has("node_cpu_isolated")).toBe(false);
  });

  it("reads each package's throttle count once and skips CPUs without topology", () => {
    const paths = tree({
      "proc/stat": "cpu0 1 1 1 1\n",
      "sys/devices/system/cpu/cpu0/topology/physical_package_id": "0\n",
      "sys/devices/system/cpu/cpu0/topology/core_id": "0\n",
      "sys/devices/system/cpu/cpu0/thermal_throttle/core_throttle_count": "7\n",
      "sys/devices/system/cpu/cpu0/thermal_throttle/package_throttle_count": "11\n",
      "sys/devices/system/cpu/cpu1/topology/physical_package_id": "0\n",
      "sys/devices/system/cpu/cpu1/topology/core_id": "0\n",
      "sys/devices/system/cpu/cpu1/thermal_throttle/core_throttle_count": "99\n",
      "sys/devices/system/cpu/cpu1/thermal_throttle/package_throttle_count": "99\n",
      "sys/devices/system/cpu/cpu2/thermal_throttle/core_throttle_count": "5\n",
    });
    const out = scrape(
      create(paths, ["--collector.cpu.info=false", "--collector.cpu.info.flags-include=", "--collector.cpu.info.bugs-include="]),
    );
    expect(samples(out, "node_cpu_core_throttles_total")).toEqual(new Map([["0,0", 7]]));
    expect(samples(out, "node_cpu_package_throttles_total")).toEqual(new Map([["0", 11]]));
  });

  it("keeps counters monotonic across scrapes and resets a CPU whose idle time jumped back (hotplug)", () => {
    const files: Record<string, string> = { "proc/stat": "cpu0 100 0 100 100000 0 0 0 0 0 0\ncpu1 100 0 100 100000 0 0 0 0 0 0\n" };
    const paths = tree(files);
    const instance = create(paths, [
      "--collector.cpu.info=false",
      "--collector.cpu.info.flags-include=",
      "--collector.cpu.info.bugs-include=",
    ]);
    scrape(instance);
    // cpu0: user steps back by 1 tick (held); cpu1: idle falls by 500 s (reset to the new values).
    fs.writeFileSync(path.join(paths.procfs, "stat"), "cpu0 99 0 101 100001 0 0 0 0 0 0\ncpu1 100 0 100 50000 0 0 0 0 0 0\n");
    const second = samples(scrape(instance), "node_cpu_seconds_total");
    expect(second.get("0,user")).toBe(1);
    expect(second.get("0,system")).toBe(1.01);
    expect(second.get("1,idle")).toBe(500);
    // A CPU that went offline disappears.
    fs.writeFileSync(path.join(paths.procfs, "stat"), "cpu0 99 0 101 100001 0 0 0 0 0 0\n");
    expect([...samples(scrape(instance), "node_cpu_seconds_total").keys()].filter((k) => k.startsWith("1,"))).toEqual([]);
  });

  it("fails with a CollectorError naming /proc/stat when it is missing or has no per-CPU lines", () => {
    expect(() => scrape(create(tree({ "sys/devices/system/cpu/online": "0\n" })))).toThrow(/proc\/stat: file not found/);
    expect(() => scrape(create(tree({ "proc/stat": "intr 5\n" })))).toThrow(CollectorError);
  });

  it("still reports CPU times when /proc/cpuinfo is unusable, then reports the failure", () => {
    const paths = tree({ "proc/stat": "cpu0 1 2 3 4\n", "proc/cpuinfo": "garbage\n" });
    const instance = create(paths);
    const out = new FamilyCollector();
    expect(() => instance.update(out, { signal: new AbortController().signal })).toThrow(/cpuinfo: not a cpuinfo file/);
    expect(samples(out, "node_cpu_seconds_total").get("0,idle")).toBe(0.04);
  });

  it("counts malformed /proc/stat lines and keeps the rest", () => {
    const paths = tree({ "proc/stat": "cpu0 1 2 3 4\ncpu1 x 2 3 4\n" });
    const out = scrape(
      create(paths, ["--collector.cpu.info=false", "--collector.cpu.info.flags-include=", "--collector.cpu.info.bugs-include="]),
    );
    expect(samples(out, "node_cpu_seconds_total").get("0,user")).toBe(0.01);
    expect(samples(out, "nodetap_collector_malformed_lines_total").get(`cpu,${paths.proc("stat")}`)).toBe(1);
  });

  it("selects sysfs CPU directories like the glob cpu[0-9]*", () => {
    expect(cpuDirectories(["cpu", "cpu0", "cpu12", "cpufreq", "cpuidle", "isolated", "cpu1"])).toEqual(["cpu0", "cpu12", "cpu1"]);
  });
});

describe("CpuTimesGuard", () => {
  const times = (overrides: Partial<CpuTimes>): CpuTimes => ({ ...zeroCpuTimes(), ...overrides });

  it("holds a counter that went down and resets on an idle drop of at least 3 seconds", () => {
    const guard = new CpuTimesGuard();
    guard.update(new Map([[0, times({ idle: 100, iowait: 5 })]]));
    expect(guard.update(new Map([[0, times({ idle: 101, iowait: 4.9 })]])).get(0)).toMatchObject({ idle: 101, iowait: 5 });
    expect(guard.update(new Map([[0, times({ idle: 101 - (JUMP_BACK_SECONDS - 0.01), iowait: 1 })]])).get(0)).toMatchObject({
      idle: 101,
      iowait: 5,
    });
    expect(guard.update(new Map([[0, times({ idle: 101 - JUMP_BACK_SECONDS, iowait: 1 })]])).get(0)).toMatchObject({ idle: 98, iowait: 1 });
  });
});

describe("parseCpuInfo", () => {
  it("reads the x86 fields of every processor block", () => {
    const { cpus, problems } = parseCpuInfo(fixtureCpuinfo, "x64");
    expect(cpus).toHaveLength(8);
    expect(cpus[4]).toMatchObject({ processor: 4, coreId: "0", physicalId: "0", cpuMHz: 799.989, microcode: "0xb4", cacheSize: "8192 KB" });
    expect(cpus[0].bugs).toEqual(["cpu_meltdown", "spectre_v1", "spectre_v2", "spec_store_bypass", "l1tf", "mds", "swapgs"]);
    expect(problems.count).toBe(0);
  });

  it("applies the ARM Features line to every CPU and the old shared Processor name", () => {
    const arm =
      "Processor\t: ARMv7 Processor rev 5 (v7l)\nprocessor\t: 0\nBogoMIPS\t: 38.40\n\nprocessor\t: 1\nBogoMIPS\t: 38.40\n\nFeatures\t: half thumb fastmult vfp edsp neon\n";
    const { cpus } = parseCpuInfo(arm, "arm");
    expect(cpus.map((c) => [c.processor, c.modelName, c.flags.length])).toEqual([
      [0, "ARMv7 Processor rev 5 (v7l)", 6],
      [1, "ARMv7 Processor rev 5 (v7l)", 6],
    ]);
  });

  it("reports a bad cpu MHz and drops a block with a bad processor number", () => {
    const { cpus, problems } = parseCpuInfo("processor\t: 0\ncpu MHz\t\t: fast\n\nprocessor\t: x\nmodel\t\t: 1\n", "x64");
    expect(cpus).toHaveLength(1);
    expect(cpus[0].cpuMHz).toBeNaN();
    expect(problems.count).toBe(2);
    expect(problems.first).toMatch(/line 2: .*cpu MHz is not a number/);
  });

  it("throws CollectorError for a file that does not start with a processor line on x86", () => {
    expect(() => parseCpuInfo("vendor_id : x\n", "x64")).toThrow(CollectorError);
    expect(parseCpuInfo("\n\n", "x64").cpus).toEqual([]);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseCpuInfo(text, "x64"), fixtureCpuinfo, 60);
    checkParserOnBadInput((text) => parseCpuInfo(text, "arm64"), fixtureCpuinfo, 30);
  });
});

describe("parseCpuList", () => {
  it("expands ranges like procfs' parseCPURange", () => {
    expect(parseCpuList("1,3-5,9\n").cpus).toEqual([1, 3, 4, 5, 9]);
    expect(parseCpuList("\n").cpus).toEqual([]);
  });

  it("skips and reports items that are not CPUs, such as the kernel's '(null)'", () => {
    const { cpus, problems } = parseCpuList("0,(null),2-1,4-4294967295,6\n");
    expect(cpus).toEqual([0, 6]);
    expect(problems.count).toBe(3);
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput(parseCpuList, "1,3-5,9\n");
  });
});
