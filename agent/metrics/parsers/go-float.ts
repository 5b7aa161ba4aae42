/**
 * Go's float text conversions, as node_exporter applies them: strconv.ParseFloat(s, 64) for
 * values read from sysfs and .prom files, and client_golang's label formatting of `le`/`quantile`
 * bounds (strconv.FormatFloat(f, 'g', -1, 64)). Label values are compared as text by Prometheus,
 * so `1.6384e+06` must stay `1.6384e+06`, not JavaScript's `1638400`.
 */

const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_UNDERSCORE = 0x5f;
const CH_DOT = 0x2e;

function isDigit(c: number): boolean {
  return c >= CH_0 && c <= CH_9;
}

function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** "inf", "infinity" (any case, optional sign) and "nan" (any case, no sign); undefined otherwise. */
function parseSpecial(s: string): number | undefined {
  const first = s.charCodeAt(0);
  const signed = first === 0x2b || first === 0x2d;
  const letter = (signed ? s.charCodeAt(1) : first) | 0x20;
  if (letter !== 0x69 && letter !== 0x6e) return undefined; // neither i nor n: a number, without allocating
  const body = (signed ? s.slice(1) : s).toLowerCase();
  if (body === "inf" || body === "infinity") return first === 0x2d ? -Infinity : Infinity;
  if (!signed && body === "nan") return NaN;
  return undefined;
}

/**
 * Go's underscoreOK: an underscore may only sit between two digits (a base prefix counts as a
 * digit), never first, last or next to a sign, dot or exponent letter.
 */
function underscoresAllowed(s: string, hex: boolean): boolean {
  let i = s.charCodeAt(0) === 0x2b || s.charCodeAt(0) === 0x2d ? 1 : 0;
  let saw: "start" | "digit" | "underscore" | "other" = "start";
  if (hex) {
    i += 2;
    saw = "digit";
  }
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isDigit(c) || (hex && isHexDigit(c))) {
      saw = "digit";
    } else if (c === CH_UNDERSCORE) {
      if (saw !== "digit") return false;
      saw = "underscore";
    } else {
      if (saw === "underscore") return false;
      saw = "other";
    }
  }
  return saw !== "underscore";
}

/**
 * strconv.ParseFloat(s, 64): decimal and hexadecimal (0x1.8p3) forms, underscores between digits,
 * inf/infinity/nan. Returns undefined where Go returns an error, including overflow to ±Inf
 * (ErrRange); underflow gives 0 as in Go.
 */
export function parseGoFloat(s: string): number | undefined {
  const n = s.length;
  if (n === 0) return undefined;
  const special = parseSpecial(s);
  if (special !== undefined) return special;

  let i = 0;
  const first = s.charCodeAt(0);
  if (first === 0x2b || first === 0x2d) i++;
  const hex = i + 2 < n && s.charCodeAt(i) === CH_0 && (s.charCodeAt(i + 1) | 0x20) === 0x78;
  if (hex) i += 2;

  let digits = 0;
  let hexDigits = "";
  let fractionDigits = 0;
  let sawDot = false;
  let underscores = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === CH_UNDERSCORE) {
      underscores = true;
    } else if (c === CH_DOT) {
      if (sawDot) return undefined;
      sawDot = true;
    } else if (hex ? isHexDigit(c) : isDigit(c)) {
      digits++;
      if (hex) hexDigits += s[i];
      if (sawDot) fractionDigits++;
    } else {
      break;
    }
  }
  if (digits === 0) return undefined;

  let exponent = 0;
  const expChar = hex ? 0x70 : 0x65; // 'p' or 'e'
  if (i < n && (s.charCodeAt(i) | 0x20) === expChar) {
    i++;
    let expSign = 1;
    if (i < n && (s.charCodeAt(i) === 0x2b || s.charCodeAt(i) === 0x2d)) {
      if (s.charCodeAt(i) === 0x2d) expSign = -1;
      i++;
    }
    if (i >= n || !isDigit(s.charCodeAt(i))) return undefined;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === CH_UNDERSCORE) underscores = true;
      else if (isDigit(c)) exponent = exponent < 1e7 ? exponent * 10 + (c - CH_0) : exponent;
      else break;
    }
    exponent *= expSign;
  } else if (hex) {
    return undefined; // Go requires the p exponent on hexadecimal floats.
  }
  if (i !== n) return undefined;
  if (underscores && !underscoresAllowed(s, hex)) return undefined;

  let value: number;
  if (hex) {
    // Number(BigInt) rounds the mantissa to 53 bits; scaling by a power of two is then exact.
    const scale = exponent - 4 * fractionDigits;
    const half = Math.trunc(scale / 2); // two steps, so that 2^scale alone cannot under- or overflow
    const magnitude = Number(BigInt("0x" + hexDigits)) * Math.pow(2, half) * Math.pow(2, scale - half);
    value = first === 0x2d ? -magnitude : magnitude;
  } else {
    value = Number(underscores ? s.replace(/_/g, "") : s);
  }
  return Number.isFinite(value) ? value : undefined;
}

/**
 * client_golang's writeFloat for label values: `+Inf`, `-Inf`, `NaN`, and otherwise Go's
 * shortest 'g' format (exponent form from 1e+06 up and below 1e-04, two-digit exponents).
 */
export function formatGoFloat(x: number): string {
  if (x === 0) return "0";
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  const sign = x < 0 ? "-" : "";
  const [mantissa, expText] = Math.abs(x).toExponential().split("e");
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const absExp = Math.abs(exp);
    return `${sign}${mantissa}e${exp < 0 ? "-" : "+"}${absExp < 10 ? "0" : ""}${absExp}`;
  }
  const digits = mantissa.replace(".", "");
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return sign + digits + "0".repeat(exp + 1 - digits.length);
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}
