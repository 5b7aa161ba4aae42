/**
 * The time zone abbreviations that Go's time.Now().Zone() reports, from the POSIX TZ rule in
 * the footer of a TZif (zoneinfo) file, e.g. "CET-1CEST,M3.5.0,M10.5.0/3" or "<+03>-3".
 */

export interface PosixTz {
  /** Standard-time abbreviation ("CET", "+03"). */
  std: string;
  /** Offset east of UTC in seconds during standard time (POSIX offsets count west). */
  stdOffsetSeconds: number;
  /** Daylight-saving abbreviation, when the zone has one. */
  dst?: string;
}

/** Reads an abbreviation at `i`: <quoted> or 3+ letters. Returns [name, next index] or undefined. */
function readName(rule: string, i: number): [string, number] | undefined {
  if (rule[i] === "<") {
    const end = rule.indexOf(">", i);
    return end > i + 1 ? [rule.slice(i + 1, end), end + 1] : undefined;
  }
  let j = i;
  while (j < rule.length && /[A-Za-z]/.test(rule[j])) j++;
  return j - i >= 3 ? [rule.slice(i, j), j] : undefined;
}

/** Reads [+-]hh[:mm[:ss]] at `i` as seconds. */
function readOffset(rule: string, i: number): [number, number] | undefined {
  const match = /^([+-]?)(\d{1,3})(?::(\d{1,2}))?(?::(\d{1,2}))?/.exec(rule.slice(i));
  if (match === null) return undefined;
  const seconds = Number(match[2]) * 3600 + Number(match[3] ?? 0) * 60 + Number(match[4] ?? 0);
  return [match[1] === "-" ? -seconds : seconds, i + match[0].length];
}

/** Parses a POSIX TZ rule; undefined when it is not one. */
export function parsePosixTz(rule: string): PosixTz | undefined {
  const std = readName(rule, 0);
  if (std === undefined) return undefined;
  const offset = readOffset(rule, std[1]);
  if (offset === undefined) return undefined;
  const dst = readName(rule, offset[1]);
  return { std: std[0], stdOffsetSeconds: offset[0] === 0 ? 0 : -offset[0], dst: dst?.[0] };
}

/** The POSIX TZ rule in the footer of a TZif v2+ file ("\n<rule>\n" at its end), if any. */
export function tzifFooter(data: Buffer): string | undefined {
  if (data.length < 44 || data.toString("latin1", 0, 4) !== "TZif" || data[4] < 0x32) return undefined;
  if (data[data.length - 1] !== 0x0a) return undefined;
  const start = data.lastIndexOf(0x0a, data.length - 2);
  if (start === -1) return undefined;
  const rule = data.toString("latin1", start + 1, data.length - 1);
  return rule.length > 0 && rule.length < 128 ? rule : undefined;
}

/** The abbreviation in effect, given the current offset east of UTC. */
export function abbreviationAt(tz: PosixTz, offsetSeconds: number): string {
  return tz.dst !== undefined && offsetSeconds !== tz.stdOffsetSeconds ? tz.dst : tz.std;
}
