import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { LogRecord } from "../record.js";
import { compileMatch } from "./match.js";
import type { FilterCounts, FilterMetrics } from "./metrics.js";
import type { MatchConfig } from "./schema.js";

/** One configured filter. */
export interface LogFilter {
  readonly name: string;
  readonly type: string;
  /**
   * The record (maybe a new object), or null to drop it. Never throws on bad input; never
   * mutates its argument or its attributes object (attributes are shared/readonly: copy on write).
   */
  apply(record: LogRecord, now: number): LogRecord | null;
  /** Stops the filter's timers and gives back what it registered (logToMetric's counter). */
  close?(): void;
}

/** What a filter gets from the chain that builds it. */
export interface FilterContext {
  readonly name: string;
  /** The filter's config key, e.g. logs.filters[2]; problems are ConfigErrors on `${key}.<field>`. */
  readonly key: string;
  /** This filter's outcome counts (nodetap_log_filter_records_total{filter=name}). */
  readonly counts: FilterCounts;
  readonly metrics: FilterMetrics;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Wall-clock milliseconds, for timers (records carry their own `now`). */
  readonly clock: () => number;
}

/**
 * A filter that sees only the records its `match` accepts; the others pass it unchanged (the
 * same object, no work beyond the match).
 */
export abstract class MatchedFilter implements LogFilter {
  readonly name: string;
  abstract readonly type: string;
  protected readonly counts: FilterCounts;
  private readonly match: ((record: LogRecord) => boolean) | undefined;

  constructor(config: { match: MatchConfig }, ctx: FilterContext) {
    this.name = ctx.name;
    this.counts = ctx.counts;
    this.match = compileMatch(config.match, `${ctx.key}.match`);
  }

  apply(record: LogRecord, now: number): LogRecord | null {
    if (this.match !== undefined && !this.match(record)) return record;
    return this.run(record, now);
  }

  /** The filter's work on a record its match accepted. */
  protected abstract run(record: LogRecord, now: number): LogRecord | null;
}
