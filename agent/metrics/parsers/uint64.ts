import { isGoSpace } from "./go-text.js";
/**
 * Exact unsigned 64-bit parsing for sysfs class attributes, as procfs does it: Go's
 * strconv.ParseUint with base 10 (nvme namespace sizes) or base 0 (fc_host and scsi_tape
 * statistics, printed as "0x1f"). The value is a bigint because callers need what a float loses:
 * procfs multiplies block counts in uint64 arithmetic, and node_exporter leaves out a Fibre
 * Channel counter that is exactly 2^64-1.
 */

const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * strconv.ParseUint(text, base, 64); undefined where Go returns an error (sign, empty, bad digit,
 * misplaced underscore, out of range). Base 0 takes the base from a 0x/0o/0b/0 prefix and allows
 * "_" between digits; base 10 allows digits only.
 */
export function parseUint64(text: string, base: 0 | 10): bigint | undefined {
  const n = text.length;
  if (n === 0) return undefined;
  if (base === 10) {
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
    }
    const value = BigInt(text);
    return value > MAX_UINT64 ? undefined : value;
  }
  let radix = 10;
  let i = 0;
  if (text.charCodeAt(0) === 48 /* 0 */ && n > 1) {
    const marker = text.charCodeAt(1) | 0x20;
    if (marker === 120 /* x */) radix = 16;
    else if (marker === 111 /* o */) radix = 8;
    else if (marker === 98 /* b */) radix = 2;
    i = radix === 10 ? 1 : 2;
    if (radix === 10) radix = 8;
  }
  // Go's underscoreOK: "_" only between digits, where a base prefix counts as a digit.
  let lastWasDigit = i > 0;
  let lastWasUnderscore = false;
  let digits = "";
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 95 /* _ */) {
      if (!lastWasDigit) return undefined;
      lastWasDigit = false;
      lastWasUnderscore = true;
      continue;
    }
    if (digitValue(c) >= radix) return undefined;
    lastWasDigit = true;
    lastWasUnderscore = false;
    digits += text[i];
  }
  if (lastWasUnderscore || digits === "") return undefined;
  const prefix = radix === 16 ? "0x" : radix === 8 ? "0o" : radix === 2 ? "0b" : "";
  const value = BigInt(prefix + digits);
  return value > MAX_UINT64 ? undefined : value;
}

/** uint64 multiplication as Go does it: the product modulo 2^64. */
export function mulUint64(a: bigint, b: bigint): bigint {
  return (a * b) & MAX_UINT64;
}

/** True for 2^64-1, the value Fibre Channel HBAs report for a counter they do not implement. */
export function isMaxUint64(value: bigint): boolean {
  return value === MAX_UINT64;
}

function digitValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 122) return lower - 87;
  return 99;
}

/** bytes.TrimSpace on decoded text (JavaScript's trim() also removes U+FEFF and keeps U+0085). */
export function goTrimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isGoSpace(text.charCodeAt(start))) start++;
  while (end > start && isGoSpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}
