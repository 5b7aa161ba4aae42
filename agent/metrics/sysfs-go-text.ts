/**
 * Go's text handling where the sysfs collectors (cpufreq, dmi, edac, rapl, watchdog) depend on it
 * byte for byte: strings.TrimSpace (which procfs's SysReadFile and node_exporter's
 * readUintFromFile apply before parsing) and strings.ToValidUTF8 (dmi label values).
 */

/** unicode.IsSpace: ASCII whitespace, U+0085, U+00A0 and the other White_Space runes; not U+FEFF (which String.trim removes). */
const GO_SPACE = "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const GO_TRIM = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, "g");

/** strings.TrimSpace. */
export function goTrimSpace(text: string): string {
  return text.replace(GO_TRIM, "");
}

/** Whether a code point is one bytes.TrimSpace removes. */
function isGoSpace(codePoint: number): boolean {
  if (codePoint <= 0x20) return codePoint === 0x20 || (codePoint >= 0x09 && codePoint <= 0x0d);
  return (
    codePoint === 0x85 ||
    codePoint === 0xa0 ||
    codePoint === 0x1680 ||
    (codePoint >= 0x2000 && codePoint <= 0x200a) ||
    codePoint === 0x2028 ||
    codePoint === 0x2029 ||
    codePoint === 0x202f ||
    codePoint === 0x205f ||
    codePoint === 0x3000
  );
}

/**
 * The rune at `at` the way utf8.DecodeRune reads it: its code point and width, or width 1 and
 * code point -1 for an invalid sequence (bad lead or continuation byte, overlong form, surrogate,
 * above U+10FFFF, or cut short).
 */
export function decodeGoRune(bytes: Uint8Array, at: number): { codePoint: number; width: number } {
  const b0 = bytes[at];
  if (b0 < 0x80) return { codePoint: b0, width: 1 };
  const invalid = { codePoint: -1, width: 1 };
  let width: number;
  let min: number;
  let codePoint: number;
  if (b0 >= 0xc2 && b0 <= 0xdf) [width, min, codePoint] = [2, 0x80, b0 & 0x1f];
  else if (b0 >= 0xe0 && b0 <= 0xef) [width, min, codePoint] = [3, 0x800, b0 & 0x0f];
  else if (b0 >= 0xf0 && b0 <= 0xf4) [width, min, codePoint] = [4, 0x10000, b0 & 0x07];
  else return invalid;
  if (at + width > bytes.length) return invalid;
  for (let k = 1; k < width; k++) {
    const b = bytes[at + k];
    if ((b & 0xc0) !== 0x80) return invalid;
    codePoint = (codePoint << 6) | (b & 0x3f);
  }
  if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return invalid;
  return { codePoint, width };
}

/** bytes.TrimSpace: leading and trailing whitespace runes removed; invalid bytes are kept. */
export function goTrimSpaceBytes(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length) {
    const rune = decodeGoRune(bytes, start);
    if (rune.codePoint < 0 || !isGoSpace(rune.codePoint)) break;
    start += rune.width;
  }
  let end = bytes.length;
  while (end > start) {
    // The last rune: step back over up to 3 continuation bytes to its lead byte.
    let lead = end - 1;
    while (lead > start && end - lead < 4 && (bytes[lead] & 0xc0) === 0x80) lead--;
    const rune = decodeGoRune(bytes, lead);
    if (rune.codePoint < 0 || lead + rune.width !== end || !isGoSpace(rune.codePoint)) break;
    end = lead;
  }
  return bytes.subarray(start, end);
}

/** Decodes valid UTF-8 as it is (a leading U+FEFF included: TextDecoder drops it by default). */
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** strings.ToValidUTF8(s, "\uFFFD"): each run of invalid bytes becomes one U+FFFD; valid text (a real U+FFFD too) is kept. */
export function goToValidUtf8(bytes: Uint8Array): string {
  let out = "";
  let invalid = false;
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const rune = decodeGoRune(bytes, i);
    if (rune.codePoint >= 0) {
      invalid = false;
      i += rune.width;
      continue;
    }
    out += decoder.decode(bytes.subarray(runStart, i));
    if (!invalid) out += "\ufffd";
    invalid = true;
    i += 1;
    runStart = i;
  }
  return out + decoder.decode(bytes.subarray(runStart, i));
}
