import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import type { Collector, CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { MalformedLines } from "../malformed-lines.js";
import { counter, type MetricSink } from "../model.js";
import { noProblems, noteProblem, type ParseProblems } from "../parsers/parse-problems.js";
import { parseUnsigned, splitFields, splitLines } from "../parsers/text.js";

/**
 * node_exporter's schedstat collector (collector/schedstat_linux.go): per-CPU scheduler times
 * from /proc/schedstat (fields 7-9 of each cpuN line), nanoseconds converted to seconds.
 */

const runningSecondsTotal = counter("node_schedstat_running_seconds_total", "Number of seconds CPU spent running a process.", ["cpu"]);
const waitingSecondsTotal = counter("node_schedstat_waiting_seconds_total", "Number of seconds spent by processing waiting for this CPU.", [
  "cpu",
]);
const timeslicesTotal = counter("node_schedstat_timeslices_total", "Number of timeslices executed by CPU.", ["cpu"]);

export interface SchedstatCpu {
  /** The CPU number as printed ("0", "1", ...). */
  cpu: string;
  runningNanoseconds: number;
  waitingNanoseconds: number;
  timeslices: number;
}

/**
 * Parses the `cpuN` lines (procfs matches `cpu(\d+)` followed by nine numbers); `version`,
 * `timestamp` and `domainN` lines are ignored.
 */
export function parseSchedstat(text: string): { cpus: SchedstatCpu[]; problems: ParseProblems } {
  const problems = noProblems();
  const cpus: SchedstatCpu[] = [];
  const lines = splitLines(text);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (!line.startsWith("cpu")) continue;
    const fields = splitFields(line);
    const cpu = fields[0].slice(3);
    const values = fields.slice(1, 10).map(parseUnsigned);
    if (Number.isNaN(parseUnsigned(cpu)) || values.length < 9 || values.some(Number.isNaN)) {
      noteProblem(problems, index, line, "expected cpuN and nine numbers");
      continue;
    }
    cpus.push({ cpu, runningNanoseconds: values[6], waitingNanoseconds: values[7], timeslices: values[8] });
  }
  return { cpus, problems };
}

class SchedstatCollector implements Collector {
  readonly name = "schedstat";
  private readonly malformed: MalformedLines;

  constructor(
    private readonly paths: HostPaths,
    logger: Logger,
  ) {
    this.malformed = new MalformedLines("schedstat", logger);
  }

  update(out: MetricSink): void {
    const file = this.paths.proc("schedstat");
    const text = readHostFile(file);
    if (text === undefined) return; // CONFIG_SCHEDSTATS off
    const { cpus, problems } = parseSchedstat(text);
    this.malformed.record(file, problems);
    for (const { cpu, runningNanoseconds, waitingNanoseconds, timeslices } of cpus) {
      out.add(runningSecondsTotal, runningNanoseconds / 1e9, cpu);
      out.add(waitingSecondsTotal, waitingNanoseconds / 1e9, cpu);
      out.add(timeslicesTotal, timeslices, cpu);
    }
    this.malformed.emit(out);
  }
}

export const collector: CollectorDefinition = {
  name: "schedstat",
  defaultEnabled: true,
  create({ paths, logger }) {
    return new SchedstatCollector(paths, logger);
  },
};
