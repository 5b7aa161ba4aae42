import { Counter, Gauge, type Registry } from "prom-client";

/** The outcomes of nodetap_log_filter_records_total, by the FilterCounts field that counts them. */
const OUTCOMES = [
  ["dropped", "dropped"],
  ["parsed", "parsed"],
  ["unparsed", "unparsed"],
  ["tooLarge", "too_large"],
  ["fieldsDropped", "fields_dropped"],
  ["rateLimited", "rate_limited"],
  ["counted", "counted"],
  ["error", "error"],
] as const;

type CountField = (typeof OUTCOMES)[number][0];

/**
 * One filter's outcome counts. The chain runs on every line, and a prom-client increment hashes
 * its labels each time, so filters add to plain numbers that are moved to the counter when it is
 * scraped (and when the chain closes).
 */
export class FilterCounts implements Record<CountField, number> {
  dropped = 0;
  parsed = 0;
  unparsed = 0;
  tooLarge = 0;
  fieldsDropped = 0;
  rateLimited = 0;
  counted = 0;
  error = 0;

  constructor(readonly filter: string) {}

  /** Adds the counts to the counter and starts again from zero. */
  flush(counter: Counter<"filter" | "outcome">): void {
    for (const [field, outcome] of OUTCOMES) {
      const n = this[field];
      if (n === 0) continue;
      counter.inc({ filter: this.filter, outcome }, n);
      this[field] = 0;
    }
  }
}

const byRegistry = new WeakMap<Registry, FilterMetrics>();

/**
 * The filters' self-metrics, created once per registry (several chains, e.g. check-config's and
 * the pipeline's, may share one). Whatever counts in plain numbers registers a flush, run
 * before any of these metrics is read.
 */
export class FilterMetrics {
  readonly records: Counter<"filter" | "outcome">;
  readonly seriesDropped: Counter<"metric">;
  readonly series: Gauge<"metric">;
  private readonly flushes = new Set<() => void>();

  static of(registry: Registry): FilterMetrics {
    let metrics = byRegistry.get(registry);
    if (metrics === undefined) {
      metrics = new FilterMetrics(registry);
      byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  private constructor(registry: Registry) {
    const registers = [registry];
    const flushAll = () => this.flushAll();
    this.records = new Counter({
      name: "nodetap_log_filter_records_total",
      help: "Records each filter acted on, by outcome: dropped (drop, keep, severity), parsed, unparsed (json, logfmt, regex: passed on unchanged), too_large (over maxBytes: passed on unparsed), fields_dropped (fields past maxFields), rate_limited, counted (logToMetric), error (the filter failed: passed on unchanged).",
      labelNames: ["filter", "outcome"],
      registers,
      collect: flushAll,
    });
    this.seriesDropped = new Counter({
      name: "nodetap_log_metric_series_dropped_total",
      help: "Records a logToMetric filter did not count because its metric had maxSeries label sets already.",
      labelNames: ["metric"],
      registers,
      collect: flushAll,
    });
    this.series = new Gauge({
      name: "nodetap_log_metric_series",
      help: "Label sets each logToMetric metric holds (at most its maxSeries; idle ones expire after expireAfter).",
      labelNames: ["metric"],
      registers,
      collect: flushAll,
    });
  }

  /** Runs `flush` before these metrics are read, until untrack. */
  track(flush: () => void): void {
    this.flushes.add(flush);
  }

  untrack(flush: () => void): void {
    flush();
    this.flushes.delete(flush);
  }

  flushAll(): void {
    for (const flush of this.flushes) flush();
  }
}
