import { noProblems, noteProblem, type ParseProblems } from "./parse-problems.js";
import { firstField, parseDecimal, parseUnsigned, splitFields, splitLines } from "./text.js";

/**
 * Parser for /proc/stat, shared by the cpu collector (per-CPU times) and the stat collector
 * (boot time, context switches, forks, interrupts, softirqs). Semantics follow prometheus/procfs
 * stat.go, except that a malformed line is skipped and reported instead of failing the file.
 */

/** USER_HZ: /proc/stat counts CPU time in ticks of 1/100 s on every Linux architecture. */
export const USER_HZ = 100;

/** CPU time per mode in seconds. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  guest: number;
  guestNice: number;
}

/** The ten softirq vectors in the order of the `softirq` line, as node_exporter labels them. */
export const SOFTIRQ_VECTORS = ["hi", "timer", "net_tx", "net_rx", "block", "block_iopoll", "tasklet", "sched", "hrtimer", "rcu"] as const;

export interface ProcStat {
  /** Per-CPU times keyed by CPU number (the `cpuN` lines). */
  cpus: Map<number, CpuTimes>;
  /** The summed `cpu` line. */
  total?: CpuTimes;
  bootTime?: number;
  interrupts?: number;
  contextSwitches?: number;
  forks?: number;
  procsRunning?: number;
  procsBlocked?: number;
  softirqTotal?: number;
  /** Counts per vector, in SOFTIRQ_VECTORS order. */
  softirqs?: number[];
  problems: ParseProblems;
}

const CPU_MODES = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guestNice"] as const;

type ScalarKey = "bootTime" | "interrupts" | "contextSwitches" | "forks" | "procsRunning" | "procsBlocked";

const SCALAR_KEYS: ReadonlyMap<string, ScalarKey> = new Map([
  ["btime", "bootTime"],
  ["intr", "interrupts"],
  ["ctxt", "contextSwitches"],
  ["processes", "forks"],
  ["procs_running", "procsRunning"],
  ["procs_blocked", "procsBlocked"],
]);

export function zeroCpuTimes(): CpuTimes {
  return { user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0, guest: 0, guestNice: 0 };
}

/** The value after the key on a `key value ...` line, without splitting the rest (the intr line is huge). */
function secondField(line: string, afterKey: number): string {
  let i = afterKey;
  const n = line.length;
  while (i < n && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
  const start = i;
  while (i < n && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9 && line.charCodeAt(i) !== 13) i++;
  return line.slice(start, i);
}

/**
 * Parses a `cpu`/`cpuN` line. As with procfs' Sscanf, trailing modes a kernel does not print
 * (old kernels lack steal/guest) are 0; a non-numeric value makes the line malformed.
 */
function parseCpuLine(fields: string[]): { id: number; times: CpuTimes } | string {
  if (fields.length < 2) return "no CPU times";
  let id = -1;
  if (fields[0] !== "cpu") {
    id = parseUnsigned(fields[0].slice(3));
    if (Number.isNaN(id)) return "CPU number is not a number";
  }
  const times = zeroCpuTimes();
  const count = Math.min(fields.length - 1, CPU_MODES.length);
  for (let i = 0; i < count; i++) {
    const ticks = parseDecimal(fields[i + 1]);
    if (Number.isNaN(ticks) || ticks < 0) return `${CPU_MODES[i]} time is not a number`;
    times[CPU_MODES[i]] = ticks / USER_HZ;
  }
  return { id, times };
}

export function parseProcStat(text: string): ProcStat {
  const stat: ProcStat = { cpus: new Map(), problems: noProblems() };
  const lines = splitLines(text);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const key = firstField(line);
    if (key === "") continue;
    if (key.startsWith("cpu")) {
      const parsed = parseCpuLine(splitFields(line));
      if (typeof parsed === "string") noteProblem(stat.problems, index, line, parsed);
      else if (parsed.id === -1) stat.total = parsed.times;
      else stat.cpus.set(parsed.id, parsed.times);
      continue;
    }
    if (key === "softirq") {
      // procfs requires the total and all ten vectors.
      const values = splitFields(line)
        .slice(1, 2 + SOFTIRQ_VECTORS.length)
        .map(parseUnsigned);
      if (values.length < 1 + SOFTIRQ_VECTORS.length || values.some(Number.isNaN)) {
        noteProblem(stat.problems, index, line, "expected the total and ten softirq counts");
        continue;
      }
      stat.softirqTotal = values[0];
      stat.softirqs = values.slice(1);
      continue;
    }
    const target = SCALAR_KEYS.get(key);
    if (target === undefined) continue; // lines of newer kernels are ignored, as procfs does
    const value = parseUnsigned(secondField(line, line.indexOf(key) + key.length));
    if (Number.isNaN(value)) noteProblem(stat.problems, index, line, `${key} is not a number`);
    else stat[target] = value;
  }
  return stat;
}
