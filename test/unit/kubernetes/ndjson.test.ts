import { describe, expect, it } from "vitest";
import { LineSplitter, type OversizeLineError } from "../../../agent/kubernetes/ndjson.js";

function collect(max = 16) {
  const lines: string[] = [];
  const errors: OversizeLineError[] = [];
  const splitter = new LineSplitter(
    (l) => lines.push(l),
    (e) => errors.push(e),
    max,
  );
  return { lines, errors, splitter };
}

describe("LineSplitter", () => {
  it("splits lines whatever the chunking, byte by byte included", () => {
    const text = Buffer.from('{"a":1}\n{"b":"é"}\n\n{"c":3}\n');
    for (const size of [1, 2, 3, 7, text.length]) {
      const { lines, errors, splitter } = collect(64);
      for (let i = 0; i < text.length; i += size) splitter.push(text.subarray(i, i + size));
      splitter.end();
      expect(lines).toEqual(['{"a":1}', '{"b":"é"}', '{"c":3}']);
      expect(errors).toEqual([]);
    }
  });

  it("keeps a last line without a newline at the end", () => {
    const { lines, splitter } = collect();
    splitter.push(Buffer.from("one\ntw"));
    splitter.push(Buffer.from("o"));
    expect(lines).toEqual(["one"]);
    splitter.end();
    expect(lines).toEqual(["one", "two"]);
  });

  it("skips a line over the cap, reports it once, and goes on with the next", () => {
    const { lines, errors, splitter } = collect(8);
    splitter.push(Buffer.from("ok\n0123456"));
    splitter.push(Buffer.from("789abcdef"));
    splitter.push(Buffer.from("ghij\nafter\n"));
    splitter.push(Buffer.from("123456789\nlast\n"));
    expect(lines).toEqual(["ok", "after", "last"]);
    expect(errors.map((e) => e.message)).toEqual([
      "a watch event line exceeded 8 bytes and was skipped",
      "a watch event line exceeded 8 bytes and was skipped",
    ]);
  });

  it("accepts a line of exactly the cap", () => {
    const { lines, errors, splitter } = collect(8);
    splitter.push(Buffer.from("0123"));
    splitter.push(Buffer.from("4567\n"));
    expect(lines).toEqual(["01234567"]);
    expect(errors).toEqual([]);
  });
});
