import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import type { Collector, CollectorDefinition } from "../collector.js";
import { readRequiredHostFile } from "../host-file.js";
import { MalformedLines } from "../malformed-lines.js";
import { counter, gauge, type MetricSink } from "../model.js";
import { noProblems, noteProblem, type ParseProblems } from "../parsers/parse-problems.js";
import { parseHex, splitFields, splitLines } from "../parsers/text.js";

/**
 * node_exporter's softnet collector (collector/softnet_linux.go): per-CPU packet processing
 * statistics from /proc/net/softnet_stat (hexadecimal columns).
 */

const processedTotal = counter("node_softnet_processed_total", "Number of processed packets", ["cpu"]);
const droppedTotal = counter("node_softnet_dropped_total", "Number of dropped packets", ["cpu"]);
const timesSqueezedTotal = counter("node_softnet_times_squeezed_total", "Number of times processing packets ran out of quota", ["cpu"]);
const cpuCollisionTotal = counter(
  "node_softnet_cpu_collision_total",
  "Number of collision occur while obtaining device lock while transmitting",
  ["cpu"],
);
const receivedRpsTotal = counter("node_softnet_received_rps_total", "Number of times cpu woken up received_rps", ["cpu"]);
const flowLimitCountTotal = counter("node_softnet_flow_limit_count_total", "Number of times flow limit has been reached", ["cpu"]);
const backlogLen = gauge("node_softnet_backlog_len", "Softnet backlog status", ["cpu"]);

export interface SoftnetRow {
  /** The CPU: the 13th column on Linux 5.14+, else the row number. */
  cpu: number;
  processed: number;
  dropped: number;
  timeSqueezed: number;
  cpuCollision: number;
  receivedRps: number;
  flowLimitCount: number;
  backlogLen: number;
}

/** Columns a row needs at least (Linux 2.6.23 layout). */
const MIN_COLUMNS = 9;

/**
 * Parses softnet_stat after procfs: columns 0-2 and 8 always, 9 (2.6.39+), 10 (4.18+), and
 * 11-12 (5.14+: backlog length, CPU index); absent columns are 0. A short row or a non-hex
 * value is malformed (skipped), and still counts as a row for the CPU numbering of old kernels.
 */
export function parseSoftnet(text: string): { rows: SoftnetRow[]; problems: ParseProblems } {
  const problems = noProblems();
  const rows: SoftnetRow[] = [];
  const lines = splitLines(text);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const columns = splitFields(line);
    if (columns.length === 0) continue;
    const used = columns.slice(0, 13).map(parseHex);
    if (columns.length < MIN_COLUMNS || used.some(Number.isNaN)) {
      noteProblem(problems, index, line, `expected at least ${MIN_COLUMNS} hexadecimal columns`);
      continue;
    }
    const width = used.length;
    rows.push({
      cpu: width >= 13 ? used[12] : index,
      processed: used[0],
      dropped: used[1],
      timeSqueezed: used[2],
      cpuCollision: used[8],
      receivedRps: width >= 10 ? used[9] : 0,
      flowLimitCount: width >= 11 ? used[10] : 0,
      backlogLen: width >= 13 ? used[11] : 0,
    });
  }
  return { rows, problems };
}

class SoftnetCollector implements Collector {
  readonly name = "softnet";
  private readonly malformed: MalformedLines;

  constructor(
    private readonly paths: HostPaths,
    logger: Logger,
  ) {
    this.malformed = new MalformedLines("softnet", logger);
  }

  update(out: MetricSink): void {
    const file = this.paths.proc("net", "softnet_stat");
    const { rows, problems } = parseSoftnet(readRequiredHostFile(file));
    this.malformed.record(file, problems);
    for (const row of rows) {
      const cpu = String(row.cpu);
      out.add(processedTotal, row.processed, cpu);
      out.add(droppedTotal, row.dropped, cpu);
      out.add(timesSqueezedTotal, row.timeSqueezed, cpu);
      out.add(cpuCollisionTotal, row.cpuCollision, cpu);
      out.add(receivedRpsTotal, row.receivedRps, cpu);
      out.add(flowLimitCountTotal, row.flowLimitCount, cpu);
      out.add(backlogLen, row.backlogLen, cpu);
    }
    this.malformed.emit(out);
  }
}

export const collector: CollectorDefinition = {
  name: "softnet",
  defaultEnabled: true,
  create({ paths, logger }) {
    return new SoftnetCollector(paths, logger);
  },
};
