/**
 * Allocation-light tokenizing for kernel pseudo-files, with the semantics the Go parsers use
 * (strings.Fields, strconv.ParseUint/ParseFloat) but without regular expressions on the hot path.
 */

function isSpace(code: number): boolean {
  // space, \t, \n, \v, \f, \r: the ASCII whitespace strings.Fields splits on.
  return code === 32 || (code >= 9 && code <= 13);
}

/** Splits on runs of ASCII whitespace and drops empty fields, like Go's strings.Fields. */
export function splitFields(line: string): string[] {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && !isSpace(line.charCodeAt(i))) i++;
    out.push(line.slice(start, i));
  }
  return out;
}

/** The first whitespace-separated field of a line ("" when the line is blank). */
export function firstField(line: string): string {
  const n = line.length;
  let i = 0;
  while (i < n && isSpace(line.charCodeAt(i))) i++;
  const start = i;
  while (i < n && !isSpace(line.charCodeAt(i))) i++;
  return line.slice(start, i);
}

/** Lines of a file; a trailing newline does not produce an empty last line. */
export function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * `text` as a JSON string for an error message, cut to its first `maxLength` characters (then
 * "..." inside the quotes) so a corrupt file cannot make the message huge.
 */
export function quoteExcerpt(text: string, maxLength = 40): string {
  return JSON.stringify(text.length > maxLength ? `${text.slice(0, maxLength)}...` : text);
}

/** An unsigned decimal integer ("0".."18446744073709551615" as a float); NaN for anything else. */
export function parseUnsigned(text: string): number {
  const n = text.length;
  if (n === 0 || n > 20) return NaN;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
  }
  return Number(text);
}

/** An unsigned hexadecimal integer without prefix (softnet_stat columns); NaN for anything else. */
export function parseHex(text: string): number {
  const n = text.length;
  if (n === 0 || n > 16) return NaN;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i) | 0x20;
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return NaN;
  }
  return parseInt(text, 16);
}

/** A plain decimal number such as "0.21", "-3" or "799.998" (no hex, no Infinity); NaN otherwise. */
export function parseDecimal(text: string): number {
  const n = text.length;
  if (n === 0 || n > 64) return NaN;
  let i = text.charCodeAt(0) === 45 || text.charCodeAt(0) === 43 ? 1 : 0;
  let digits = 0;
  let dots = 0;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && dots === 0) dots++;
    else if ((c === 101 || c === 69) && digits > 0) return Number.isFinite(Number(text)) ? Number(text) : NaN;
    else return NaN;
  }
  return digits > 0 ? Number(text) : NaN;
}
