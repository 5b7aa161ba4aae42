import { ConfigError } from "../../config/errors.js";
import { show } from "../../config/values.js";
import type { LogRecord } from "../record.js";
import { attributeOf, copyAttributes, setAttribute, withAttributes, type Attributes } from "./attributes.js";
import type { FilterContext } from "./filter.js";
import { MatchedFilter } from "./filter.js";
import type { FilterConfig } from "./schema.js";
import { normalizeSeverity, SEVERITY_NAMES } from "./severity.js";

type FieldsConfig = Extract<FilterConfig, { type: "fields" }>;

/**
 * Renames, then removes, then sets attributes. A record none of it changes goes on as the same
 * object. The attribute `severity` holds a normalized level: a value set there must be a level
 * (config error otherwise), and a renamed value that spells a level is normalized.
 */
export class FieldsFilter extends MatchedFilter {
  readonly type = "fields";
  private readonly rename: ReadonlyArray<readonly [string, string]>;
  private readonly remove: readonly string[];
  private readonly add: ReadonlyArray<readonly [string, string]>;

  constructor(config: FieldsConfig, ctx: FilterContext) {
    super(config, ctx);
    this.rename = Object.entries(config.rename).filter(([from, to]) => from !== to);
    for (const [from, to] of this.rename) {
      if (to === "") throw new ConfigError(`${ctx.key}.rename.${from}`, "is empty; allowed: the attribute's new name");
    }
    this.remove = [...config.remove];
    this.add = Object.entries(config.add).map(([name, value]) => {
      if (name !== "severity") return [name, value] as const;
      const level = normalizeSeverity(value);
      if (level === undefined) {
        throw new ConfigError(
          `${ctx.key}.add.severity`,
          `${show(value)} is not a level; allowed: ${SEVERITY_NAMES.join(", ")} (or a common spelling of one)`,
        );
      }
      return [name, level] as const;
    });
  }

  protected run(record: LogRecord): LogRecord {
    const original = record.attributes;
    let out: Attributes | undefined;
    for (const [from, to] of this.rename) {
      const value = attributeOf(out ?? original, from);
      if (value === undefined) continue;
      out ??= copyAttributes(original);
      delete out[from];
      setAttribute(out, to, to === "severity" ? (normalizeSeverity(value) ?? value) : value);
    }
    for (const name of this.remove) {
      if (attributeOf(out ?? original, name) === undefined) continue;
      out ??= copyAttributes(original);
      delete out[name];
    }
    for (const [name, value] of this.add) {
      if (attributeOf(out ?? original, name) === value) continue;
      out ??= copyAttributes(original);
      setAttribute(out, name, value);
    }
    return out === undefined ? record : withAttributes(record, out);
  }
}
