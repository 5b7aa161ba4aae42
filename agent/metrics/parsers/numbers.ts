/**
 * Number parsing with the strictness of Go's strconv, which node_exporter and procfs use: kernel
 * text that Go would reject must not silently become a value here either. Each function returns
 * NaN for text Go would refuse, so callers decide whether that skips a line or fails the file.
 */

const UINT = /^\d+$/;
const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const MAX_UINT64 = 18446744073709551615n;
const MIN_INT64 = -9223372036854775808n;
const MAX_INT64 = 9223372036854775807n;

/** strconv.ParseUint(text, 10, 64) converted to float64; NaN if not a base-10 uint64. */
export function parseUint(text: string): number {
  if (!UINT.test(text)) return NaN;
  if (text.length < 16) return Number(text);
  const big = BigInt(text);
  return big > MAX_UINT64 ? NaN : Number(big);
}

/** strconv.ParseInt(text, 10, 64) converted to float64; NaN if not a base-10 int64. */
export function parseInt64(text: string): number {
  if (!INT.test(text)) return NaN;
  if (text.length < 16) return Number(text);
  const big = BigInt(text.replace(/^\+/, ""));
  return big > MAX_INT64 || big < MIN_INT64 ? NaN : Number(big);
}

/**
 * strconv.ParseUint(text, 16, 64) exactly, as a float64: hexadecimal digits only, so NaN for an
 * empty text, a "0x" prefix, a sign or an underscore.
 * For /proc/net/stat/* and /proc/net/ip_vs_stats counters.
 */
export function parseHexUint64(text: string): number {
  const n = text.length;
  if (n === 0) return NaN;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i) | 0x20;
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return NaN;
  }
  if (n <= 13) return parseInt(text, 16);
  const value = BigInt(`0x${text}`);
  return value > MAX_UINT64 ? NaN : Number(value);
}

/**
 * strconv.ParseFloat(text, 64): decimal and exponent forms, "inf"/"infinity"/"nan" in any case
 * with an optional sign. Hex floats are left out (the kernel does not print them).
 */
export function parseFloatGo(text: string): number {
  if (FLOAT.test(text)) return Number(text);
  const lower = text.toLowerCase();
  if (lower === "nan") return NaN;
  const unsigned = lower.replace(/^[+-]/, "");
  if (unsigned === "inf" || unsigned === "infinity") return lower.startsWith("-") ? -Infinity : Infinity;
  return NaN;
}

/** True when parseFloatGo would accept the text (NaN itself is a valid float). */
export function isGoFloat(text: string): boolean {
  if (FLOAT.test(text)) return true;
  const unsigned = text.toLowerCase().replace(/^[+-]/, "");
  return unsigned === "nan" || unsigned === "inf" || unsigned === "infinity";
}
