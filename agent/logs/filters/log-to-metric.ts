import { Counter, type Registry } from "prom-client";
import { ConfigError } from "../../config/errors.js";
import { show } from "../../config/values.js";
import type { LogRecord } from "../record.js";
import { attributeOf } from "./attributes.js";
import type { FilterContext } from "./filter.js";
import { MatchedFilter } from "./filter.js";
import type { FilterMetrics } from "./metrics.js";
import type { FilterConfig } from "./schema.js";
import { severityNameOf } from "./severity.js";

type LogToMetricConfig = Extract<FilterConfig, { type: "logToMetric" }>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const RESERVED_PREFIXES = ["nodetap_", "node_", "process_", "nodejs_"];

type LabelValue = (record: LogRecord) => string;

/** The label values the filter knows by name. */
const BUILTIN_LABELS: Readonly<Record<string, LabelValue>> = {
  namespace: (r) => r.origin.kubernetes?.namespace ?? "",
  pod: (r) => r.origin.kubernetes?.podName ?? "",
  container: (r) => r.origin.kubernetes?.containerName ?? "",
  stream: (r) => r.stream,
  source: (r) => r.origin.source,
  node: (r) => r.origin.node ?? "",
  file: (r) => r.origin.file ?? "",
  severity: (r) => severityNameOf(r) ?? "",
};

interface Series {
  readonly labels: Record<string, string>;
  /** Counted since the last flush to the counter. */
  pending: number;
  /** When last counted (ms). */
  last: number;
}

/**
 * Counts the records it matches in a Prometheus counter of its own (name, help and labels
 * configured; `field.<attribute>` labels take an attribute's value, named by the attribute with
 * characters outside [a-zA-Z0-9_] replaced by `_`). At most maxSeries label sets: records of a
 * new one past it are not counted (nodetap_log_metric_series_dropped_total). A label set not
 * counted for expireAfter is removed, by an unref'd timer and on records. Counts are moved to
 * the counter when it is read. close() stops the timer and unregisters the counter.
 */
export class LogToMetricFilter extends MatchedFilter {
  readonly type = "logToMetric";
  readonly metric: string;
  private readonly counter: Counter<string>;
  private readonly labelNames: readonly string[];
  private readonly values: readonly LabelValue[];
  private readonly series = new Map<string, Series>();
  private readonly maxSeries: number;
  private readonly expireMs: number;
  private readonly sweepMs: number;
  private readonly metrics: FilterMetrics;
  private readonly registry: Registry;
  private readonly timer: NodeJS.Timeout;
  private readonly scratch: string[];
  private nextSweep = -Infinity;
  private seriesDropped = 0;

  constructor(config: LogToMetricConfig, ctx: FilterContext) {
    super(config, ctx);
    this.metric = checkMetricName(config.metric, `${ctx.key}.metric`, ctx.registry);
    const labels = labelsOf(config.labels, `${ctx.key}.labels`);
    this.labelNames = labels.map((l) => l.name);
    this.values = labels.map((l) => l.value);
    this.scratch = new Array<string>(labels.length).fill("");
    this.maxSeries = config.maxSeries;
    this.expireMs = config.expireAfter * 1000;
    this.sweepMs = Math.min(Math.max(this.expireMs / 4, 1000), 60_000);
    this.metrics = ctx.metrics;
    this.registry = ctx.registry;
    this.counter = new Counter({
      name: this.metric,
      help: config.help || "Log lines counted by the logToMetric filter.",
      labelNames: this.labelNames,
      registers: [ctx.registry],
      collect: () => this.flush(),
    });
    this.metrics.series.set({ metric: this.metric }, 0);
    this.timer = setInterval(() => this.expire(ctx.clock()), this.sweepMs);
    this.timer.unref();
  }

  protected run(record: LogRecord, now: number): LogRecord {
    if (now >= this.nextSweep) this.expire(now);
    const values = this.scratch;
    let key = "";
    for (let i = 0; i < values.length; i++) {
      values[i] = this.values[i](record);
      key = i === 0 ? values[i] : `${key}\u0000${values[i]}`;
    }
    let series = this.series.get(key);
    if (series === undefined) {
      if (this.series.size >= this.maxSeries) {
        this.seriesDropped++;
        return record;
      }
      const labels: Record<string, string> = {};
      for (let i = 0; i < values.length; i++) labels[this.labelNames[i]] = values[i];
      series = { labels, pending: 0, last: now };
      this.series.set(key, series);
      this.metrics.series.set({ metric: this.metric }, this.series.size);
    }
    series.pending++;
    if (now > series.last) series.last = now;
    this.counts.counted++;
    return record;
  }

  /** Moves the counts to the counter (and the series-dropped counter). */
  flush(): void {
    for (const s of this.series.values()) {
      if (s.pending === 0) continue;
      this.counter.inc(s.labels, s.pending);
      s.pending = 0;
    }
    if (this.seriesDropped > 0) {
      this.metrics.seriesDropped.inc({ metric: this.metric }, this.seriesDropped);
      this.seriesDropped = 0;
    }
  }

  /** Removes the label sets not counted for expireAfter. */
  expire(now: number): void {
    this.nextSweep = now + this.sweepMs;
    let removed = false;
    for (const [key, s] of this.series) {
      if (now - s.last < this.expireMs) continue;
      this.series.delete(key);
      this.counter.remove(s.labels);
      removed = true;
    }
    if (removed) this.metrics.series.set({ metric: this.metric }, this.series.size);
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
    this.registry.removeSingleMetric(this.metric);
    this.metrics.series.remove({ metric: this.metric });
  }
}

function checkMetricName(name: string, key: string, registry: Registry): string {
  if (name === "") throw new ConfigError(key, "is required: the name of the counter, e.g. app_errors_total");
  if (!METRIC_NAME.test(name))
    throw new ConfigError(key, `${show(name)} is not a Prometheus metric name; allowed: [a-zA-Z_:][a-zA-Z0-9_:]*`);
  const reserved = RESERVED_PREFIXES.find((p) => name.startsWith(p));
  if (reserved !== undefined)
    throw new ConfigError(key, `${show(name)} starts with ${reserved}, which nodetap's own metrics use; choose another name`);
  if (registry.getSingleMetric(name) !== undefined) {
    throw new ConfigError(key, `${show(name)} is a metric already (another logToMetric filter's); metric names must be unique`);
  }
  return name;
}

function labelsOf(labels: readonly string[], key: string): Array<{ name: string; value: LabelValue }> {
  const out: Array<{ name: string; value: LabelValue }> = [];
  for (const label of labels) {
    let name: string;
    let value: LabelValue;
    if (label.startsWith("field.")) {
      const attribute = label.slice("field.".length);
      if (attribute === "") throw new ConfigError(key, `${show(label)} names no attribute; allowed: field.<attribute>`);
      name = attribute.replace(/[^a-zA-Z0-9_]/g, "_");
      if (/^[0-9]/.test(name)) name = `_${name}`;
      if (name.startsWith("__")) throw new ConfigError(key, `${show(label)} makes the label ${name}; names starting with __ are reserved`);
      value = (r) => attributeOf(r.attributes, attribute) ?? "";
    } else if (Object.hasOwn(BUILTIN_LABELS, label)) {
      name = label;
      value = BUILTIN_LABELS[label];
    } else {
      throw new ConfigError(key, `${show(label)} is not a label; allowed: ${Object.keys(BUILTIN_LABELS).join(", ")} or field.<attribute>`);
    }
    if (out.some((l) => l.name === name))
      throw new ConfigError(key, `${show(label)} makes the label ${name} twice; label names must be unique`);
    out.push({ name, value });
  }
  return out;
}
