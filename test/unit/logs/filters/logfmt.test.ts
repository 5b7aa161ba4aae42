import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseLogfmt } from "../../../../agent/logs/filters/logfmt.js";
import { allStrings, cfg, one, outcome, rec } from "./helpers.js";

function pairs(line: string): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  return parseLogfmt(line, { wants: () => true, add: (k, v) => void out.push([k, v]) }) ? out : undefined;
}

describe("parseLogfmt", () => {
  it.each([
    [
      "a=1 b=two",
      [
        ["a", "1"],
        ["b", "two"],
      ],
    ],
    [
      'msg="hello world" n=2',
      [
        ["msg", "hello world"],
        ["n", "2"],
      ],
    ],
    ['q="say \\"hi\\" \\\\ \\n done"', [["q", 'say "hi" \\ \n done']]],
    ['u="\\u00e9\\x"', [["u", "é\\x"]]],
    [
      "a=1 debug",
      [
        ["a", "1"],
        ["debug", "true"],
      ],
    ],
    [
      "  a=1\t\tb=  ",
      [
        ["a", "1"],
        ["b", ""],
      ],
    ],
    ["url=http://x/?a=b&c=d", [["url", "http://x/?a=b&c=d"]]],
    ['e=""', [["e", ""]]],
    ["ünï=cödé", [["ünï", "cödé"]]],
  ])("%j", (line, expected) => {
    expect(pairs(line)).toEqual(expected);
  });

  it.each(["", "   ", "just words", "=value", 'a="unterminated', 'a="x"y', 'k"ey=1', 'a=b"c', 'a="\\"'])("%j is not logfmt", (line) => {
    expect(pairs(line)).toBeUndefined();
  });
});

describe("logfmt filter", () => {
  it("maps level, time and message; the rest become attributes", async () => {
    const { apply, registry } = one(cfg("logfmt"));
    const out = apply('ts=2024-05-01T10:00:00Z level=error msg="connection refused" host=db-1 retry')!;
    expect(out.message).toBe("connection refused");
    expect(out.time).toBe("2024-05-01T10:00:00.000000000Z");
    expect(out.attributes).toEqual({ host: "db-1", retry: "true", severity: "error" });
    expect(await outcome(registry, "logfmt-0", "parsed")).toBe(1);
  });

  it("prefix, maxFields and maxBytes", async () => {
    const { apply, registry } = one(cfg("logfmt", { prefix: "f_", maxFields: 2, maxBytes: 64 }));
    expect(apply("a=1 b=2 c=3 lvl=W")!.attributes).toEqual({ f_a: "1", f_b: "2", severity: "warn" });
    const long = rec(`a=${"x".repeat(100)}`);
    expect(apply(long)).toBe(long);
    expect(await outcome(registry, "logfmt-0", "fields_dropped")).toBe(1);
    expect(await outcome(registry, "logfmt-0", "too_large")).toBe(1);
  });

  it("a line that is not logfmt goes on unchanged", async () => {
    const { apply, registry } = one(cfg("logfmt"));
    const input = rec("a plain sentence");
    expect(apply(input)).toBe(input);
    expect(await outcome(registry, "logfmt-0", "unparsed")).toBe(1);
  });

  it("__proto__ is a plain attribute", () => {
    const out = one(cfg("logfmt")).apply("__proto__=x constructor=y")!;
    expect(Object.hasOwn(out.attributes!, "__proto__")).toBe(true);
    expect(out.attributes!["__proto__"]).toBe("x");
    expect(out.attributes!.constructor).toBe("y");
    expect(Object.getPrototypeOf(out.attributes)).toBe(Object.prototype);
  });

  it("property: any input never throws and gives string attributes", async () => {
    const { apply, registry } = one(cfg("logfmt", { maxFields: 8 }));
    const token = fc.oneof(
      fc.string({ unit: "binary", maxLength: 8 }),
      fc.constantFrom("=", '"', "\\", " ", "level", "msg", "time", "__proto__"),
    );
    const lines = fc.oneof(
      fc.string({ unit: "binary" }),
      fc.array(token, { maxLength: 30 }).map((t) => t.join("")),
      fc.dictionary(fc.string(), fc.string()).map((o) =>
        Object.entries(o)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(" "),
      ),
    );
    fc.assert(
      fc.property(lines, (line) => {
        const out = apply(rec(line));
        expect(out).not.toBeNull();
        expect(allStrings(out!)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    expect(await outcome(registry, "logfmt-0", "error")).toBe(0);
  });
});
