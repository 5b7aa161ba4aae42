import { CollectorError } from "../collector.js";
import { parseGoFloat } from "../parsers/go-float.js";
import { parseUint } from "../parsers/numbers.js";
import { goTrimSpace } from "../sysfs-go-text.js";
import { floatToUint64, goFields, goScanLines } from "../parsers/go-text.js";

/**
 * procfs's bcachefs parsers (bcachefs/get.go), on file contents: each returns what procfs's
 * function returns and throws a CollectorError naming the file where it returns an error.
 * Duplicate keys keep the last value, as procfs's maps do.
 */

/** procfs gives the compression_stats and btree_write_stats scanners a 1 MiB token limit. */
const LARGE_TOKEN = 1024 * 1024;

const MULTIPLIERS: Readonly<Record<string, number>> = {
  k: 2 ** 10,
  K: 2 ** 10,
  m: 2 ** 20,
  M: 2 ** 20,
  g: 2 ** 30,
  G: 2 ** 30,
  t: 2 ** 40,
  T: 2 ** 40,
  p: 2 ** 50,
  P: 2 ** 50,
  e: 2 ** 60,
  E: 2 ** 60,
};

/** ParseUint(s, 10, 64) as a float; CollectorError naming `what` otherwise. */
export function goUint(text: string, what: string): number {
  const value = parseUint(text);
  if (Number.isNaN(value))
    throw new CollectorError(`${what}: strconv.ParseUint: parsing ${JSON.stringify(text.slice(0, 40))}: invalid syntax`);
  return value;
}

/** procfs's parseHumanReadableBytes: "2.05G" -> 2201170739, "720" -> 720 (binary multipliers, truncated). */
export function parseHumanReadableBytes(text: string, what = "bcachefs size"): number {
  let s = goTrimSpace(text);
  if (s === "") throw new CollectorError(`${what}: empty string`);
  const multiplier = MULTIPLIERS[s[s.length - 1]] ?? 1;
  if (multiplier !== 1) s = s.slice(0, -1);
  const number = goTrimSpace(s);
  const value = parseGoFloat(number);
  if (value === undefined)
    throw new CollectorError(`${what}: strconv.ParseFloat: parsing ${JSON.stringify(number.slice(0, 40))}: invalid syntax`);
  return floatToUint64(value * multiplier, what, text);
}

export interface CompressionStats {
  readonly compressedBytes: number;
  readonly uncompressedBytes: number;
}

/** compression_stats: a header line, then "<algorithm> <compressed> <uncompressed> [<average extent size>]". */
export function parseCompressionStats(text: string, what = "compression_stats"): Map<string, CompressionStats> {
  const stats = new Map<string, CompressionStats>();
  goScanLines(text, what, LARGE_TOKEN).forEach((line, i) => {
    if (i === 0) return;
    const fields = goFields(line);
    if (fields.length < 3) return;
    const algorithm = fields[0].endsWith(":") ? fields[0].slice(0, -1) : fields[0];
    const compressedBytes = parseHumanReadableBytes(fields[1], what);
    const uncompressedBytes = parseHumanReadableBytes(fields[2], what);
    if (fields.length >= 4) parseHumanReadableBytes(fields[3], what);
    stats.set(algorithm, { compressedBytes, uncompressedBytes });
  });
  return stats;
}

/** errors: "<error type> <count> [<timestamp>]" lines; shorter lines skipped. */
export function parseErrors(text: string, what = "errors"): Map<string, number> {
  const stats = new Map<string, number>();
  for (const line of goScanLines(text, what)) {
    const fields = goFields(line);
    if (fields.length < 2) continue;
    const count = goUint(fields[1], what);
    if (fields.length >= 3) goUint(fields[2], what);
    stats.set(fields[0], count);
  }
  return stats;
}

export interface CounterStats {
  readonly sinceMount: number;
  readonly sinceFilesystemCreation: number;
}

/** counters/<name>: "since mount:" and "since filesystem creation:" values; a file with neither is an error. */
export function parseCounterFile(text: string, what = "counter"): CounterStats {
  let sinceMount: number | undefined;
  let sinceFilesystemCreation: number | undefined;
  for (const line of goScanLines(text, what)) {
    if (line.startsWith("since mount:")) sinceMount = parseHumanReadableBytes(line.slice("since mount:".length), what);
    else if (line.startsWith("since filesystem creation:"))
      sinceFilesystemCreation = parseHumanReadableBytes(line.slice("since filesystem creation:".length), what);
  }
  if (sinceMount === undefined && sinceFilesystemCreation === undefined)
    throw new CollectorError(`${what}: counter file format not recognized`);
  return { sinceMount: sinceMount ?? 0, sinceFilesystemCreation: sinceFilesystemCreation ?? 0 };
}

export interface BtreeWriteStats {
  readonly count: number;
  readonly sizeBytes: number;
}

/** btree_write_stats: a header line, then "<type>: <count> <average size>". */
export function parseBtreeWriteStats(text: string, what = "btree_write_stats"): Map<string, BtreeWriteStats> {
  const stats = new Map<string, BtreeWriteStats>();
  goScanLines(text, what, LARGE_TOKEN).forEach((line, i) => {
    if (i === 0) return;
    const fields = goFields(line);
    if (fields.length < 3) return;
    const type = fields[0].endsWith(":") ? fields[0].slice(0, -1) : fields[0];
    const count = goUint(fields[1], what);
    const sizeBytes = parseHumanReadableBytes(fields[2], what);
    stats.set(type, { count, sizeBytes });
  });
  return stats;
}

/** "key: value" split at the first colon, both sides trimmed; undefined without a colon. */
function keyValue(line: string): [string, string] | undefined {
  const colon = line.indexOf(":");
  if (colon < 0) return undefined;
  return [goTrimSpace(line.slice(0, colon)), goTrimSpace(line.slice(colon + 1))];
}

/** dev-N/io_done: "read:" and "write:" sections of "<data type>: <bytes>" lines. */
export function parseDeviceIODone(text: string, what = "io_done"): Map<string, Map<string, number>> {
  const stats = new Map<string, Map<string, number>>();
  let current: Map<string, number> | undefined;
  for (const raw of goScanLines(text, what)) {
    const line = goTrimSpace(raw);
    if (line === "") continue;
    if (line === "read:" || line === "write:") {
      const op = line.slice(0, -1);
      current = stats.get(op);
      if (current === undefined) stats.set(op, (current = new Map()));
      continue;
    }
    if (current === undefined) continue;
    const kv = keyValue(line);
    if (kv === undefined) continue;
    current.set(kv[0], goUint(kv[1], what));
  }
  return stats;
}

/** dev-N/io_errors: the "<type>: <count>" lines of the "IO errors since filesystem creation" section. */
export function parseDeviceIOErrors(text: string, what = "io_errors"): Map<string, number> {
  const stats = new Map<string, number>();
  let inCreationSection = false;
  for (const line of goScanLines(text, what)) {
    if (line.startsWith("IO errors since filesystem creation")) {
      inCreationSection = true;
      continue;
    }
    if (line.startsWith("IO errors since ")) break;
    if (!inCreationSection) continue;
    const trimmed = goTrimSpace(line);
    if (trimmed === "") continue;
    const kv = keyValue(trimmed);
    if (kv === undefined) continue;
    stats.set(kv[0], goUint(kv[1], what));
  }
  return stats;
}
