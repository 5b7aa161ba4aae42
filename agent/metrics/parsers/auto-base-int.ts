/**
 * Go's strconv.ParseInt(text, 0, 64): the base comes from the prefix (0x hex, 0o or a leading 0
 * octal, 0b binary, otherwise decimal) and underscores may separate digits. procfs parses sysfs
 * attributes (/sys/class/net/<iface>/flags holds "0x1303") and sockstat values this way.
 */

const MAX_INT64 = 9223372036854775807n;
const MIN_INT64 = -9223372036854775808n;
/** Digits that fit exactly in a double whatever the base (2^53 > 16^13). */
const SAFE_DIGITS = 13;

/** The int64 value as a float64, or NaN where Go would return a syntax or range error. */
export function parseIntAutoBase(text: string): number {
  const n = text.length;
  if (n === 0) return NaN;
  let i = 0;
  let negative = false;
  const sign = text.charCodeAt(0);
  if (sign === 43 /* + */ || sign === 45 /* - */) {
    negative = sign === 45;
    i = 1;
  }
  let base = 10;
  let prefixed = false;
  if (i < n && text.charCodeAt(i) === 48 /* 0 */ && i + 1 < n) {
    const marker = text.charCodeAt(i + 1) | 0x20;
    if (marker === 120 /* x */) base = 16;
    else if (marker === 111 /* o */) base = 8;
    else if (marker === 98 /* b */) base = 2;
    if (base !== 10) {
      i += 2;
      prefixed = true;
    } else {
      base = 8;
      i += 1;
      prefixed = true;
    }
  }
  // Go's underscore rule: "_" only between digits (a base prefix counts as a digit).
  let lastWasDigit = prefixed;
  let lastWasUnderscore = false;
  let digits = "";
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 95 /* _ */) {
      if (!lastWasDigit) return NaN;
      lastWasDigit = false;
      lastWasUnderscore = true;
      continue;
    }
    if (digitValue(c) >= base) return NaN;
    lastWasDigit = true;
    lastWasUnderscore = false;
    digits += text[i];
  }
  if (lastWasUnderscore) return NaN;
  if (digits === "") return NaN; // "0x", "-", "+0b"
  if (digits.length <= SAFE_DIGITS) {
    const value = parseInt(digits, base);
    return negative && value !== 0 ? -value : value;
  }
  const radix = base === 16 ? "0x" : base === 8 ? "0o" : base === 2 ? "0b" : "";
  const big = negative ? -BigInt(radix + digits) : BigInt(radix + digits);
  return big > MAX_INT64 || big < MIN_INT64 ? NaN : Number(big);
}

function digitValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 122) return lower - 87;
  return 99;
}
