import { CollectorError } from "../collector.js";
import { MAX_SCAN_TOKEN, goFields, isGoSpace } from "../parsers/go-text.js";

/**
 * The parsers of the zfs collector (zfs.ts), after node_exporter's collector/zfs_linux.go: pure
 * functions from a kstat file's text to its values, passed to a callback in file order (as
 * node_exporter sends metrics while it scans, so what came before a malformed line is kept).
 * The kstat tables (hundreds of lines per scrape) are scanned in place, without a string per line
 * or regular expressions.
 */

// kstat data types (lib/libspl/include/sys/kstat.h) that node_exporter reads; the others are skipped.
const KSTAT_DATA_INT64 = "3";
const KSTAT_DATA_UINT64 = "4";

/**
 * bufio.Scanner with ScanLines over `text`, without copying lines out: onLine gets each line's
 * bounds (without "\n" and a trailing "\r") and its number from 1. A line of 64 KiB or more is
 * Go's ErrTooLong (CollectorError naming `file`).
 */
function scanLines(text: string, file: string, onLine: (start: number, end: number, lineNo: number) => void): void {
  const length = text.length;
  let start = 0;
  let lineNo = 0;
  while (start < length) {
    const newline = text.indexOf("\n", start);
    const next = newline === -1 ? length : newline + 1;
    let end = newline === -1 ? length : newline;
    lineNo++;
    if (end - start >= MAX_SCAN_TOKEN / 3 && Buffer.byteLength(text.slice(start, end)) >= MAX_SCAN_TOKEN) {
      throw new CollectorError(`${file}: line ${lineNo}: bufio.Scanner: token too long`);
    }
    if (end > start && text.charCodeAt(end - 1) === 13) end--;
    onLine(start, end, lineNo);
    start = next;
  }
}

/** Offsets of a line's first fields (start, end pairs), reused across lines: parsing runs on the main thread only. */
const fieldBounds = new Int32Array(6);

/**
 * strings.Fields on text[start, end) up to three fields: their bounds go to fieldBounds and the
 * count is returned, 4 standing for "more than three". No strings are made.
 */
function firstThreeFields(text: string, start: number, end: number): number {
  let count = 0;
  let i = start;
  while (i < end) {
    while (i < end && isGoSpace(text.charCodeAt(i))) i++;
    if (i >= end) break;
    if (count === 3) return 4;
    fieldBounds[2 * count] = i;
    while (i < end && !isGoSpace(text.charCodeAt(i))) i++;
    fieldBounds[2 * count + 1] = i;
    count++;
  }
  return count;
}

/** Field k (0-2) of the last firstThreeFields call. */
function field(text: string, k: number): string {
  return text.slice(fieldBounds[2 * k], fieldBounds[2 * k + 1]);
}

/**
 * The rows of a kstat file (procfs-style "name type data" table, as node_exporter scans it):
 * lines before the first line of exactly the three fields "name type data" are skipped; after it,
 * each line of at least three fields is a row (name, type, data: the first three fields).
 * Returns whether the header was found.
 */
function forEachKstatRow(
  text: string,
  file: string,
  onRow: (name: string, type: string, data: string, lineNo: number, lineStart: number, lineEnd: number) => void,
): boolean {
  let started = false;
  scanLines(text, file, (start, end, lineNo) => {
    const count = firstThreeFields(text, start, end);
    if (!started) {
      started = count === 3 && field(text, 0) === "name" && field(text, 1) === "type" && field(text, 2) === "data";
      return;
    }
    if (count >= 3) onRow(field(text, 0), field(text, 1), field(text, 2), lineNo, start, end);
  });
  return started;
}

const MAX_UINT64 = "18446744073709551615";
const MAX_INT64 = "9223372036854775807";
const MIN_INT64_MAGNITUDE = "9223372036854775808";

/** Whether `text` from `from` on is all ASCII digits (and at least one) and, without leading zeros, at most `max`. */
function digitsWithin(text: string, from: number, max: string): boolean {
  const n = text.length;
  if (from >= n) return false;
  for (let i = from; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  let i = from;
  while (i < n - 1 && text.charCodeAt(i) === 48) i++;
  const digits = n - i;
  return digits < max.length || (digits === max.length && text.slice(i) <= max);
}

/** strconv.ParseUint(text, 10, 64) as a float64; NaN where Go fails (sign, non-digit, empty, out of range). */
export function parseGoUint64(text: string): number {
  return digitsWithin(text, 0, MAX_UINT64) ? Number(text) : NaN;
}

/** strconv.ParseInt(text, 10, 64) as a float64 (an optional "+" or "-"); NaN where Go fails. */
export function parseGoInt64(text: string): number {
  const sign = text.charCodeAt(0);
  const negative = sign === 45; /* - */
  const from = negative || sign === 43 /* + */ ? 1 : 0;
  // "+ 0" so that "-0" is 0, as Go's int64 has no negative zero.
  return digitsWithin(text, from, negative ? MIN_INT64_MAGNITUDE : MAX_INT64) ? Number(text) + 0 : NaN;
}

function badValue(file: string, lineNo: number, name: string, text: string): CollectorError {
  return new CollectorError(`${file}: line ${lineNo}: ${name}: expected an integer, got ${JSON.stringify(text.slice(0, 40))}`);
}

/**
 * node_exporter's parseProcfsFile: after the "name type data" header, each line of at least three
 * fields whose type is 4 (uint64) or 3 (int64) gives (name, value); other types are skipped.
 * CollectorError when there is no header or a value is not an integer of its type.
 */
export function parseZfsKstat(text: string, file: string, emit: (name: string, value: number) => void): void {
  const found = forEachKstatRow(text, file, (name, type, data, lineNo) => {
    if (type !== KSTAT_DATA_UINT64 && type !== KSTAT_DATA_INT64) return;
    const value = type === KSTAT_DATA_UINT64 ? parseGoUint64(data) : parseGoInt64(data);
    if (Number.isNaN(value)) throw badValue(file, lineNo, name, data);
    emit(name, value);
  });
  if (!found) throw new CollectorError(`${file}: no "name type data" header`);
}

/**
 * node_exporter's parsePoolProcfsFile on <pool>/io: the first line of at least 12 fields starting
 * with "nread" names the columns; every later line gives one uint64 per column, (column, value).
 * No header: nothing (not an error). A row shorter than the header (where node_exporter panics)
 * or a value that is not a uint64 is a CollectorError.
 */
export function parseZpoolIo(text: string, file: string, emit: (column: string, value: number) => void): void {
  let columns: string[] | undefined;
  scanLines(text, file, (start, end, lineNo) => {
    const parts = goFields(text.slice(start, end));
    if (columns === undefined) {
      if (parts.length >= 12 && parts[0] === "nread") columns = parts;
      return;
    }
    if (parts.length < columns.length) {
      throw new CollectorError(`${file}: line ${lineNo}: ${parts.length} values for ${columns.length} columns`);
    }
    for (let i = 0; i < columns.length; i++) {
      const value = parseGoUint64(parts[i]);
      if (Number.isNaN(value)) throw badValue(file, lineNo, columns[i], parts[i]);
      emit(columns[i], value);
    }
  });
}

/**
 * node_exporter's parsePoolObjsetFile on <pool>/objset-*: after the "name type data" header, the
 * dataset_name line sets the labels (the pool, and the line's text from the first occurrence of
 * its third field on, so a name with spaces is kept whole); each later uint64 kstat gives
 * (name, value, zpool, dataset). Before a dataset_name line both labels are "", as in
 * node_exporter. CollectorError when there is no header or a uint64 value is malformed.
 */
export function parseZpoolObjset(
  text: string,
  file: string,
  pool: string,
  emit: (name: string, value: number, zpool: string, dataset: string) => void,
): void {
  let zpool = "";
  let dataset = "";
  const found = forEachKstatRow(text, file, (name, type, data, lineNo, lineStart, lineEnd) => {
    if (name === "dataset_name") {
      const line = text.slice(lineStart, lineEnd);
      zpool = pool;
      dataset = line.slice(line.indexOf(data));
      return;
    }
    if (type !== KSTAT_DATA_UINT64) return;
    const value = parseGoUint64(data);
    if (Number.isNaN(value)) throw badValue(file, lineNo, name, data);
    emit(name, value, zpool, dataset);
  });
  if (!found) throw new CollectorError(`${file}: no "name type data" header`);
}

/**
 * node_exporter's parsePoolStateFile: the first line, lower-cased ("" for an empty file, which
 * matches no state). A first line of 64 KiB or more fails as Go's scanner does.
 */
export function parseZpoolState(text: string, file: string): string {
  const newline = text.indexOf("\n");
  let line = newline === -1 ? text : text.slice(0, newline);
  if (line.length >= MAX_SCAN_TOKEN / 3 && Buffer.byteLength(line) >= MAX_SCAN_TOKEN) {
    throw new CollectorError(`${file}: line 1: bufio.Scanner: token too long`);
  }
  if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
  // Go's strings.ToLower maps U+0130 (İ) to a plain "i"; JavaScript gives "i" + U+0307.
  return line.replaceAll("\u0130", "i").toLowerCase();
}
