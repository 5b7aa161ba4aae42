/**
 * Whether a line is longer than `maxBytes` in UTF-8, measured only when its length in UTF-16
 * units does not already tell (a unit is 1 to 3 bytes).
 */
export function overBytes(line: string, maxBytes: number): boolean {
  if (line.length > maxBytes) return true;
  if (line.length * 3 <= maxBytes) return false;
  return Buffer.byteLength(line, "utf8") > maxBytes;
}
