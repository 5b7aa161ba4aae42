import type { LogRecord } from "../record.js";
import type { FilterContext } from "./filter.js";
import { MatchedFilter } from "./filter.js";
import { FieldsCollector } from "./fields-collector.js";
import { overBytes } from "./line-size.js";
import type { FilterConfig } from "./schema.js";

type LogfmtConfig = Extract<FilterConfig, { type: "logfmt" }>;

/**
 * Parses logfmt lines (`level=info msg="a \"quoted\" text" took=3ms ok`) into attributes, the
 * level, time and message keys mapped as for json. A bare key is "true"; a line without one
 * key=value pair, with an unterminated quote, an empty key or a quote inside a key or a bare
 * value is unparsed and goes on unchanged.
 */
export class LogfmtFilter extends MatchedFilter {
  readonly type = "logfmt";
  private readonly maxBytes: number;
  private readonly fields: FieldsCollector;

  constructor(config: LogfmtConfig, ctx: FilterContext) {
    super(config, ctx);
    this.maxBytes = config.maxBytes;
    this.fields = new FieldsCollector(config);
  }

  protected run(record: LogRecord): LogRecord {
    const line = record.message;
    if (overBytes(line, this.maxBytes)) {
      this.counts.tooLarge++;
      return record;
    }
    this.fields.begin();
    if (!parseLogfmt(line, this.fields)) {
      this.counts.unparsed++;
      return record;
    }
    this.counts.parsed++;
    if (this.fields.dropped > 0) this.counts.fieldsDropped += this.fields.dropped;
    return this.fields.finish(record);
  }
}

const EQ = 0x3d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Where the parser sends pairs (FieldsCollector's wants/add). */
export interface PairSink {
  wants(key: string): boolean;
  add(key: string, value: string): void;
}

/** Parses a logfmt line into `sink`; false when it is not logfmt (the sink may hold part of it). */
export function parseLogfmt(line: string, sink: PairSink): boolean {
  const n = line.length;
  let pairs = 0;
  let i = 0;
  while (true) {
    while (i < n && line.charCodeAt(i) <= 0x20) i++;
    if (i >= n) break;
    const keyStart = i;
    let c = 0;
    while (i < n && (c = line.charCodeAt(i)) > 0x20 && c !== EQ) {
      if (c === QUOTE) return false;
      i++;
    }
    if (i === keyStart) return false; // "=value"
    const key = line.slice(keyStart, i);
    if (i >= n || c !== EQ) {
      if (sink.wants(key)) sink.add(key, "true");
      continue;
    }
    i++; // '='
    if (i < n && line.charCodeAt(i) === QUOTE) {
      const end = quotedEnd(line, i);
      if (end < 0) return false;
      if (end < n && line.charCodeAt(end) > 0x20) return false; // text right after the closing quote
      if (sink.wants(key)) sink.add(key, unquote(line, i + 1, end - 1));
      i = end;
    } else {
      const valueStart = i;
      while (i < n && (c = line.charCodeAt(i)) > 0x20) {
        if (c === QUOTE) return false;
        i++;
      }
      if (sink.wants(key)) sink.add(key, line.slice(valueStart, i));
    }
    pairs++;
  }
  return pairs > 0;
}

/** The index after the closing quote of the quoted text starting at `open`, or -1. */
function quotedEnd(line: string, open: number): number {
  let i = open + 1;
  while (true) {
    const q = line.indexOf('"', i);
    if (q < 0) return -1;
    let backslashes = 0;
    for (let b = q - 1; b > open && line.charCodeAt(b) === BACKSLASH; b--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    i = q + 1;
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '"': '"', "\\": "\\", "/": "/", n: "\n", r: "\r", t: "\t", b: "\b", f: "\f" };

/** The text between `start` and the closing quote at `end`, escapes resolved (an unknown one kept as written). */
function unquote(line: string, start: number, end: number): string {
  let b = line.indexOf("\\", start);
  if (b < 0 || b >= end) return line.slice(start, end);
  let out = "";
  let from = start;
  while (b >= 0 && b + 1 < end) {
    out += line.slice(from, b);
    const e = line[b + 1];
    const simple = Object.hasOwn(ESCAPES, e) ? ESCAPES[e] : undefined;
    if (simple !== undefined) {
      out += simple;
      from = b + 2;
    } else if (e === "u" && b + 6 <= end && HEX4.test(line.slice(b + 2, b + 6))) {
      out += String.fromCharCode(parseInt(line.slice(b + 2, b + 6), 16));
      from = b + 6;
    } else {
      out += line.slice(b, b + 2);
      from = b + 2;
    }
    b = line.indexOf("\\", from);
  }
  return out + line.slice(from, end);
}

const HEX4 = /^[0-9a-fA-F]{4}$/;
