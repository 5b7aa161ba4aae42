import { describe, expect, it } from "vitest";
import { parseAuxvPageSize, readPageSize } from "../../../agent/host/page-size.js";

function auxv(pairs: Array<[number, number]>, wordBytes: 4 | 8, littleEndian: boolean): Buffer {
  const buf = Buffer.alloc(pairs.length * 2 * wordBytes);
  pairs.flat().forEach((v, i) => {
    const at = i * wordBytes;
    if (wordBytes === 8 && littleEndian) buf.writeBigUInt64LE(BigInt(v), at);
    else if (wordBytes === 8) buf.writeBigUInt64BE(BigInt(v), at);
    else if (littleEndian) buf.writeUInt32LE(v, at);
    else buf.writeUInt32BE(v, at);
  });
  return buf;
}

describe("page size from the auxiliary vector", () => {
  it("finds AT_PAGESZ in 64- and 32-bit, little- and big-endian images", () => {
    const pairs: Array<[number, number]> = [
      [33, 0x7ffd1000],
      [16, 0xbfebfbff],
      [6, 65536],
      [17, 100],
      [0, 0],
    ];
    expect(parseAuxvPageSize(auxv(pairs, 8, true), 8, true)).toBe(65536);
    expect(parseAuxvPageSize(auxv(pairs, 8, false), 8, false)).toBe(65536);
    expect(parseAuxvPageSize(auxv(pairs, 4, true), 4, true)).toBe(65536);
  });

  it("stops at AT_NULL and ignores truncated or empty images", () => {
    expect(
      parseAuxvPageSize(
        auxv(
          [
            [0, 0],
            [6, 4096],
          ],
          8,
          true,
        ),
        8,
        true,
      ),
    ).toBeUndefined();
    expect(parseAuxvPageSize(auxv([[6, 4096]], 8, true).subarray(0, 12), 8, true)).toBeUndefined();
    expect(parseAuxvPageSize(Buffer.alloc(0), 8, true)).toBeUndefined();
  });

  it("reads this process's page size, undefined for a missing file", () => {
    const size = readPageSize("/proc/self/auxv");
    expect([4096, 16384, 65536]).toContain(size);
    if (process.arch === "x64") expect(size).toBe(4096);
    expect(readPageSize("/nonexistent/auxv")).toBeUndefined();
  });
});
