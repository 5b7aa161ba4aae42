import fs from "node:fs";
import path from "node:path";
import { readText } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { errorCode } from "../host-file.js";
import { gauge } from "../model.js";
import { parseInt64 } from "../parsers/numbers.js";
import { parseUint64 } from "../parsers/uint64.js";
import { goTrimSpace } from "../sysfs-go-text.js";
import { parsePidStat } from "./processes-stat.js";

/**
 * node_exporter's processes collector (collector/processes_linux.go with procfs's AllProcs and
 * Proc.Stat): for every numeric entry of /proc, its stat file (state, num_threads) and the stat
 * of each of its threads under task/ (the main thread counts with the process's own state), plus
 * the kernel's limits sys/kernel/threads-max and sys/kernel/pid_max.
 *
 * A process or thread that vanishes while being read (ENOENT, ESRCH) is skipped, as is a process
 * without a task/ directory. No procfs directory at all: no series. Any other read error, a stat
 * file procfs cannot parse, or a missing or malformed limit file fails the collector, which then
 * emits nothing.
 *
 * Cost: one directory listing and one stat read per process and per thread on every scrape (as
 * node_exporter); the reads are synchronous, kernel-generated and small, in slices that yield to
 * the event loop.
 */

const threadsDesc = gauge("node_processes_threads", "Allocated threads in system");
const maxThreadsDesc = gauge("node_processes_max_threads", "Limit of threads in the system");
const stateDesc = gauge("node_processes_state", "Number of processes in each state.", ["state"]);
const threadsStateDesc = gauge("node_processes_threads_state", "Number of threads in each state.", ["thread_state"]);
const pidsDesc = gauge("node_processes_pids", "Number of PIDs");
const maxProcessesDesc = gauge("node_processes_max_processes", "Number of max PIDs limit");

export interface ProcessesSummary {
  pids: number;
  threads: number;
  readonly states: Map<string, number>;
  readonly threadStates: Map<string, number>;
}

/** node_exporter's isIgnoredError: the process or thread is gone. */
function vanished(code: string): boolean {
  return code === "ENOENT" || code === "ESRCH";
}

const PLAIN_PID = /^[1-9]\d{0,14}$/;

/**
 * The numeric entries of a procfs-like directory as procfs's AllProcs keeps them
 * (strconv.ParseInt(name, 10, 64)), written back as Go's strconv.Itoa does for the paths.
 */
export function numericEntries(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    // Fast path: a plain decimal name is its own Itoa form; anything else goes through ParseInt.
    if (PLAIN_PID.test(name)) out.push(name);
    else {
      const id = parseInt64(name);
      if (!Number.isNaN(id)) out.push(String(id));
    }
  }
  return out;
}

/** A stat file's text; undefined when the process or thread has vanished. */
function readStat(file: string): string | undefined {
  try {
    return readText(file, 1024 * 1024);
  } catch (err) {
    const code = errorCode(err) ?? String(err);
    if (vanished(code)) return undefined;
    throw new CollectorError(`error reading ${file}: ${code}`, { cause: err });
  }
}

/** Files read since the last yield to the event loop, shared by the process walk and countThreads. */
interface SliceBudget {
  reads: number;
}

/**
 * Yields to the event loop when READS_PER_SLICE files have been read since the last yield, then
 * fails if `signal` has aborted (the collector's time limit).
 */
async function yieldIfDue(budget: SliceBudget, procRoot: string, signal: AbortSignal | undefined): Promise<void> {
  if (budget.reads < READS_PER_SLICE) return;
  budget.reads = 0;
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal?.aborted) throw new CollectorError(`${procRoot}: stopped walking processes: collector time limit reached`);
}

/**
 * Counts one process's threads by state into `summary`, adding the files it reads to `budget` and
 * yielding between slices (a JVM can have tens of thousands of threads).
 */
async function countThreads(
  procRoot: string,
  pid: string,
  pidState: string,
  summary: ProcessesSummary,
  budget: SliceBudget,
  signal: AbortSignal | undefined,
): Promise<void> {
  const taskDir = path.join(procRoot, pid, "task");
  let names: string[];
  budget.reads++;
  try {
    names = fs.readdirSync(taskDir);
  } catch (err) {
    const code = errorCode(err) ?? String(err);
    if (vanished(code)) return;
    throw new CollectorError(`error reading tasks of pid ${pid} (${taskDir}): ${code}`, { cause: err });
  }
  for (const tid of numericEntries(names)) {
    let state = pidState;
    if (tid !== pid) {
      if (budget.reads >= READS_PER_SLICE) await yieldIfDue(budget, procRoot, signal);
      budget.reads++;
      const file = path.join(taskDir, tid, "stat");
      const text = readStat(file);
      if (text === undefined) continue;
      state = parsePidStat(text, file).state;
    }
    summary.threadStates.set(state, (summary.threadStates.get(state) ?? 0) + 1);
  }
}

/** Files read between two yields to the event loop (a few milliseconds of work). */
const READS_PER_SLICE = 500;

/**
 * procfs's AllProcs and Stat over `procRoot`; undefined when the directory does not exist. The
 * reads are synchronous but the walk yields to the event loop every READS_PER_SLICE files (thread
 * stat files included), so a node, or one process, with tens of thousands of threads does not
 * hold it for the whole walk; it stops when
 * `signal` aborts (the collector's time limit).
 */
export async function summarizeProcesses(procRoot: string, signal?: AbortSignal): Promise<ProcessesSummary | undefined> {
  let names: string[];
  try {
    names = fs.readdirSync(procRoot);
  } catch (err) {
    const code = errorCode(err) ?? String(err);
    if (code === "ENOENT") return undefined;
    throw new CollectorError(`unable to list all processes in ${procRoot}: ${code}`, { cause: err });
  }
  const summary: ProcessesSummary = { pids: 0, threads: 0, states: new Map(), threadStates: new Map() };
  const budget: SliceBudget = { reads: 0 };
  for (const pid of numericEntries(names)) {
    if (budget.reads >= READS_PER_SLICE) await yieldIfDue(budget, procRoot, signal);
    budget.reads++;
    const file = path.join(procRoot, pid, "stat");
    const text = readStat(file);
    if (text === undefined) continue;
    const stat = parsePidStat(text, file);
    summary.pids++;
    summary.states.set(stat.state, (summary.states.get(stat.state) ?? 0) + 1);
    summary.threads += stat.numThreads;
    await countThreads(procRoot, pid, stat.state, summary, budget, signal);
  }
  return summary;
}

/** node_exporter's readUintFromFile: strconv.ParseUint(strings.TrimSpace(content), 10, 64); a missing file is an error. */
export function readLimit(file: string): number {
  let text: string;
  try {
    text = readText(file, 64 * 1024);
  } catch (err) {
    throw new CollectorError(`unable to read ${file}: ${errorCode(err) ?? String(err)}`, { cause: err });
  }
  const trimmed = goTrimSpace(text);
  const value = parseUint64(trimmed, 10);
  if (value === undefined) throw new CollectorError(`${file}: expected an unsigned integer, got ${JSON.stringify(trimmed.slice(0, 40))}`);
  return Number(value);
}

function sortedEntries(map: Map<string, number>): Array<[string, number]> {
  return [...map].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export const collector: CollectorDefinition = {
  name: "processes",
  defaultEnabled: false,
  create({ paths }) {
    return {
      name: "processes",
      async update(out, { signal }) {
        const summary = await summarizeProcesses(paths.procfs, signal);
        if (summary === undefined) return;
        const maxThreads = readLimit(paths.proc("sys/kernel/threads-max"));
        const pidMax = readLimit(paths.proc("sys/kernel/pid_max"));
        out.add(threadsDesc, summary.threads);
        out.add(maxThreadsDesc, maxThreads);
        for (const [state, count] of sortedEntries(summary.states)) out.add(stateDesc, count, state);
        for (const [state, count] of sortedEntries(summary.threadStates)) out.add(threadsStateDesc, count, state);
        out.add(pidsDesc, summary.pids);
        out.add(maxProcessesDesc, pidMax);
      },
    };
  },
};
