import type { Logger } from "pino";
import { compileGoRegex } from "../../config/values.js";
import type { HostPaths } from "../../host/paths.js";
import { listDir } from "../../host/read.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { KeptAttributeDirectories } from "../kept-attribute-dirs.js";
import { readHostFile, readRequiredHostFile } from "../host-file.js";
import { MalformedLines } from "../malformed-lines.js";
import { counter, gauge, type MetricSink } from "../model.js";
import { parseCpuList } from "../parsers/cpu-list.js";
import { parseCpuInfo } from "../parsers/cpuinfo.js";
import { parseProcStat, type CpuTimes } from "../parsers/proc-stat.js";
import { parseUnsigned } from "../parsers/text.js";
import { CpuTimesGuard } from "./cpu-times-guard.js";

/**
 * node_exporter's cpu collector (collector/cpu_linux.go): CPU time per mode from /proc/stat
 * (kept monotonic across scrapes), /proc/cpuinfo info metrics with --collector.cpu.info, and the
 * sysfs thermal-throttle, isolated and online metrics.
 */

const secondsTotal = counter("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", ["cpu", "mode"]);
const guestSecondsTotal = counter("node_cpu_guest_seconds_total", "Seconds the CPUs spent in guests (VMs) for each mode.", ["cpu", "mode"]);
const info = gauge("node_cpu_info", "CPU information from /proc/cpuinfo.", [
  "package",
  "core",
  "cpu",
  "vendor",
  "family",
  "model",
  "model_name",
  "microcode",
  "stepping",
  "cachesize",
]);
const frequencyHertz = gauge("node_cpu_frequency_hertz", "CPU frequency in hertz from /proc/cpuinfo.", ["package", "core", "cpu"]);
const flagInfo = gauge("node_cpu_flag_info", "The `flags` field of CPU information from /proc/cpuinfo taken from the first core.", [
  "flag",
]);
const bugInfo = gauge("node_cpu_bug_info", "The `bugs` field of CPU information from /proc/cpuinfo taken from the first core.", ["bug"]);
const coreThrottlesTotal = counter("node_cpu_core_throttles_total", "Number of times this CPU core has been throttled.", [
  "package",
  "core",
]);
const packageThrottlesTotal = counter("node_cpu_package_throttles_total", "Number of times this CPU package has been throttled.", [
  "package",
]);
const isolated = gauge("node_cpu_isolated", "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.", ["cpu"]);
const online = gauge("node_cpu_online", "CPUs that are online and being scheduled.", ["cpu"]);

const STAT_MODES: readonly (readonly [keyof CpuTimes, string])[] = [
  ["user", "user"],
  ["nice", "nice"],
  ["system", "system"],
  ["idle", "idle"],
  ["iowait", "iowait"],
  ["irq", "irq"],
  ["softirq", "softirq"],
  ["steal", "steal"],
];

export interface CpuOptions {
  guest: boolean;
  info: boolean;
  /** Emits node_cpu_frequency_hertz with the info metrics (node_exporter does when its cpufreq collector is on, the default). */
  frequency: boolean;
  flagsInclude?: RegExp;
  bugsInclude?: RegExp;
}

/** The sysfs CPU directories (cpu0, cpu1, ...; not cpufreq/cpuidle), sorted like Go's filepath.Glob. */
export function cpuDirectories(names: readonly string[]): string[] {
  return names.filter((n) => n.length > 3 && n.startsWith("cpu") && n.charCodeAt(3) >= 48 && n.charCodeAt(3) <= 57);
}

class CpuCollector implements Collector {
  readonly name = "cpu";
  private readonly guard: CpuTimesGuard;
  private readonly malformed: MalformedLines;
  /** From /sys/devices/system/cpu/isolated, read once like node_exporter (it is set at boot). */
  private readonly isolatedCpus: Set<number> | undefined;
  /** Each CPU's topology, thermal_throttle and online files, kept open between scrapes (kept-attribute-dirs.ts). */
  private readonly kept = new KeptAttributeDirectories();

  constructor(
    private readonly paths: HostPaths,
    private readonly options: CpuOptions,
    logger: Logger,
  ) {
    this.guard = new CpuTimesGuard(logger);
    this.malformed = new MalformedLines("cpu", logger);
    const isolatedFile = paths.sys("devices", "system", "cpu", "isolated");
    let text: string | undefined;
    try {
      text = readHostFile(isolatedFile);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, "cannot read the isolated CPU list; node_cpu_isolated is left out");
    }
    if (text !== undefined) {
      const parsed = parseCpuList(text);
      this.isolatedCpus = new Set(parsed.cpus);
      this.malformed.record(isolatedFile, parsed.problems);
    }
  }

  update(out: MetricSink): void {
    const deferred: string[] = [];
    if (this.options.info) {
      try {
        this.updateInfo(out);
      } catch (err) {
        if (!(err instanceof CollectorError)) throw err;
        deferred.push(err.message);
      }
    }
    this.updateStat(out);
    const cpuDir = this.paths.sys("devices", "system", "cpu");
    let cpus: string[] = [];
    try {
      cpus = cpuDirectories(listDir(cpuDir));
    } catch (err) {
      deferred.push(`${cpuDir}: ${(err as Error).message}`);
    }
    this.updateIsolated(out);
    this.kept.beginRound();
    try {
      this.updateThermalThrottle(out, cpuDir, cpus);
      this.updateOnline(out, cpuDir, cpus);
    } finally {
      this.kept.endRound();
    }
    this.malformed.emit(out);
    if (deferred.length > 0) throw new CollectorError(deferred.join("; "));
  }

  private updateInfo(out: MetricSink): void {
    const file = this.paths.proc("cpuinfo");
    const text = readRequiredHostFile(file);
    let parsed: ReturnType<typeof parseCpuInfo>;
    try {
      parsed = parseCpuInfo(text);
    } catch (err) {
      throw new CollectorError(`${file}: ${(err as Error).message}`, { cause: err });
    }
    this.malformed.record(file, parsed.problems);
    for (const cpu of parsed.cpus) {
      const cpuLabel = String(cpu.processor);
      out.add(
        info,
        1,
        cpu.physicalId,
        cpu.coreId,
        cpuLabel,
        cpu.vendorId,
        cpu.cpuFamily,
        cpu.model,
        cpu.modelName,
        cpu.microcode,
        cpu.stepping,
        cpu.cacheSize,
      );
    }
    if (this.options.frequency) {
      for (const cpu of parsed.cpus) {
        if (!Number.isNaN(cpu.cpuMHz)) out.add(frequencyHertz, cpu.cpuMHz * 1e6, cpu.physicalId, cpu.coreId, String(cpu.processor));
      }
    }
    const first = parsed.cpus[0];
    if (first === undefined) return;
    emitMatching(out, flagInfo, first.flags, this.options.flagsInclude);
    emitMatching(out, bugInfo, first.bugs, this.options.bugsInclude);
  }

  private updateStat(out: MetricSink): void {
    const file = this.paths.proc("stat");
    const stat = parseProcStat(readRequiredHostFile(file));
    this.malformed.record(file, stat.problems);
    if (stat.cpus.size === 0) throw new CollectorError(`${file}: no per-CPU "cpuN" lines`);
    for (const [cpu, times] of this.guard.update(stat.cpus)) {
      const cpuLabel = String(cpu);
      for (const [field, mode] of STAT_MODES) out.add(secondsTotal, times[field], cpuLabel, mode);
      if (this.options.guest) {
        // Guest time is also counted in user and nice; node_exporter exposes it separately.
        out.add(guestSecondsTotal, times.guest, cpuLabel, "user");
        out.add(guestSecondsTotal, times.guestNice, cpuLabel, "nice");
      }
    }
  }

  private updateIsolated(out: MetricSink): void {
    if (this.isolatedCpus === undefined) return;
    for (const cpu of this.isolatedCpus) out.add(isolated, 1, String(cpu));
  }

  private updateThermalThrottle(out: MetricSink, cpuDir: string, cpus: readonly string[]): void {
    const packageThrottles = new Map<number, number>();
    const coreThrottles = new Map<number, Map<number, number>>();
    for (const dir of cpus) {
      const base = `${cpuDir}/${dir}`;
      const packageId = this.readUnsigned(`${base}/topology`, "physical_package_id");
      if (packageId === undefined) continue;
      const coreId = this.readUnsigned(`${base}/topology`, "core_id");
      if (coreId === undefined) continue;
      // Core throttles first: some CPU/kernel combinations have only those.
      let cores = coreThrottles.get(packageId);
      if (cores === undefined) {
        cores = new Map();
        coreThrottles.set(packageId, cores);
      }
      if (!cores.has(coreId)) {
        const count = this.readUnsigned(`${base}/thermal_throttle`, "core_throttle_count");
        if (count !== undefined) cores.set(coreId, count);
      }
      if (!packageThrottles.has(packageId)) {
        const count = this.readUnsigned(`${base}/thermal_throttle`, "package_throttle_count");
        if (count !== undefined) packageThrottles.set(packageId, count);
      }
    }
    for (const [packageId, count] of packageThrottles) out.add(packageThrottlesTotal, count, String(packageId));
    for (const [packageId, cores] of coreThrottles) {
      for (const [coreId, count] of cores) out.add(coreThrottlesTotal, count, String(packageId), String(coreId));
    }
  }

  /** Nothing when the first CPU has no `online` file (not hot-pluggable), as node_exporter. */
  private updateOnline(out: MetricSink, cpuDir: string, cpus: readonly string[]): void {
    if (cpus.length === 0 || this.readAttribute(`${cpuDir}/${cpus[0]}`, "online") === undefined) return;
    for (const dir of cpus) {
      out.add(online, this.readAttribute(`${cpuDir}/${dir}`, "online") === "1" ? 1 : 0, dir.slice(3));
    }
  }

  /** A CPU attribute, trimmed; undefined when missing or unreadable (as readSysAttribute). */
  private readAttribute(dir: string, file: string): string | undefined {
    let files: readonly string[] | undefined;
    try {
      files = this.kept.filesOf(dir, () => CPU_ATTRIBUTES);
    } catch {
      return undefined;
    }
    if (files === undefined) return undefined;
    return this.kept.read(dir, file).text?.trim();
  }

  private readUnsigned(dir: string, file: string): number | undefined {
    const text = this.readAttribute(dir, file);
    if (text === undefined) return undefined;
    const value = parseUnsigned(text);
    return Number.isNaN(value) ? undefined : value;
  }

  close(): void {
    this.kept.closeAll();
  }
}

/** The files read in a CPU's directories (the listing kept-attribute-dirs asks for; reads are by name). */
const CPU_ATTRIBUTES = ["online", "physical_package_id", "core_id", "core_throttle_count", "package_throttle_count"];

/** Emits one info sample per value matching the filter; nothing without a filter (node_exporter's default). */
function emitMatching(out: MetricSink, desc: typeof flagInfo, values: readonly string[], filter: RegExp | undefined): void {
  if (filter === undefined) return;
  for (const value of values) if (filter.test(value)) out.add(desc, 1, value);
}

export const collector: CollectorDefinition = {
  name: "cpu",
  defaultEnabled: true,
  create({ paths, config, logger }) {
    const options = config.collectors.cpu;
    const flagsInclude = options.infoFlagsInclude === "" ? undefined : compileGoRegex(options.infoFlagsInclude);
    const bugsInclude = options.infoBugsInclude === "" ? undefined : compileGoRegex(options.infoBugsInclude);
    // As node_exporter: an include filter turns the info metrics on.
    const infoEnabled = options.info || flagsInclude !== undefined || bugsInclude !== undefined;
    if (infoEnabled && !options.info) {
      logger.info("collector.cpu.info turned on because collector.cpu.info.flags-include or bugs-include is set");
    }
    // node_exporter ties node_cpu_frequency_hertz (from /proc/cpuinfo) to its cpufreq collector.
    const frequency = config.collectors.cpufreq.enabled;
    return new CpuCollector(paths, { guest: options.guest, info: infoEnabled, frequency, flagsInclude, bugsInclude }, logger);
  },
};
