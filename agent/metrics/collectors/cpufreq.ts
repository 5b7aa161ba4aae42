import fs from "node:fs";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { gauge, type MetricDesc } from "../model.js";
import { parseUint } from "../parsers/numbers.js";
import { KeptAttributeDirectories } from "../kept-attribute-dirs.js";
import type { AttributeRead } from "../sysfs-attribute.js";
import { goTrimSpace } from "../sysfs-go-text.js";

/**
 * node_exporter's cpufreq collector (collector/cpufreq_linux.go with procfs's
 * sysfs.SystemCpufreq): per-CPU frequencies from /sys/devices/system/cpu/cpu<N>/cpufreq (kHz,
 * exported in Hz) and one node_cpu_scaling_governor series per available governor. CPUs listed in
 * devices/system/cpu/offline are left out; CPUs without a cpufreq directory are skipped. As in
 * node_exporter, one unreadable or malformed value fails the whole collector (nothing is emitted).
 */

const CPU = ["cpu"];
const frequencyHertz = gauge("node_cpu_frequency_hertz", "Current CPU thread frequency in hertz.", CPU);
const frequencyAvgHertz = gauge("node_cpu_frequency_avg_hertz", "Average CPU thread frequency in hertz.", CPU);
const frequencyMinHertz = gauge("node_cpu_frequency_min_hertz", "Minimum CPU thread frequency in hertz.", CPU);
const frequencyMaxHertz = gauge("node_cpu_frequency_max_hertz", "Maximum CPU thread frequency in hertz.", CPU);
const scalingHertz = gauge("node_cpu_scaling_frequency_hertz", "Current scaled CPU thread frequency in hertz.", CPU);
const scalingMinHertz = gauge("node_cpu_scaling_frequency_min_hertz", "Minimum scaled CPU thread frequency in hertz.", CPU);
const scalingMaxHertz = gauge("node_cpu_scaling_frequency_max_hertz", "Maximum scaled CPU thread frequency in hertz.", CPU);
const scalingGovernor = gauge("node_cpu_scaling_governor", "Current enabled CPU frequency governor.", ["cpu", "governor"]);

/** The numeric attributes procfs reads, in its order; the ones node_exporter exports name their family. */
const KHZ_FILES = [
  "cpuinfo_cur_freq",
  "cpuinfo_avg_freq",
  "cpuinfo_max_freq",
  "cpuinfo_min_freq",
  "cpuinfo_transition_latency",
  "scaling_cur_freq",
  "scaling_max_freq",
  "scaling_min_freq",
] as const;
/** The text attributes procfs reads; each must be readable, or the collector fails. */
const STRING_FILES = ["scaling_available_governors", "scaling_driver", "scaling_governor", "related_cpus", "scaling_setspeed"] as const;

const ATTRIBUTE_FILES: string[] = [...KHZ_FILES, ...STRING_FILES];

type KhzFile = (typeof KHZ_FILES)[number];
type StringFile = (typeof STRING_FILES)[number];

/** Emission order of node_exporter's Update (cpuinfo_cur_freq only when the cpu collector does not own node_cpu_frequency_hertz). */
const EXPORTED: ReadonlyArray<[KhzFile, MetricDesc]> = [
  ["cpuinfo_cur_freq", frequencyHertz],
  ["cpuinfo_avg_freq", frequencyAvgHertz],
  ["cpuinfo_min_freq", frequencyMinHertz],
  ["cpuinfo_max_freq", frequencyMaxHertz],
  ["scaling_cur_freq", scalingHertz],
  ["scaling_min_freq", scalingMinHertz],
  ["scaling_max_freq", scalingMaxHertz],
];

export interface CpufreqStats {
  /** The CPU number (directory name without "cpu"). */
  readonly name: string;
  /** kHz values of the numeric attributes that exist. */
  readonly khz: ReadonlyMap<KhzFile, number>;
  readonly availableGovernors: string;
  readonly governor: string;
}

/** A cpufreq value in kHz (strconv.ParseUint of the trimmed text); CollectorError when it is not one. */
export function parseCpufreqValue(text: string, file = "cpufreq value"): number {
  const trimmed = goTrimSpace(text);
  const value = parseUint(trimmed);
  if (Number.isNaN(value)) throw new CollectorError(`${file}: expected an unsigned integer, got ${JSON.stringify(trimmed.slice(0, 40))}`);
  return value;
}

/**
 * procfs's parseCPURange for devices/system/cpu/offline ("0-3,8"): the CPU numbers as uint16, in
 * file order; CollectorError for a part that is not a number or a range.
 */
export function parseCpuRange(text: string): number[] {
  const cpus: number[] = [];
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  for (const part of body.split(",")) {
    if (part === "") continue;
    if (part.includes("-")) {
      const ends = part.split("-");
      if (ends.length !== 2) throw new CollectorError(`invalid cpu range: ${JSON.stringify(part.slice(0, 40))}`);
      const start = goAtoi(ends[0]);
      const end = goAtoi(ends[1]);
      if (start === undefined || end === undefined) throw new CollectorError(`invalid cpu range: ${JSON.stringify(part.slice(0, 40))}`);
      // Go appends uint16(i) for every i: past 65536 numbers the values only repeat.
      for (let i = start, n = 0; i <= end && n < 65536; i++, n++) cpus.push(toUint16(i));
      continue;
    }
    const cpu = goAtoi(part);
    if (cpu === undefined) throw new CollectorError(`invalid cpu number: ${JSON.stringify(part.slice(0, 40))}`);
    cpus.push(toUint16(cpu));
  }
  return cpus;
}

/** strconv.Atoi on a 64-bit platform; undefined where it fails. */
function goAtoi(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const big = BigInt(text);
  if (big > 9223372036854775807n || big < -9223372036854775808n) return undefined;
  return Number(big);
}

function toUint16(n: number): number {
  return Number(BigInt.asUintN(16, BigInt(n)));
}

/** procfs's binSearch, kept as it is (it assumes a sorted list; the offline file is sorted). */
function binSearch(element: number, list: readonly number[]): boolean {
  if (list.length === 0) return false;
  if (list.length === 1) return element === list[0];
  let start = 0;
  let end = list.length - 1;
  while (start <= end) {
    const mid = Math.floor((start + end) / 2);
    if (list[mid] === element) return true;
    if (list[mid] > element) end = mid - 1;
    else start = mid + 1;
  }
  return false;
}

/**
 * procfs's parseCpufreqCpuinfo on the reads of one cpufreq directory: a numeric attribute that is
 * missing or not permitted is left out, any other read error or a malformed number is a
 * CollectorError; every text attribute must be readable.
 */
export function parseCpufreqReads(name: string, reads: { readonly [F in KhzFile | StringFile]: AttributeRead }): CpufreqStats {
  const khz = new Map<KhzFile, number>();
  for (const file of KHZ_FILES) {
    const read = reads[file];
    if (read.errno !== undefined) {
      if (read.during === "open" && (read.errno === "ENOENT" || read.errno === "EACCES" || read.errno === "EPERM")) continue;
      throw new CollectorError(`cpu${name}/cpufreq/${file}: ${read.errno}`);
    }
    khz.set(file, parseCpufreqValue(read.text, `cpu${name}/cpufreq/${file}`));
  }
  const text = (file: StringFile): string => {
    const read = reads[file];
    if (read.errno !== undefined) throw new CollectorError(`cpu${name}/cpufreq/${file}: ${read.errno}`);
    return goTrimSpace(read.text);
  };
  const availableGovernors = text("scaling_available_governors");
  text("scaling_driver");
  const governor = text("scaling_governor");
  text("related_cpus");
  text("scaling_setspeed");
  return { name, khz, availableGovernors, governor };
}

/** One node_cpu_scaling_governor value per available governor (split on single spaces, as node_exporter does). */
export function governorStates(availableGovernors: string, governor: string): Array<[string, number]> {
  return availableGovernors.split(" ").map((g) => [g, g === governor ? 1 : 0]);
}

/** The cpu[0-9]* entries of devices/system/cpu, sorted like filepath.Glob (which ignores a listing error). */
function listCpus(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.length > 3 && n.startsWith("cpu") && n.charCodeAt(3) >= 0x30 && n.charCodeAt(3) <= 0x39).sort();
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? String(err);
}

export const collector: CollectorDefinition = {
  name: "cpufreq",
  defaultEnabled: true,
  create({ paths, config }) {
    // node_exporter leaves node_cpu_frequency_hertz to the cpu collector when that one reports it
    // from /proc/cpuinfo (--collector.cpu.info, which an info include filter also turns on).
    const cpu = config.collectors.cpu;
    const skipCurrent = cpu.enabled && (cpu.info || cpu.infoFlagsInclude !== "" || cpu.infoBugsInclude !== "");
    // Each CPU's attribute files stay open between scrapes while its cpufreq directory is the same
    // (kept-attribute-dirs.ts): 13 files per CPU, opened on every scrape before.
    const kept = new KeptAttributeDirectories();
    return {
      name: "cpufreq",
      close() {
        kept.closeAll();
      },
      update(out) {
        const cpuDir = paths.sys("devices/system/cpu");
        let cpus = listCpus(cpuDir);
        const offlineFile = `${cpuDir}/offline`;
        let offlineText: string;
        try {
          offlineText = fs.readFileSync(offlineFile, "utf8");
        } catch (err) {
          throw new CollectorError(`${offlineFile}: ${errnoOf(err)}`, { cause: err });
        }
        if (goTrimSpace(offlineText) !== "") {
          const offline = parseCpuRange(offlineText);
          if (offline.length > 0) {
            cpus = cpus.filter((entry) => {
              const number = goAtoi(entry.slice(3));
              if (number === undefined) throw new CollectorError(`${cpuDir}/${entry}: not a CPU number`);
              return !binSearch(toUint16(number), offline);
            });
          }
        }
        if (cpus.length === 0) throw new CollectorError(`${cpuDir}: could not find any cpufreq files`);

        const stats: CpufreqStats[] = [];
        kept.beginRound();
        try {
          for (const entry of cpus) {
            const dir = `${cpuDir}/${entry}/cpufreq`;
            let files: readonly string[] | undefined;
            try {
              files = kept.filesOf(dir, () => ATTRIBUTE_FILES);
            } catch (err) {
              throw new CollectorError(`${dir}: ${errnoOf(err)}`, { cause: err });
            }
            if (files === undefined) continue;
            const reads = Object.fromEntries(files.map((f) => [f, kept.read(dir, f)])) as {
              [F in KhzFile | StringFile]: AttributeRead;
            };
            stats.push(parseCpufreqReads(entry.slice(3), reads));
          }
        } finally {
          kept.endRound();
        }

        // sysfs cpufreq values are kHz; node_exporter exports Hz.
        for (const cpuStats of stats) {
          for (const [file, desc] of EXPORTED) {
            if (file === "cpuinfo_cur_freq" && skipCurrent) continue;
            const value = cpuStats.khz.get(file);
            if (value !== undefined) out.add(desc, value * 1000, cpuStats.name);
          }
          if (cpuStats.governor !== "") {
            for (const [g, state] of governorStates(cpuStats.availableGovernors, cpuStats.governor)) {
              out.add(scalingGovernor, state, cpuStats.name, g);
            }
          }
        }
      },
    };
  },
};
