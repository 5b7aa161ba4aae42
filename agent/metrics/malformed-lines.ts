import type { Logger } from "pino";
import { counter, type MetricSink } from "./model.js";
import type { ParseProblems } from "./parsers/parse-problems.js";

const malformedLinesTotal = counter(
  "nodetap_collector_malformed_lines_total",
  "Lines of host files that a collector could not parse and skipped (the rest of the file was still reported).",
  ["collector", "file"],
);

/**
 * Per-collector bookkeeping of skipped malformed lines: a cumulative counter per file, emitted
 * only once something was skipped (so clean hosts show node_exporter's exact output), and one
 * warning per distinct problem rather than one per scrape.
 */
export class MalformedLines {
  private readonly totals = new Map<string, number>();
  private readonly lastWarned = new Map<string, string>();

  constructor(
    private readonly collector: string,
    private readonly logger: Logger,
  ) {}

  record(file: string, problems: ParseProblems): void {
    if (problems.count === 0) return;
    this.totals.set(file, (this.totals.get(file) ?? 0) + problems.count);
    const message = problems.first ?? "";
    if (this.lastWarned.get(file) !== message) {
      this.lastWarned.set(file, message);
      this.logger.warn(
        { collector: this.collector, file, skipped: problems.count, first: problems.first },
        "skipped malformed lines; the rest of the file is still reported",
      );
    }
  }

  emit(out: MetricSink): void {
    for (const [file, total] of this.totals) out.add(malformedLinesTotal, total, this.collector, file);
  }
}
