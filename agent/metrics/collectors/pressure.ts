import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { errorCode, readHostFile } from "../host-file.js";
import { MalformedLines } from "../malformed-lines.js";
import { counter, type MetricDesc, type MetricSink } from "../model.js";
import { noProblems, noteProblem, type ParseProblems } from "../parsers/parse-problems.js";
import { parseUnsigned, splitFields, splitLines } from "../parsers/text.js";

/**
 * node_exporter's pressure collector (collector/pressure_linux.go): pressure stall totals from
 * /proc/pressure/{cpu,io,memory,irq}, microseconds converted to seconds. cpu reports only its
 * "some" line and irq only "full" (the kernel has no other line for them).
 */

const RESOURCES: readonly { resource: string; some?: MetricDesc; full?: MetricDesc }[] = [
  {
    resource: "cpu",
    some: counter("node_pressure_cpu_waiting_seconds_total", "Total time in seconds that processes have waited for CPU time"),
  },
  {
    resource: "io",
    some: counter("node_pressure_io_waiting_seconds_total", "Total time in seconds that processes have waited due to IO congestion"),
    full: counter("node_pressure_io_stalled_seconds_total", "Total time in seconds no process could make progress due to IO congestion"),
  },
  {
    resource: "memory",
    some: counter("node_pressure_memory_waiting_seconds_total", "Total time in seconds that processes have waited for memory"),
    full: counter(
      "node_pressure_memory_stalled_seconds_total",
      "Total time in seconds no process could make progress due to memory congestion",
    ),
  },
  {
    resource: "irq",
    full: counter("node_pressure_irq_stalled_seconds_total", "Total time in seconds no process could make progress due to IRQ congestion"),
  },
];

/** Totals in microseconds of the `some` and `full` lines, when present. */
export interface PressureTotals {
  some?: number;
  full?: number;
}

/**
 * Parses `some|full avg10=.. avg60=.. avg300=.. total=N` lines. Lines with another prefix are
 * ignored (as procfs does, for future kinds); a some/full line without a numeric total is malformed.
 */
export function parsePressure(text: string): { totals: PressureTotals; problems: ParseProblems } {
  const problems = noProblems();
  const totals: PressureTotals = {};
  const lines = splitLines(text);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const fields = splitFields(line);
    const kind = fields[0];
    if (kind !== "some" && kind !== "full") continue;
    const totalField = fields.find((f) => f.startsWith("total="));
    const total = totalField === undefined ? NaN : parseUnsigned(totalField.slice(6));
    if (Number.isNaN(total)) noteProblem(problems, index, line, "no numeric total=");
    else totals[kind] = total;
  }
  return { totals, problems };
}

class PressureCollector implements Collector {
  readonly name = "pressure";
  private readonly malformed: MalformedLines;

  constructor(
    private readonly paths: HostPaths,
    private readonly logger: Logger,
  ) {
    this.malformed = new MalformedLines("pressure", logger);
  }

  update(out: MetricSink): void {
    for (const { resource, some, full } of RESOURCES) {
      const file = this.paths.proc("pressure", resource);
      let text: string | undefined;
      try {
        text = readHostFile(file);
      } catch (err) {
        // PSI compiled in but off (psi=0 on the kernel command line): reads fail with EOPNOTSUPP.
        const code = errorCode((err as CollectorError).cause);
        if (code === "EOPNOTSUPP" || code === "ENOTSUP") {
          this.logger.debug("pressure information is disabled, add psi=1 kernel command line to enable it");
          return;
        }
        throw err;
      }
      // A missing file: no PSI (kernel < 4.20 or CONFIG_PSI=n), or no irq PSI (< 6.1).
      if (text === undefined) continue;
      const { totals, problems } = parsePressure(text);
      this.malformed.record(file, problems);
      // node_exporter stops (no data) when a resource lacks the line it reports.
      if ((some && totals.some === undefined) || (full && totals.full === undefined)) break;
      if (some) out.add(some, totals.some! / 1e6);
      if (full) out.add(full, totals.full! / 1e6);
    }
    this.malformed.emit(out);
  }
}

export const collector: CollectorDefinition = {
  name: "pressure",
  defaultEnabled: true,
  create({ paths, logger }) {
    return new PressureCollector(paths, logger);
  },
};
