import { CollectorError } from "../collector.js";
import { parseGoFloat } from "./go-float.js";

/**
 * The token level of the Prometheus text format as expfmt's TextParser reads it: characters,
 * names (plain or quoted), label values and rest-of-line texts with their escapes, and the
 * number conversions it applies. prom-text.ts builds the grammar on top of it.
 */

/**
 * Go's uint64(float64) on amd64, which expfmt applies to summary/histogram counts: truncation,
 * negative values wrap around, NaN and values out of range give 2^63.
 */
export function goUint64(value: number): number {
  if (value >= 0 && value < 2 ** 64) return Math.trunc(value);
  if (value < 0 && value > -(2 ** 63)) return 2 ** 64 + Math.trunc(value);
  return 2 ** 63;
}

/** A value as expfmt's parseFloat reads it: strconv.ParseFloat without hex floats or underscores. */
export function parseTextFloat(text: string): number | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x70 || c === 0x50 || c === 0x5f) return undefined; // p P _
  }
  return parseGoFloat(text);
}

export const SPACE = 0x20;
export const TAB = 0x09;
export const NEWLINE = 0x0a;
export const HASH = 0x23;
export const LEFT_BRACE = 0x7b;
export const RIGHT_BRACE = 0x7d;
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const EQUALS = 0x3d;
export const COMMA = 0x2c;

export function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

export function isLetterOrUnderscore(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Legacy (pre-UTF-8) metric name: [a-zA-Z_:][a-zA-Z0-9_:]*. */
export function isLegacyMetricName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!(isLetterOrUnderscore(c) || c === 0x3a || (i > 0 && isDigit(c)))) return false;
  }
  return true;
}

/** Legacy label name: [a-zA-Z_][a-zA-Z0-9_]*. */
export function isLegacyLabelName(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!(isLetterOrUnderscore(c) || (i > 0 && isDigit(c)))) return false;
  }
  return true;
}

/** A position in the text, with expfmt's rule that the text may not end inside a line. */
export class TextScanner {
  protected pos = 0;
  protected line = 0;

  constructor(protected readonly text: string) {}

  protected fail(message: string): never {
    throw new CollectorError(`text format parsing error in line ${this.line}: ${message}`);
  }

  /** The current character; the input ending inside a line is an error, as in expfmt. */
  protected current(): number {
    if (this.pos >= this.text.length) this.fail("unexpected end of input stream");
    return this.text.charCodeAt(this.pos);
  }

  /** Characters up to the next blank or newline (which stays current). */
  protected readToken(): string {
    const { text } = this;
    const start = this.pos;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (isBlank(c) || c === NEWLINE) break;
      this.pos++;
    }
    return text.slice(start, this.pos);
  }

  protected skipBlanks(): void {
    const { text } = this;
    while (this.pos < text.length && isBlank(text.charCodeAt(this.pos))) this.pos++;
  }

  /** Ends the line when the current character is its newline. */
  protected atEndOfLine(): boolean {
    if (this.current() !== NEWLINE) return false;
    this.pos++;
    return true;
  }

  /**
   * expfmt's readTokenAsMetricName/readTokenAsLabelName: letters, digits, `_` (and `:` in metric
   * names), or a quoted name with escapes. Returns "" when the first character cannot start one.
   */
  protected readName(labelName: boolean): string {
    const { text } = this;
    const n = text.length;
    const first = text.charCodeAt(this.pos);
    if (!(isLetterOrUnderscore(first) || first === QUOTE || (!labelName && first === 0x3a))) return "";
    const start = this.pos;
    let i = start;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (!(isLetterOrUnderscore(c) || isDigit(c) || (!labelName && c === 0x3a))) break;
    }
    if (i >= n || text.charCodeAt(i) !== QUOTE) {
      this.pos = i;
      return text.slice(start, i);
    }
    return this.readQuotedName(labelName);
  }

  /** The slow path of readName, for names with quotes in them. */
  protected readQuotedName(labelName: boolean): string {
    const { text } = this;
    const n = text.length;
    const what = labelName ? "label name" : "metric name";
    let token = "";
    let quoted = false;
    let escaped = false;
    while (this.pos < n) {
      const c = text.charCodeAt(this.pos);
      if (escaped) {
        if (c === BACKSLASH) token += "\\";
        else if (c === 0x6e) token += "\n";
        else if (c === QUOTE)
          token += '\\"'; // sic: expfmt keeps the backslash here
        else this.fail(`invalid escape sequence '\\${text[this.pos]}'`);
        escaped = false;
      } else if (c === QUOTE) {
        quoted = !quoted;
        if (!quoted) {
          this.pos++;
          return token;
        }
      } else if (c === NEWLINE) {
        this.fail(`${what} ${JSON.stringify(token)} contains unescaped new-line`);
      } else if (c === BACKSLASH) {
        escaped = true;
      } else {
        token += text[this.pos];
      }
      this.pos++;
      if (this.pos >= n) break;
      const next = text.charCodeAt(this.pos);
      const continues = quoted || isLetterOrUnderscore(next) || isDigit(next) || next === QUOTE || (!labelName && next === 0x3a);
      if (!continues) break;
    }
    return token;
  }

  /** Reads a quoted label value (pos at the opening quote) and leaves pos after the closing one. */
  protected readLabelValue(): string {
    const { text } = this;
    const start = this.pos + 1;
    const close = text.indexOf('"', start);
    if (close >= 0) {
      const raw = text.slice(start, close);
      if (!raw.includes("\\") && !raw.includes("\n")) {
        this.pos = close + 1;
        return raw;
      }
    }
    let token = "";
    let escaped = false;
    for (this.pos = start; ; this.pos++) {
      const c = this.current();
      if (escaped) {
        if (c === QUOTE || c === BACKSLASH) token += text[this.pos];
        else if (c === 0x6e) token += "\n";
        else this.fail(`invalid escape sequence '\\${text[this.pos]}'`);
        escaped = false;
      } else if (c === QUOTE) {
        this.pos++;
        return token;
      } else if (c === NEWLINE) {
        this.fail(`label value ${JSON.stringify(token)} contains unescaped new-line`);
      } else if (c === BACKSLASH) {
        escaped = true;
      } else {
        token += text[this.pos];
      }
    }
  }

  /** The rest of the line (consuming its newline); with escapes, `\\`, `\n` and `\"` are decoded. */
  protected readRestOfLine(escapes: boolean): string {
    const { text } = this;
    const end = text.indexOf("\n", this.pos);
    if (end < 0) {
      this.pos = text.length;
      this.fail("unexpected end of input stream");
    }
    const raw = text.slice(this.pos, end);
    this.pos = end + 1;
    if (!escapes || !raw.includes("\\")) return raw;
    let out = "";
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (c !== "\\") {
        out += c;
        continue;
      }
      const next = i + 1 < raw.length ? raw[i + 1] : "\n";
      if (next === "\\" || next === '"') out += next;
      else if (next === "n") out += "\n";
      else this.fail(`invalid escape sequence '\\${next}'`);
      i++;
    }
    return out;
  }
}
