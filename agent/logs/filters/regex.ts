import { ConfigError } from "../../config/errors.js";
import { compileGoRegex, show } from "../../config/values.js";
import type { LogRecord } from "../record.js";
import type { FilterContext } from "./filter.js";
import { MatchedFilter } from "./filter.js";
import { FieldsCollector } from "./fields-collector.js";
import type { FilterConfig } from "./schema.js";

type RegexConfig = Extract<FilterConfig, { type: "regex" }>;

/**
 * Matches the message against a regular expression with named groups; each group that took
 * part in the match becomes an attribute, the severity, time and message groups mapped as json
 * maps its keys. A message the pattern does not match goes on unchanged (unparsed).
 */
export class RegexFilter extends MatchedFilter {
  readonly type = "regex";
  private readonly re: RegExp;
  private readonly groups: readonly string[];
  private readonly fields: FieldsCollector;

  constructor(config: RegexConfig, ctx: FilterContext) {
    super(config, ctx);
    const { re, groups } = compilePattern(config.pattern, `${ctx.key}.pattern`);
    this.re = re;
    this.groups = groups;
    const only = (group: string) => (group === "" ? [] : [group]);
    this.fields = new FieldsCollector({
      severityKeys: only(config.severityGroup),
      timeKeys: only(config.timeGroup),
      messageKeys: only(config.messageGroup),
      prefix: "",
      maxFields: Number.MAX_SAFE_INTEGER,
    });
  }

  protected run(record: LogRecord): LogRecord {
    const m = this.re.exec(record.message);
    const found = m?.groups;
    if (found === undefined) {
      this.counts.unparsed++;
      return record;
    }
    const fields = this.fields;
    fields.begin();
    for (let i = 0; i < this.groups.length; i++) {
      const name = this.groups[i];
      const value = found[name];
      if (value !== undefined) fields.add(name, value);
    }
    this.counts.parsed++;
    return fields.finish(record);
  }
}

/** The pattern and its group names; ConfigError (on `key`) when it is empty, invalid or has no named group. */
export function compilePattern(pattern: string, key: string): { re: RegExp; groups: string[] } {
  if (pattern === "") throw new ConfigError(key, "is required: a regular expression with named groups, e.g. (?<level>\\w+) (?<message>.*)");
  let re: RegExp;
  try {
    re = compileGoRegex(pattern);
  } catch (err) {
    throw new ConfigError(key, `${show(pattern)} is not a valid regular expression: ${(err as Error).message}`);
  }
  // With an empty alternative the pattern matches "", and `groups` lists every named group.
  const probe = new RegExp(`(?:${re.source})|`, re.flags).exec("");
  const groups = Object.keys(probe?.groups ?? {});
  if (groups.length === 0) {
    throw new ConfigError(key, `${show(pattern)} has no named group; name what to keep, e.g. (?<level>\\w+) (?<message>.*)`);
  }
  return { re, groups };
}
