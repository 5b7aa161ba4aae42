/** RFC 3339 timestamps with nanoseconds, the one time format of LogRecord.time. */

const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:[.,](\d{1,9})\d*)?(Z|z|[+-]\d\d:?\d\d)$/;

/**
 * Normalizes an RFC 3339 time (as written by containerd, CRI-O and docker: Go's RFC3339Nano,
 * which drops trailing zeros, and may carry a UTC offset) to UTC with nine fractional digits.
 * Returns undefined when the text is not such a time.
 */
export function normalizeRfc3339(text: string): string | undefined {
  // Fast path, the common case: "YYYY-MM-DDTHH:MM:SS.<1-9 digits>Z" (Go's RFC3339Nano in UTC).
  const n = text.length;
  if (n >= 22 && n <= 30 && text.charCodeAt(n - 1) === 0x5a && text.charCodeAt(19) === 0x2e && hasDateShape(text)) {
    for (let i = 20; i < n - 1; i++) if (!isDigit(text.charCodeAt(i))) return undefined;
    return n === 30 ? text : `${text.slice(0, n - 1)}${"000000000".slice(n - 21)}Z`;
  }
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const fraction = (m[2] ?? "").padEnd(9, "0");
  const zone = m[3];
  if (zone === "Z" || zone === "z") return `${m[1]}.${fraction}Z`;
  const offset = zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const ms = Date.parse(`${m[1]}${offset}`);
  if (Number.isNaN(ms)) return undefined;
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** "YYYY-MM-DDTHH:MM:SS" with digits where digits belong. */
function hasDateShape(t: string): boolean {
  if (
    t.charCodeAt(4) !== 0x2d ||
    t.charCodeAt(7) !== 0x2d ||
    t.charCodeAt(10) !== 0x54 ||
    t.charCodeAt(13) !== 0x3a ||
    t.charCodeAt(16) !== 0x3a
  )
    return false;
  for (let k = 0; k < DATE_DIGITS.length; k++) if (!isDigit(t.charCodeAt(DATE_DIGITS[k]))) return false;
  return true;
}

const DATE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];

/** Formats epoch microseconds (journald's __REALTIME_TIMESTAMP) as RFC 3339 with nanoseconds. */
export function rfc3339FromMicros(micros: bigint): string {
  const ms = Number(micros / 1000n);
  const subMs = Number(micros % 1000n);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(subMs).padStart(3, "0")}000Z`;
}

/** The current time as RFC 3339 with nanoseconds (microsecond resolution from the monotonic clock). */
export function nowRfc3339(): string {
  const now = performance.timeOrigin + performance.now();
  const ms = Math.floor(now);
  const nanosInMs = Math.floor((now - ms) * 1e6);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(nanosInMs).padStart(6, "0")}Z`;
}
