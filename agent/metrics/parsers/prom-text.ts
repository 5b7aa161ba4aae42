import { parseInt64 } from "./numbers.js";
import {
  COMMA,
  EQUALS,
  goUint64,
  HASH,
  isBlank,
  isLegacyLabelName,
  isLegacyMetricName,
  LEFT_BRACE,
  NEWLINE,
  parseTextFloat,
  QUOTE,
  RIGHT_BRACE,
  TextScanner,
} from "./prom-text-scanner.js";

/**
 * The Prometheus text exposition format (0.0.4) as prometheus/common's expfmt.TextParser reads it
 * for node_exporter's textfile collector, with the legacy name rules node_exporter asks for. What
 * that parser rejects, this one rejects too, as a CollectorError naming the line: node_exporter
 * drops the whole file then, so a file is either taken in full or not at all.
 *
 * Kept from expfmt on purpose: every line must end in a newline (the last one too); blanks after
 * the value mean a timestamp follows; `\r` is not whitespace; HELP text keeps its trailing
 * blanks; summaries and histograms are grouped by their labels (without quantile/le), wherever
 * their lines are in the file; a second HELP or TYPE line for a name is an error.
 */

export type PromTextType = "counter" | "gauge" | "untyped" | "summary" | "histogram";

/** One metric (one label set) of a family: a plain value, or the parts of a summary/histogram. */
export interface PromTextMetric {
  /** Label names and values as written, without quantile (summaries) and le (histograms). */
  readonly labelNames: string[];
  readonly labelValues: string[];
  /** The value of a counter, gauge or untyped metric. */
  value: number;
  /** Summary and histogram sample count (converted to uint64 as Go does) and sum; 0 when absent. */
  count: number;
  sum: number;
  /** Summary quantiles as [quantile, value], histogram buckets as [upper bound, cumulative count], in file order. */
  readonly quantiles?: Array<[number, number]>;
  readonly buckets?: Array<[number, number]>;
  timestampMs?: number;
}

export interface PromTextFamily {
  readonly name: string;
  /** undefined when the file has no HELP line for it (or only `# HELP name` with no text). */
  help: string | undefined;
  type: PromTextType;
  readonly metrics: PromTextMetric[];
}

export interface PromText {
  /** Families with at least one metric, in order of first appearance. */
  readonly families: PromTextFamily[];
  /** True when any sample carries a timestamp (node_exporter rejects such files). */
  readonly hasTimestamps: boolean;
}

export interface PromTextOptions {
  /**
   * The text was decoded from bytes that are not valid UTF-8, so U+FFFD in a label value stands
   * for invalid bytes, which expfmt rejects.
   */
  readonly invalidUtf8?: boolean;
}

export function parsePromText(text: string, options: PromTextOptions = {}): PromText {
  return new PromTextParser(text, options.invalidUtf8 === true).parse();
}

const TYPES = new Map<string, PromTextType | "gauge_histogram">([
  ["COUNTER", "counter"],
  ["GAUGE", "gauge"],
  ["UNTYPED", "untyped"],
  ["SUMMARY", "summary"],
  ["HISTOGRAM", "histogram"],
  ["GAUGE_HISTOGRAM", "gauge_histogram"],
]);

type FamilyState = Omit<PromTextFamily, "type"> & { type: PromTextType | "gauge_histogram" | undefined };

class PromTextParser extends TextScanner {
  private readonly families = new Map<string, FamilyState>();
  private family: FamilyState | undefined;
  /** The current line names a summary/histogram's _count or _sum. */
  private isCount = false;
  private isSum = false;
  /** Summary and histogram metrics by family and label set, as expfmt groups them. */
  private readonly grouped = new Map<string, PromTextMetric>();
  private hasTimestamps = false;

  constructor(
    text: string,
    private readonly invalidUtf8: boolean,
  ) {
    super(text);
  }

  parse(): PromText {
    const n = this.text.length;
    for (;;) {
      this.line++;
      this.skipBlanks();
      if (this.pos >= n) break;
      const c = this.text.charCodeAt(this.pos);
      if (c === NEWLINE) {
        this.pos++;
      } else if (c === HASH) {
        this.pos++;
        this.comment();
      } else {
        this.sample(c === LEFT_BRACE);
      }
    }
    const families: PromTextFamily[] = [];
    for (const f of this.families.values()) if (f.metrics.length > 0) families.push(f as PromTextFamily);
    return { families, hasTimestamps: this.hasTimestamps };
  }

  private comment(): void {
    this.skipBlanks();
    if (this.atEndOfLine()) return;
    const keyword = this.readToken();
    if (this.atEndOfLine()) return;
    if (keyword !== "HELP" && keyword !== "TYPE") {
      this.readRestOfLine(false); // any other comment
      return;
    }
    this.skipBlanks();
    this.current();
    const name = this.readName(false);
    if (this.atEndOfLine()) return;
    if (!isBlank(this.current())) this.fail("invalid metric name in comment");
    const family = this.selectFamily(name);
    this.skipBlanks();
    if (this.atEndOfLine()) return;
    if (keyword === "HELP") {
      if (family.help !== undefined) this.fail(`second HELP line for metric name ${JSON.stringify(family.name)}`);
      family.help = this.readRestOfLine(true);
    } else {
      if (family.type !== undefined)
        this.fail(`second TYPE line for metric name ${JSON.stringify(family.name)}, or TYPE reported after samples`);
      const typeText = this.readRestOfLine(false);
      const type = TYPES.get(typeText.toUpperCase());
      if (type === undefined) this.fail(`unknown metric type ${JSON.stringify(typeText)}`);
      family.type = type;
    }
  }

  private sample(nameInBraces: boolean): void {
    const labelNames: string[] = [];
    const labelValues: string[] = [];
    if (nameInBraces) {
      this.pos++;
      this.readLabels(true, labelNames, labelValues);
      if (this.family === undefined) this.fail("invalid metric name");
    } else {
      this.family = undefined;
      const name = this.readName(false);
      if (name === "" || !isLegacyMetricName(name))
        this.fail(name === "" ? "invalid metric name" : `invalid metric name ${JSON.stringify(name)}`);
      this.useFamilyForSample(name);
      if (isBlank(this.current())) this.skipBlanks();
      if (this.current() === LEFT_BRACE) {
        this.pos++;
        this.readLabels(false, labelNames, labelValues);
      }
    }
    this.readValue(labelNames, labelValues);
  }

  private useFamilyForSample(name: string): void {
    const family = this.selectFamily(name);
    family.type ??= "untyped";
  }

  /**
   * Reads `name="value", ...}` up to and past the closing brace and the blanks after it. In the
   * `{"name", label="v"}` form the metric name is the one entry without `=`.
   */
  private readLabels(nameInBraces: boolean, names: string[], values: string[]): void {
    if (nameInBraces) this.family = undefined;
    for (;;) {
      this.skipBlanks();
      if (this.current() === RIGHT_BRACE) break;
      const name = this.readName(true);
      if (name === "") this.fail(`invalid label name for metric ${JSON.stringify(this.family?.name ?? "")}`);
      if (isBlank(this.current())) this.skipBlanks();
      const c = this.current();
      if (c !== EQUALS) {
        if (!nameInBraces) this.fail(`expected '=' after label name, found ${JSON.stringify(String.fromCharCode(c))}`);
        if (c !== COMMA && c !== RIGHT_BRACE) this.fail(`unexpected end of metric value ${JSON.stringify(String.fromCharCode(c))}`);
        if (this.family !== undefined || !isLegacyMetricName(name)) this.fail(`invalid metric name ${JSON.stringify(name)}`);
        this.useFamilyForSample(name);
        if (c === RIGHT_BRACE) break;
        this.pos++;
        continue;
      }
      if (!isLegacyLabelName(name)) this.fail(`invalid label name ${JSON.stringify(name)}`);
      if (name === "__name__") this.fail(`label name "__name__" is reserved`);
      this.pos++;
      this.skipBlanks();
      if (this.current() !== QUOTE) this.fail(`expected '"' at start of label value, found ${JSON.stringify(this.text[this.pos])}`);
      const value = this.readLabelValue();
      if (this.invalidUtf8 && value.includes("\uFFFD")) this.fail(`invalid label value ${JSON.stringify(value)}`);
      names.push(name);
      values.push(value);
      this.skipBlanks();
      const next = this.current();
      if (next === RIGHT_BRACE) break;
      if (next !== COMMA) this.fail(`unexpected end of label value ${JSON.stringify(value)}`);
      this.pos++;
    }
    this.pos++; // the closing brace
    this.skipBlanks();
    this.current();
  }

  private readValue(names: string[], values: string[]): void {
    const family = this.family!;
    const type = family.type!;
    let special = NaN; // the quantile (summaries) or le (histograms) label's value
    if (type === "summary" || type === "histogram") {
      const specialName = type === "summary" ? "quantile" : "le";
      let i = names.indexOf(specialName);
      while (i >= 0) {
        const bound = parseTextFloat(values[i]);
        if (bound === undefined) this.fail(`expected float as value for '${specialName}' label, got ${JSON.stringify(values[i])}`);
        special = bound;
        names.splice(i, 1);
        values.splice(i, 1);
        i = names.indexOf(specialName);
      }
    }
    for (let i = 1; i < names.length; i++) {
      if (names.lastIndexOf(names[i], i - 1) >= 0) this.fail(`duplicate label names for metric ${JSON.stringify(family.name)}`);
    }
    const metric = this.metricFor(family, type, names, values);

    const token = this.readToken();
    const end = this.current();
    const value = parseTextFloat(token);
    if (value === undefined) this.fail(`expected float as value, got ${JSON.stringify(token)}`);
    switch (type) {
      case "counter":
      case "gauge":
      case "untyped":
        metric.value = value;
        break;
      case "summary":
        if (this.isCount) metric.count = goUint64(value);
        else if (this.isSum) metric.sum = value;
        else if (!Number.isNaN(special)) metric.quantiles!.push([special, value]);
        break;
      case "histogram":
        if (this.isCount) metric.count = goUint64(value);
        else if (this.isSum) metric.sum = value;
        else if (!Number.isNaN(special)) metric.buckets!.push([special, goUint64(value)]);
        break;
      default:
        this.fail(`unexpected type for metric name ${JSON.stringify(family.name)}`);
    }
    if (end === NEWLINE) this.pos++;
    else this.readTimestamp(metric);
  }

  private metricFor(family: FamilyState, type: string, names: string[], values: string[]): PromTextMetric {
    const grouped = type === "summary" || type === "histogram";
    let key = "";
    if (grouped) {
      const order = names.map((_, i) => i).sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
      key = family.name;
      for (const i of order) key += `\xff${names[i]}\xfe${values[i]}`;
      const known = this.grouped.get(key);
      if (known !== undefined) return known;
    }
    const metric: PromTextMetric = { labelNames: names, labelValues: values, value: 0, count: 0, sum: 0 };
    if (type === "summary") return this.keep(family, key, { ...metric, quantiles: [] });
    if (type === "histogram") return this.keep(family, key, { ...metric, buckets: [] });
    family.metrics.push(metric);
    return metric;
  }

  private keep(family: FamilyState, key: string, metric: PromTextMetric): PromTextMetric {
    this.grouped.set(key, metric);
    family.metrics.push(metric);
    return metric;
  }

  private readTimestamp(metric: PromTextMetric): void {
    this.skipBlanks();
    this.current();
    const token = this.readToken();
    this.current();
    const timestamp = parseInt64(token);
    if (Number.isNaN(timestamp)) this.fail(`expected integer as timestamp, got ${JSON.stringify(token)}`);
    metric.timestampMs = timestamp;
    this.hasTimestamps = true;
    const rest = this.readRestOfLine(false);
    if (rest.length > 0) this.fail(`spurious string after timestamp: ${JSON.stringify(rest)}`);
  }

  /** expfmt's setOrCreateCurrentMF: `x_count`/`x_sum`(/`x_bucket`) lines belong to summary/histogram `x`. */
  private selectFamily(name: string): FamilyState {
    this.isCount = false;
    this.isSum = false;
    let family = this.families.get(name);
    if (family === undefined) {
      const isCount = name.length > 6 && name.endsWith("_count");
      const isSum = !isCount && name.length > 4 && name.endsWith("_sum");
      const isBucket = !isCount && !isSum && name.length > 7 && name.endsWith("_bucket");
      const base = isCount ? name.slice(0, -6) : isSum ? name.slice(0, -4) : isBucket ? name.slice(0, -7) : name;
      const owner = base === name ? undefined : this.families.get(base);
      if (owner !== undefined && (owner.type === "histogram" || (owner.type === "summary" && !isBucket))) {
        this.isCount = isCount;
        this.isSum = isSum;
        family = owner;
      } else {
        family = { name, help: undefined, type: undefined, metrics: [] };
        this.families.set(name, family);
      }
    }
    this.family = family;
    return family;
  }
}
