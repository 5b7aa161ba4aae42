import { CollectorError } from "../collector.js";
import { parseUnsigned, quoteExcerpt, splitFields } from "./text.js";

/**
 * Parsers for the diskstats collector: /proc/diskstats lines and udev database entries
 * (<udev data>/b<major>:<minor>), with procfs's and node_exporter's exact acceptance rules.
 */

export interface DiskstatsEntry {
  major: number;
  minor: number;
  device: string;
  /**
   * The kernel's counters in file order (reads completed, reads merged, sectors read, ms reading,
   * writes completed, ..., flush requests, ms flushing): 11 on old kernels, 15 with discards
   * (4.18+), 17 with flushes (5.5+). Never more than 17.
   */
  stats: number[];
}

/** procfs reads at most major, minor, name and 17 counters per line. */
const MAX_COUNTERS = 17;
/** Lines with fewer than these counters are not reported (procfs keeps lines with >= 14 fields). */
const MIN_COUNTERS = 11;
const MAX_UINT32 = 0xffffffff;

/**
 * Parses /proc/diskstats the way procfs's fmt.Sscanf does: a line is kept when it has at least
 * major, minor, name and 11 counters; shorter lines (blank, truncated) are skipped; a field
 * that is not an unsigned integer where one is expected makes the whole file unusable, as in
 * procfs, and throws CollectorError naming the line.
 */
export function parseDiskstats(text: string, source = "/proc/diskstats"): DiskstatsEntry[] {
  const entries: DiskstatsEntry[] = [];
  let lineStart = 0;
  let lineNumber = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    lineNumber++;
    const fields = splitFields(text.slice(lineStart, lineEnd));
    lineStart = lineEnd + 1;
    const entry = parseLine(fields, lineNumber, source);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

function parseLine(fields: string[], lineNumber: number, source: string): DiskstatsEntry | undefined {
  if (fields.length === 0) return undefined;
  const major = parseUnsigned(fields[0]);
  const minor = fields.length > 1 ? parseUnsigned(fields[1]) : 0;
  if (!(major <= MAX_UINT32) || !(minor <= MAX_UINT32)) {
    throw new CollectorError(
      `${source}: line ${lineNumber}: device number ${show(fields.slice(0, 2).join(" "))} is not an unsigned 32-bit integer`,
    );
  }
  const counterCount = Math.min(fields.length - 3, MAX_COUNTERS);
  const stats: number[] = [];
  for (let i = 0; i < counterCount; i++) {
    const value = parseUnsigned(fields[3 + i]);
    if (Number.isNaN(value)) {
      throw new CollectorError(`${source}: line ${lineNumber}: field ${4 + i} ${show(fields[3 + i])} is not an unsigned integer`);
    }
    stats.push(value);
  }
  if (counterCount < MIN_COUNTERS) return undefined;
  return { major, minor, device: fields[2], stats };
}

function show(text: string): string {
  return quoteExcerpt(text);
}

/** bufio.Scanner's default token limit: node_exporter stops reading a udev file at a longer line. */
const MAX_UDEV_LINE = 64 * 1024;

/**
 * The device properties (E:KEY=value lines) of a udev database entry, as node_exporter's
 * getUdevDeviceProperties reads them: other record types are ignored, a line without "=" is
 * skipped, a repeated key keeps its last value, and reading stops at a line over 64 KiB.
 */
export function parseUdevProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  let lineStart = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    if (lineEnd - lineStart >= MAX_UDEV_LINE) break;
    if (text.startsWith("E:", lineStart)) {
      let end = lineEnd;
      // bufio.ScanLines drops a trailing \r.
      if (end > lineStart && text.charCodeAt(end - 1) === 13) end--;
      const eq = text.indexOf("=", lineStart + 2);
      if (eq !== -1 && eq < end) properties.set(text.slice(lineStart + 2, eq), text.slice(eq + 1, end));
    }
    lineStart = lineEnd + 1;
  }
  return properties;
}
