import { describe, expect, it } from "vitest";
import { ExpositionWriter, escapeLabelValue, formatValue } from "../../../agent/metrics/exposition-writer.js";

function written(fill: (w: ExpositionWriter) => void, initialBytes = 8): string {
  const w = new ExpositionWriter(initialBytes);
  fill(w);
  return w.toString();
}

describe("ExpositionWriter", () => {
  it("writes numbers exactly as String() and Go's special values, integers without a string", () => {
    const values = [
      0,
      -0,
      1,
      -1,
      7,
      10,
      99,
      100,
      123456789,
      -987654321,
      2 ** 31,
      2 ** 32 + 5,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
    ];
    const others = [0.1, -2.5e-7, 1e21, 2 ** 53, 1.7976931348623157e308, 5e-324, NaN, Infinity, -Infinity];
    for (const v of [...values, ...others])
      expect(
        written((w) => w.value(v)),
        String(v),
      ).toBe(formatValue(v));
    expect(written((w) => w.value(-0))).toBe("0");
    expect(formatValue(NaN) + formatValue(Infinity) + formatValue(-Infinity)).toBe("NaN+Inf-Inf");
  });

  it("escapes label values as the text format wants, before and after characters that are not ASCII", () => {
    const cases = ["plain", 'q"uote', "back\\slash", "new\nline", 'é"\\\n', 'ab"é\n"ü\\', "日本語", 'emoji 😀 "x"', ""];
    for (const v of cases) expect(written((w) => w.labelValue(v))).toBe(escapeLabelValue(v));
    expect(written((w) => w.text("grüße, 世界\n"))).toBe("grüße, 世界\n");
  });

  it("grows past its first buffer, gives its bytes, and starts over on reset", () => {
    const w = new ExpositionWriter(4);
    const long = "x".repeat(5000) + "é" + "y".repeat(3000);
    w.text(long);
    w.labelValue(long);
    const first = Buffer.from(w.bytes());
    expect(first.toString()).toBe(long + long);
    w.reset();
    w.text("again");
    expect(w.toString()).toBe("again");
    expect(first.toString()).toBe(long + long);
    const big = new ExpositionWriter(16);
    big.text("z".repeat(2 * 1024 * 1024));
    big.reset();
    big.text("small");
    expect(big.toString()).toBe("small");
  });
});
