import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { readRequiredHostFile } from "../host-file.js";
import { MalformedLines } from "../malformed-lines.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";
import { parseProcStat, SOFTIRQ_VECTORS, type ProcStat } from "../parsers/proc-stat.js";

/**
 * node_exporter's stat collector (collector/stat_linux.go): kernel counters from /proc/stat, and
 * softirq calls per vector with --collector.stat.softirq. Per-CPU times are the cpu collector's.
 */

const intrTotal = counter("node_intr_total", "Total number of interrupts serviced.");
const contextSwitchesTotal = counter("node_context_switches_total", "Total number of context switches.");
const forksTotal = counter("node_forks_total", "Total number of forks.");
const bootTimeSeconds = gauge("node_boot_time_seconds", "Node boot time, in unixtime.");
const procsRunning = gauge("node_procs_running", "Number of processes in runnable state.");
const procsBlocked = gauge("node_procs_blocked", "Number of processes blocked waiting for I/O to complete.");
const softirqsTotal = counter("node_softirqs_total", "Number of softirq calls.", ["vector"]);

const SCALARS: readonly (readonly [MetricDesc, keyof ProcStat])[] = [
  [intrTotal, "interrupts"],
  [contextSwitchesTotal, "contextSwitches"],
  [forksTotal, "forks"],
  [bootTimeSeconds, "bootTime"],
  [procsRunning, "procsRunning"],
  [procsBlocked, "procsBlocked"],
];

class StatCollector implements Collector {
  readonly name = "stat";
  private readonly malformed: MalformedLines;

  constructor(
    private readonly paths: HostPaths,
    private readonly withSoftirq: boolean,
    logger: Logger,
  ) {
    this.malformed = new MalformedLines("stat", logger);
  }

  update(out: MetricSink): void {
    const file = this.paths.proc("stat");
    const stat = parseProcStat(readRequiredHostFile(file));
    this.malformed.record(file, stat.problems);
    let emitted = 0;
    // A key missing from the file (or skipped as malformed) is left out rather than reported as
    // 0 (procfs' zero value): a counter that drops to 0 would read as a reset.
    for (const [desc, key] of SCALARS) {
      const value = stat[key];
      if (typeof value === "number") {
        out.add(desc, value);
        emitted++;
      }
    }
    if (this.withSoftirq && stat.softirqs !== undefined) {
      SOFTIRQ_VECTORS.forEach((vector, i) => out.add(softirqsTotal, stat.softirqs![i], vector));
    }
    this.malformed.emit(out);
    if (emitted === 0) throw new CollectorError(`${file}: none of btime, intr, ctxt, processes, procs_running, procs_blocked found`);
  }
}

export const collector: CollectorDefinition = {
  name: "stat",
  defaultEnabled: true,
  create({ paths, config, logger }) {
    return new StatCollector(paths, config.collectors.stat.softirq, logger);
  },
};
