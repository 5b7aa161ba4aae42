import { CollectorError } from "../collector.js";

/**
 * Go's text handling as procfs and node_exporter apply it to /proc and /sys files:
 * strings.Fields and bufio.ScanWords split on unicode.IsSpace, bufio.Scanner gives up on a line
 * (or word) of 64 KiB or more, os.ReadDir's byte-order sort, and float64 -> uint64 conversion.
 */

/** bufio.MaxScanTokenSize: a longer token fails the scan ("token too long"). */
export const MAX_SCAN_TOKEN = 64 * 1024;

/** unicode.IsSpace (the same set as fmt's isSpace). */
export function isGoSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 9 && c <= 13);
  if (c < 0x85) return false;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** strings.Fields: the runs of non-space characters. */
export function goFields(line: string): string[] {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    while (i < n && isGoSpace(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isGoSpace(line.charCodeAt(i))) i++;
    out.push(line.slice(start, i));
  }
  return out;
}

/** UTF-8 length of a token, computed only when it could reach the scanner's limit. */
function tooLong(token: string, maxToken = MAX_SCAN_TOKEN): boolean {
  return token.length >= maxToken / 3 && Buffer.byteLength(token) >= maxToken;
}

/**
 * bufio.Scanner with ScanLines: lines without their "\n" and a trailing "\r"; no empty last line
 * after a final newline. A line of `maxToken` bytes (default 64 KiB) or more is Go's ErrTooLong: CollectorError naming `file`.
 */
export function goScanLines(text: string, file: string, maxToken = MAX_SCAN_TOKEN): string[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (line.charCodeAt(line.length - 1) === 13) line = lines[i] = line.slice(0, -1);
    if (tooLong(line, maxToken)) throw new CollectorError(`${file}: line ${i + 1}: bufio.Scanner: token too long`);
  }
  return lines;
}

/** bufio.Scanner with ScanWords: the words of the text; a word of 64 KiB or more fails as in Go. */
export function goScanWords(text: string, file: string): string[] {
  const words = goFields(text);
  for (const word of words) if (tooLong(word)) throw new CollectorError(`${file}: bufio.Scanner: token too long`);
  return words;
}

/**
 * sort.Strings order (bytes of the UTF-8 names), which os.ReadDir and filepath.Glob return.
 * UTF-8 bytes and UTF-16 code units order code points alike except where a surrogate pair meets
 * U+E000..U+FFFF, so the plain sort is used unless a name has a character beyond U+FFFF.
 */
export function sortGoNames(names: string[]): string[] {
  if (!names.some((name) => /[\ud800-\udfff]/.test(name))) return names.sort();
  return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

const TWO_TO_64 = 2 ** 64;

/**
 * Go's uint64(f) for a parsed size: truncation toward zero. Where Go's result is left to the
 * platform (NaN, below -1 exclusive of the truncation to 0, 2^64 and above) this throws a
 * CollectorError instead of emitting amd64's arbitrary value.
 */
export function floatToUint64(value: number, what: string, text: string): number {
  if (Number.isNaN(value) || value <= -1 || value >= TWO_TO_64) {
    throw new CollectorError(`${what}: ${JSON.stringify(text.slice(0, 40))} is not a size in the uint64 range`);
  }
  return Math.trunc(value) + 0; // + 0 turns the -0 of (-1, 0) into 0
}
