import { normalizeRfc3339 } from "../time.js";

// A parsed line's time field -> LogRecord.time (RFC 3339 in UTC, nine fractional digits).

const EPOCH = /^(\d{1,20})(?:\.(\d{1,30}))?$/;

/** The latest time toISOString writes with a four-digit year (9999-12-31T23:59:59.999Z). */
const MAX_MS = 253402300799999n;

/**
 * Parses a time as logs write it: RFC 3339 / ISO 8601 with a UTC offset (a space between date
 * and time allowed), or a Unix epoch as a decimal number (JSON numbers arrive as their text)
 * whose unit follows from its magnitude: seconds below 1e11, milliseconds below 1e14,
 * microseconds below 1e17, nanoseconds above. Undefined when the text is no such time or is
 * outside the years 1970..9999.
 */
export function parseTimeValue(text: string): string | undefined {
  const n = text.length;
  if (n === 0 || n > 64) return undefined;
  const first = text.charCodeAt(0);
  if (first >= 0x30 && first <= 0x39 && n >= 20 && text.charCodeAt(4) === 0x2d) {
    const iso = text.charCodeAt(10) === 0x20 ? `${text.slice(0, 10)}T${text.slice(11)}` : text;
    // normalizeRfc3339 checks the shape; a month 13 or an hour 25 is not a time either.
    return inRange(iso) ? normalizeRfc3339(iso) : undefined;
  }
  return epochTime(text);
}

function epochTime(text: string): string | undefined {
  const m = EPOCH.exec(text);
  if (m === null) return undefined;
  const whole = BigInt(m[1]);
  // Nanoseconds per unit, and the digits of a fraction of that unit that are still nanoseconds.
  const [unit, digits] =
    whole < 100_000_000_000n
      ? [1_000_000_000n, 9]
      : whole < 100_000_000_000_000n
        ? [1_000_000n, 6]
        : whole < 100_000_000_000_000_000n
          ? [1_000n, 3]
          : [1n, 0];
  const fraction = digits === 0 || m[2] === undefined ? 0n : BigInt(m[2].slice(0, digits).padEnd(digits, "0"));
  const nanos = whole * unit + fraction;
  const ms = nanos / 1_000_000n;
  if (ms > MAX_MS) return undefined;
  const subMs = Number(nanos % 1_000_000n);
  return `${new Date(Number(ms)).toISOString().slice(0, 23)}${String(subMs).padStart(6, "0")}Z`;
}

/** Two digits at `at` as a number (meaningless when they are not digits; normalizeRfc3339 rejects such text anyway). */
function two(t: string, at: number): number {
  return (t.charCodeAt(at) - 0x30) * 10 + t.charCodeAt(at + 1) - 0x30;
}

/** Month, day, hour, minute and second of "YYYY-MM-DDTHH:MM:SS..." within their ranges (no leap second). */
function inRange(t: string): boolean {
  const month = two(t, 5);
  const day = two(t, 8);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && two(t, 11) <= 23 && two(t, 14) <= 59 && two(t, 17) <= 59;
}
