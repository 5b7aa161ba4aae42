import { describe, expect, it } from "vitest";
import { formatGoFloat, parseGoFloat } from "../../../agent/metrics/parsers/go-float.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";

describe("parseGoFloat (strconv.ParseFloat)", () => {
  it.each([
    ["55000", 55000],
    ["-1.5", -1.5],
    [".5", 0.5],
    ["5.", 5],
    ["1E+05", 100000],
    ["1e-400", 0],
    ["inf", Infinity],
    ["+Inf", Infinity],
    ["-Infinity", -Infinity],
    ["1_000", 1000],
    ["1_23.50_0_0e+1_2", 1.235e14],
    ["0x1p3", 8],
    ["0x1.8p1", 3],
    ["-0x1p-2", -0.25],
    ["0x_1p0", 1],
  ])("accepts %j", (text, value) => {
    expect(parseGoFloat(text)).toBe(value);
  });

  it("accepts nan only without a sign", () => {
    expect(parseGoFloat("NaN")).toBeNaN();
    expect(parseGoFloat("+nan")).toBeUndefined();
  });

  it.each(["", " 1", "1 ", ".", "1e", "1e+", "1e400", "-1e400", "0x10", "0x1", "1__0", "_1", "1_", "123_.5", "infin", "1.2.3", "0b1", "١"])(
    "rejects %j",
    (text) => {
      expect(parseGoFloat(text)).toBeUndefined();
    },
  );

  it("never throws on bad input", () => {
    checkParserOnBadInput(parseGoFloat, "1.5e3");
  });
});

describe("formatGoFloat (client_golang label values)", () => {
  it.each([
    [0, "0"],
    [-0, "0"],
    [1, "1"],
    [0.5, "0.5"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [409600, "409600"],
    [1638400, "1.6384e+06"],
    [26214400, "2.62144e+07"],
    [123456789, "1.23456789e+08"],
    [1e21, "1e+21"],
    [1e100, "1e+100"],
    [-2.5e-7, "-2.5e-07"],
    [Infinity, "+Inf"],
    [-Infinity, "-Inf"],
    [NaN, "NaN"],
  ])("formats %d as %s", (value, text) => {
    expect(formatGoFloat(value)).toBe(text);
  });

  it("round-trips through parseGoFloat", () => {
    for (const v of [Math.PI, 1 / 3, 5e-324, 1.7976931348623157e308, 123.456, 1e-7]) expect(parseGoFloat(formatGoFloat(v))).toBe(v);
  });
});
