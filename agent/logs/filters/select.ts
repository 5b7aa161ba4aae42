import type { LogRecord } from "../record.js";
import { compileMatch } from "./match.js";
import type { FilterContext, LogFilter } from "./filter.js";
import { MatchedFilter } from "./filter.js";
import type { FilterCounts } from "./metrics.js";
import type { FilterConfig } from "./schema.js";
import { severityOf, SEVERITY_NUMBERS } from "./severity.js";

// The filters that only decide whether a record goes on: drop, keep, severity.

/** Drops the records its match accepts (every record when match is empty). */
export class DropFilter extends MatchedFilter {
  readonly type = "drop";

  protected run(): null {
    this.counts.dropped++;
    return null;
  }
}

/** Drops the records its match does not accept (keeps every record when match is empty). */
export class KeepFilter implements LogFilter {
  readonly type = "keep";
  readonly name: string;
  private readonly counts: FilterCounts;
  private readonly match: ((record: LogRecord) => boolean) | undefined;

  constructor(config: Extract<FilterConfig, { type: "keep" }>, ctx: FilterContext) {
    this.name = ctx.name;
    this.counts = ctx.counts;
    this.match = compileMatch(config.match, `${ctx.key}.match`);
  }

  apply(record: LogRecord): LogRecord | null {
    if (this.match === undefined || this.match(record)) return record;
    this.counts.dropped++;
    return null;
  }
}

/** Drops records below minSeverity (by the attribute severity, or journald's priority); unknownSeverity decides for records without a level. */
export class SeverityFilter extends MatchedFilter {
  readonly type = "severity";
  private readonly min: number;
  private readonly keepUnknown: boolean;

  constructor(config: Extract<FilterConfig, { type: "severity" }>, ctx: FilterContext) {
    super(config, ctx);
    this.min = SEVERITY_NUMBERS[config.minSeverity];
    this.keepUnknown = config.unknownSeverity !== "drop";
  }

  protected run(record: LogRecord): LogRecord | null {
    const level = severityOf(record);
    if (level === undefined ? this.keepUnknown : level >= this.min) return record;
    this.counts.dropped++;
    return null;
  }
}
