import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { ConfigError } from "../../config/errors.js";
import { show } from "../../config/values.js";
import type { LogRecord } from "../record.js";
import { completeFilterConfig } from "./config.js";
import { FieldsFilter } from "./fields.js";
import type { FilterContext, LogFilter } from "./filter.js";
import { JsonFilter } from "./json.js";
import { LogToMetricFilter } from "./log-to-metric.js";
import { LogfmtFilter } from "./logfmt.js";
import { FilterCounts, FilterMetrics } from "./metrics.js";
import { RateLimitFilter } from "./rate-limit.js";
import { RegexFilter } from "./regex.js";
import type { FilterConfig } from "./schema.js";
import { DropFilter, KeepFilter, SeverityFilter } from "./select.js";

export interface FilterChainDeps {
  registry: Registry;
  logger: Logger;
  /** Wall-clock milliseconds for the filters' timers (logToMetric's expiry); Date.now by default. */
  clock?: () => number;
}

/**
 * logs.filters, compiled: each record goes through the filters in order, each filter acting
 * only on the records its match accepts. Built once (config problems are ConfigErrors naming
 * `${keyPrefix}[i].<field>`), then apply() runs on every line: a record no filter changes comes
 * back as the same object, with no allocation.
 *
 * A filter never stops the pipeline: an exception inside one (a bug) passes the record on
 * unchanged, counts outcome `error` and is logged once per filter.
 */
export class FilterChain {
  readonly length: number;
  private readonly filters: readonly LogFilter[];
  private readonly counts: readonly FilterCounts[];
  private readonly failureLogged: boolean[];
  private readonly metrics: FilterMetrics;
  private readonly logger: Logger;
  private readonly flush = () => {
    for (const c of this.counts) c.flush(this.metrics.records);
  };
  private closed = false;

  constructor(configs: readonly FilterConfig[], deps: FilterChainDeps, keyPrefix = "logs.filters") {
    this.metrics = FilterMetrics.of(deps.registry);
    this.logger = deps.logger;
    const filters: LogFilter[] = [];
    const counts: FilterCounts[] = [];
    const names = new Set<string>();
    try {
      configs.forEach((raw, index) => {
        const key = `${keyPrefix}[${index}]`;
        const config = completeFilterConfig(raw, key);
        const name = config.name !== "" ? config.name : `${config.type}-${index}`;
        if (names.has(name)) throw new ConfigError(`${key}.name`, `${show(name)} names an earlier filter too; filter names must be unique`);
        names.add(name);
        const ctx: FilterContext = {
          name,
          key,
          counts: new FilterCounts(name),
          metrics: this.metrics,
          registry: deps.registry,
          logger: deps.logger,
          clock: deps.clock ?? Date.now,
        };
        filters.push(createFilter(config, ctx));
        counts.push(ctx.counts);
      });
    } catch (err) {
      // What the filters built so far registered (logToMetric counters) is given back.
      for (const f of filters) f.close?.();
      throw err;
    }
    this.filters = filters;
    this.counts = counts;
    this.length = filters.length;
    this.failureLogged = filters.map(() => false);
    this.metrics.track(this.flush);
  }

  /** The record after every filter (maybe a new object), or null when a filter dropped it. */
  apply(record: LogRecord, now: number): LogRecord | null {
    const filters = this.filters;
    let r = record;
    for (let i = 0; i < filters.length; i++) {
      try {
        const out = filters[i].apply(r, now);
        if (out === null) return null;
        r = out;
      } catch (err) {
        this.failed(i, err);
      }
    }
    return r;
  }

  /** Stops the filters' timers, moves the last counts to the metrics and unregisters logToMetric counters. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.filters) f.close?.();
    this.metrics.untrack(this.flush);
  }

  private failed(index: number, err: unknown): void {
    this.counts[index].error++;
    if (this.failureLogged[index]) return;
    this.failureLogged[index] = true;
    const f = this.filters[index];
    this.logger.error(
      { filter: f.name, type: f.type, err },
      "log filter failed on a record; it passes records it fails on unchanged (logged once per filter)",
    );
  }
}

function createFilter(config: FilterConfig, ctx: FilterContext): LogFilter {
  switch (config.type) {
    case "drop":
      return new DropFilter(config, ctx);
    case "keep":
      return new KeepFilter(config, ctx);
    case "severity":
      return new SeverityFilter(config, ctx);
    case "json":
      return new JsonFilter(config, ctx);
    case "logfmt":
      return new LogfmtFilter(config, ctx);
    case "regex":
      return new RegexFilter(config, ctx);
    case "fields":
      return new FieldsFilter(config, ctx);
    case "rateLimit":
      return new RateLimitFilter(config, ctx);
    case "logToMetric":
      return new LogToMetricFilter(config, ctx);
  }
}
