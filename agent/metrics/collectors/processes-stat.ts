import { CollectorError } from "../collector.js";
import { parseIntAutoBase } from "../parsers/auto-base-int.js";
import { parseUint64 } from "../parsers/uint64.js";
import { isGoSpace } from "../parsers/go-text.js";

/**
 * /proc/<pid>/stat as procfs's Proc.Stat reads it: the comm between the first "(" and the last
 * ")", then, from two characters past that ")", fmt.Fscan of 42 values (state, then the numbers
 * up to cguest_time). Every value must scan, or procfs returns an error; the processes collector
 * keeps only the state and num_threads.
 */

/** The kinds of the values Fscan reads after the comm: s string, i int/int64, u uint/uint64 (all 64-bit). */
const FIELD_KINDS = "s" + "iiiii" + "uuuuuuu" + "iiiii" + "i" + "uui" + "u" + "uuuuuuuuuuuu" + "i" + "uuuu" + "ii";
const NUM_THREADS_FIELD = 17; // after state, ppid, pgrp, session, tty, tpgid, 7 uints, cutime, cstime, priority, nice

export interface PidStat {
  readonly state: string;
  readonly numThreads: number;
}

/** Digit classes of fmt's scanBasePrefix ("_" is accepted in every base; strconv judges it). */
const enum Digits {
  Binary = 2,
  Octal = 8,
  Decimal = 10,
  Hex = 16,
}

function inClass(c: number, digits: Digits): boolean {
  if (c === 95 /* _ */) return true;
  if (digits === Digits.Hex) return (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 102);
  return c >= 48 && c < 48 + digits;
}

/** A fmt scanner over one string: the subset of fmt.Fscan that %v of strings and integers uses. */
class GoScanner {
  private at = 0;
  constructor(private readonly text: string) {}

  /** SkipSpace with newlines as space (Fscan), then fail on end of input (io.ErrUnexpectedEOF). */
  private start(): void {
    const t = this.text;
    while (this.at < t.length && isGoSpace(t.charCodeAt(this.at))) this.at++;
    if (this.at >= t.length) throw new ScanError("unexpected EOF");
  }

  /** Consumes the next character when it is `a` or `b` (a letter in either case). */
  private accept(a: number, b = a): boolean {
    const c = this.text.charCodeAt(this.at);
    if (c === a || c === b) {
      this.at++;
      return true;
    }
    return false;
  }

  /** A string: the run of non-space characters. */
  word(): string {
    this.start();
    const from = this.at;
    while (this.at < this.text.length && !isGoSpace(this.text.charCodeAt(this.at))) this.at++;
    return this.text.slice(from, this.at);
  }

  /**
   * An integer: optional sign (signed kinds only), fmt's base prefix scan (0b, 0o, 0x, or a
   * leading 0 meaning octal), then the longest run of that base's digits and "_"; the token is
   * then parsed with strconv's base 0. The token may end mid-word: the rest is the next value.
   */
  integer(signed: boolean): number {
    this.start();
    const t = this.text;
    const from = this.at;
    if (signed) this.accept(43 /* + */, 45 /* - */);
    let digits = Digits.Decimal;
    let haveDigits = false;
    if (this.accept(48 /* 0 */)) {
      haveDigits = true;
      if (this.accept(98, 66 /* b B */)) digits = Digits.Binary;
      else if (this.accept(111, 79 /* o O */)) digits = Digits.Octal;
      else if (this.accept(120, 88 /* x X */)) digits = Digits.Hex;
      else digits = Digits.Octal;
    }
    const digitsFrom = this.at;
    while (this.at < t.length && inClass(t.charCodeAt(this.at), digits)) this.at++;
    if (!haveDigits && this.at === digitsFrom) throw new ScanError("expected integer");
    // The common token: "0", or up to 15 plain decimal digits (exact in a double).
    if (this.at === from + 1 && haveDigits) return 0;
    if (digits === Digits.Decimal && digitsFrom === from && this.at - from <= 15 && !t.slice(from, this.at).includes("_")) {
      return Number(t.slice(from, this.at));
    }
    const token = t.slice(from, this.at);
    if (signed) {
      const value = parseIntAutoBase(token);
      if (Number.isNaN(value)) throw new ScanError(`bad integer ${JSON.stringify(token.slice(0, 40))}`);
      return value;
    }
    const value = parseUint64(token, 0);
    if (value === undefined) throw new ScanError(`bad unsigned integer ${JSON.stringify(token.slice(0, 40))}`);
    return Number(value);
  }
}

class ScanError extends Error {}

/** Parses one stat file's text; CollectorError naming `file` where procfs returns an error. */
export function parsePidStat(text: string, file = "/proc/<pid>/stat"): PidStat {
  const l = text.indexOf("(");
  const r = text.lastIndexOf(")");
  if (l < 0 || r < 0) throw new CollectorError(`${file}: unexpected format, couldn't extract comm`);
  // Where Go's slicing would panic (")" before "(", nothing after ")"), fail instead.
  if (r < l || r + 2 > text.length) throw new CollectorError(`${file}: unexpected format after the comm`);
  const scanner = new GoScanner(text.slice(r + 2));
  let state = "";
  let numThreads = 0;
  try {
    for (let i = 0; i < FIELD_KINDS.length; i++) {
      const kind = FIELD_KINDS[i];
      if (kind === "s") state = scanner.word();
      else {
        const value = scanner.integer(kind === "i");
        if (i === NUM_THREADS_FIELD) numThreads = value;
      }
    }
  } catch (err) {
    if (err instanceof ScanError) throw new CollectorError(`${file}: ${err.message}`);
    throw err;
  }
  return { state, numThreads };
}
