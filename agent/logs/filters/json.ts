import type { LogRecord } from "../record.js";
import type { FilterContext } from "./filter.js";
import { MatchedFilter } from "./filter.js";
import { FieldsCollector } from "./fields-collector.js";
import { overBytes } from "./line-size.js";
import type { FilterConfig } from "./schema.js";

type JsonConfig = Extract<FilterConfig, { type: "json" }>;

/**
 * Parses a message that is a JSON object into attributes (see FieldsCollector for the level,
 * time and message keys). Nested objects flatten to dotted names down to maxDepth; deeper
 * objects, arrays, numbers, booleans and null become their JSON text. A line that is not an
 * object, or not JSON, goes on unchanged (unparsed); one over maxBytes is not parsed at all
 * (too_large).
 *
 * Hostile lines: the size is checked before JSON.parse; JSON.parse builds own properties (a
 * `__proto__` key is data) and attributes are written as own properties; V8's JSON.parse does
 * not recurse, and a value nested too deep to write back as text (JSON.stringify overflows the
 * stack) makes the line unparsed.
 */
export class JsonFilter extends MatchedFilter {
  readonly type = "json";
  private readonly maxBytes: number;
  private readonly maxDepth: number;
  private readonly fields: FieldsCollector;

  constructor(config: JsonConfig, ctx: FilterContext) {
    super(config, ctx);
    this.maxBytes = config.maxBytes;
    this.maxDepth = config.maxDepth;
    this.fields = new FieldsCollector(config);
  }

  protected run(record: LogRecord): LogRecord {
    const line = record.message;
    if (!looksLikeObject(line)) {
      this.counts.unparsed++;
      return record;
    }
    if (overBytes(line, this.maxBytes)) {
      this.counts.tooLarge++;
      return record;
    }
    const fields = this.fields;
    fields.begin();
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        this.counts.unparsed++;
        return record;
      }
      this.flatten(value as Record<string, unknown>, "", 1);
    } catch (err) {
      // Not JSON, or nested too deep to write a value back as text; anything else is a bug.
      if (!(err instanceof SyntaxError) && !(err instanceof RangeError)) throw err;
      this.counts.unparsed++;
      return record;
    }
    this.counts.parsed++;
    if (fields.dropped > 0) this.counts.fieldsDropped += fields.dropped;
    return fields.finish(record);
  }

  private flatten(object: Record<string, unknown>, path: string, depth: number): void {
    const fields = this.fields;
    const keys = Object.keys(object);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const name = path === "" ? k : `${path}.${k}`;
      const v = object[k];
      if (typeof v === "string") {
        if (fields.wants(name)) fields.add(name, v, true);
      } else if (v !== null && typeof v === "object" && !Array.isArray(v) && depth < this.maxDepth && hasKeys(v)) {
        this.flatten(v as Record<string, unknown>, name, depth + 1);
      } else if (fields.wants(name)) {
        fields.add(name, jsonText(v), false);
      }
    }
  }
}

function hasKeys(object: object): boolean {
  for (const k in object) if (Object.hasOwn(object, k)) return true;
  return false;
}

/** A parsed JSON value as attribute text (JSON.stringify of anything JSON.parse made is a string). */
function jsonText(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v === null) return "null";
  return JSON.stringify(v);
}

/** First and last non-blank characters are `{` and `}`: cheap, and spares JSON.parse most plain lines. */
function looksLikeObject(line: string): boolean {
  let i = 0;
  let j = line.length - 1;
  while (i <= j && isBlank(line.charCodeAt(i))) i++;
  while (j > i && isBlank(line.charCodeAt(j))) j--;
  return j > i && line.charCodeAt(i) === 0x7b && line.charCodeAt(j) === 0x7d;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
