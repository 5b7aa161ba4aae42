import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { LineSplitter, utf8Boundary } from "../../../agent/logs/sources/line-splitter.js";

interface Got {
  text: string;
  start: number;
  truncated: boolean;
  valid: boolean;
}

function feed(splitter: LineSplitter, chunks: Buffer[], startOffset = 0): Got[] {
  const got: Got[] = [];
  let offset = startOffset;
  for (const c of chunks) {
    splitter.push(c, offset, (line, start, truncated, valid) => got.push({ text: line.toString("latin1"), start, truncated, valid }));
    offset += c.length;
  }
  return got;
}

describe("LineSplitter", () => {
  it("splits on newlines and reports start offsets and the safe offset", () => {
    const s = new LineSplitter(100, 10);
    const got = feed(s, [Buffer.from("ab\ncd\nef")], 10);
    expect(got.map((g) => [g.text, g.start])).toEqual([
      ["ab", 10],
      ["cd", 13],
    ]);
    expect(s.safeOffset).toBe(16);
    expect(s.hasPartial).toBe(true);
  });

  it("carries an unfinished line into the next chunk", () => {
    const s = new LineSplitter(100, 0);
    const got = feed(s, [Buffer.from("hel"), Buffer.from("lo\nwor"), Buffer.from("ld\n")]);
    expect(got.map((g) => [g.text, g.start])).toEqual([
      ["hello", 0],
      ["world", 6],
    ]);
    expect(s.safeOffset).toBe(12);
    expect(s.hasPartial).toBe(false);
  });

  it("cuts an over-long line, skips its rest, and keeps the safe offset at its start until its newline", () => {
    const s = new LineSplitter(4, 0);
    const got = feed(s, [Buffer.from("abcdefgh"), Buffer.from("ijk")]);
    expect(got).toEqual([{ text: "abcd", start: 0, truncated: true, valid: true }]);
    expect(s.safeOffset).toBe(0);
    const more = feed(s, [Buffer.from("lm\nok\n")], 11);
    expect(more.map((g) => g.text)).toEqual(["ok"]);
    expect(s.safeOffset).toBe(17);
  });

  it("cuts an over-long line that ends inside the chunk", () => {
    const s = new LineSplitter(3, 0);
    const got = feed(s, [Buffer.from("abcdef\nxy\n")]);
    expect(got.map((g) => [g.text, g.truncated])).toEqual([
      ["abc", true],
      ["xy", false],
    ]);
  });

  it("cuts a carried line at the limit across chunks", () => {
    const s = new LineSplitter(5, 0);
    const got = feed(s, [Buffer.from("abc"), Buffer.from("defgh\nz\n")]);
    expect(got.map((g) => [g.text, g.truncated, g.start])).toEqual([
      ["abcde", true, 0],
      ["z", false, 9],
    ]);
  });

  it("does not cut inside a UTF-8 sequence and flags invalid UTF-8", () => {
    const s = new LineSplitter(4, 0);
    const euro = Buffer.from("ab€cd\n"); // € is 3 bytes: the cut at 4 would split it
    const got: Got[] = [];
    s.push(euro, 0, (line, start, truncated, valid) => got.push({ text: line.toString("utf8"), start, truncated, valid }));
    expect(got).toEqual([{ text: "ab", start: 0, truncated: true, valid: true }]);
    const bad = new LineSplitter(100, 0);
    const flags: boolean[] = [];
    bad.push(Buffer.from([0x61, 0xff, 0x0a, 0x62, 0x0a]), 0, (_l, _s, _t, valid) => flags.push(valid));
    expect(flags).toEqual([false, true]);
  });

  it("flushes a final line without newline, and ends a skipped line at the file's end", () => {
    const s = new LineSplitter(100, 0);
    feed(s, [Buffer.from("a\nlast")]);
    const got: string[] = [];
    expect(s.flushPartial(6, (l) => got.push(l.toString()))).toBe(true);
    expect(got).toEqual(["last"]);
    expect(s.safeOffset).toBe(6);
    const skip = new LineSplitter(2, 0);
    feed(skip, [Buffer.from("abcdef")]);
    expect(skip.flushPartial(6, () => got.push("x"))).toBe(false);
    expect(skip.safeOffset).toBe(6);
  });

  it("gives the same lines however the bytes are chunked (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z]{0,12}$/), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1 }),
        (lines, cuts) => {
          const text = lines.map((l) => `${l}\n`).join("");
          const bytes = Buffer.from(text);
          const chunks: Buffer[] = [];
          let pos = 0;
          for (let i = 0; pos < bytes.length; i++) {
            const n = cuts[i % cuts.length];
            chunks.push(bytes.subarray(pos, pos + n));
            pos += n;
          }
          const s = new LineSplitter(1000, 0);
          const got = feed(s, chunks);
          expect(got.map((g) => g.text)).toEqual(lines);
          expect(s.safeOffset).toBe(bytes.length);
        },
      ),
    );
  });

  it("utf8Boundary steps back to the lead byte of a sequence", () => {
    const b = Buffer.from("a€"); // 61 e2 82 ac
    expect(utf8Boundary(b, 0, 2)).toBe(1);
    expect(utf8Boundary(b, 0, 3)).toBe(1);
    expect(utf8Boundary(b, 0, 1)).toBe(1);
    expect(utf8Boundary(b, 0, 4)).toBe(4);
  });

  describe("NUL bytes where a line would start (a hole after a copytruncate of a non-O_APPEND file)", () => {
    const zeros = (n: number) => Buffer.alloc(n);

    it("skips a hole before the first line, counts it, and moves the safe offset past it", () => {
      const s = new LineSplitter(100, 0);
      const got = feed(s, [Buffer.concat([zeros(10_000), Buffer.from("a line\nnext\n")])]);
      expect(got.map((g) => [g.text, g.start])).toEqual([
        ["a line", 10_000],
        ["next", 10_007],
      ]);
      expect(s.takeSkippedNuls()).toEqual({ bytes: 10_000, at: 0 });
      expect(s.takeSkippedNuls()).toBeUndefined();
      expect(s.safeOffset).toBe(10_012);
    });

    it("skips a hole that spans chunks, holding nothing and resuming after it", () => {
      const s = new LineSplitter(100, 0);
      const got = feed(s, [zeros(5000), zeros(4097), Buffer.concat([zeros(3), Buffer.from("x\n")])], 0);
      expect(got.map((g) => [g.text, g.start])).toEqual([["x", 9100]]);
      expect(s.hasPartial).toBe(false);
      expect(s.takeSkippedNuls()).toEqual({ bytes: 9100, at: 0 });
    });

    it("skips a hole after a newline in the middle of a chunk; NULs inside a line stay in it", () => {
      const s = new LineSplitter(100, 0);
      const got = feed(s, [Buffer.concat([Buffer.from("one\n"), zeros(7), Buffer.from("t\0o\n")])]);
      expect(got.map((g) => [g.text, g.start])).toEqual([
        ["one", 0],
        ["t\0o", 11],
      ]);
      expect(s.takeSkippedNuls()).toEqual({ bytes: 7, at: 4 });
    });

    it("skips a hole after a carried line completes, and after an over-long line's skipped tail", () => {
      const s = new LineSplitter(4, 0);
      const got = feed(s, [
        Buffer.from("ab"),
        Buffer.concat([Buffer.from("c\n"), zeros(5), Buffer.from("toolong")]),
        Buffer.concat([Buffer.from("\n"), zeros(2), Buffer.from("ok\n")]),
      ]);
      expect(got.map((g) => [g.text, g.start, g.truncated])).toEqual([
        ["abc", 0, false],
        ["tool", 9, true],
        ["ok", 19, false],
      ]);
      expect(s.takeSkippedNuls()).toEqual({ bytes: 7, at: 4 });
    });

    it("keeps the safe offset before a run that no line follows yet, within a chunk and across chunks", () => {
      // A checkpoint must follow data (a line's end), never a NUL: after a restart a NUL before
      // the offset means the file was rewritten (file-identity.ts, holeBefore).
      const s = new LineSplitter(100, 0);
      feed(s, [Buffer.concat([Buffer.from("a\n"), zeros(10)])]);
      expect(s.safeOffset).toBe(2);
      feed(s, [zeros(5000)], 12);
      expect(s.safeOffset).toBe(2);
      feed(s, [Buffer.concat([zeros(3), Buffer.from("par")])], 5012);
      expect(s.safeOffset).toBe(2); // a line begun after the run, not ended yet
      const got = feed(s, [Buffer.from("tial\n")], 5018);
      expect(got.map((g) => [g.text, g.start])).toEqual([["partial", 5015]]);
      expect(s.safeOffset).toBe(5023);
      feed(s, [Buffer.concat([Buffer.from("b\n"), zeros(4)])], 5023);
      expect(s.safeOffset).toBe(5025);
      expect(s.takeSkippedNuls()).toEqual({ bytes: 5017, at: 2 });
    });

    it("gives every non-NUL byte of any chunking in the same lines as a chunking-free split", () => {
      fc.assert(
        fc.property(
          fc.array(fc.constantFrom("a", "\n", "\0"), { maxLength: 60 }),
          fc.array(fc.nat(10), { maxLength: 8 }),
          (chars, cuts) => {
            const text = chars.join("");
            const bytes = Buffer.from(text, "latin1");
            const whole = feed(new LineSplitter(1000, 0), [bytes]).map((g) => [g.text, g.start]);
            const chunks: Buffer[] = [];
            let at = 0;
            for (const c of cuts) {
              chunks.push(bytes.subarray(at, Math.min(bytes.length, at + c)));
              at = Math.min(bytes.length, at + c);
            }
            chunks.push(bytes.subarray(at));
            const split = feed(new LineSplitter(1000, 0), chunks).map((g) => [g.text, g.start]);
            expect(split).toEqual(whole);
            for (const [line] of whole) expect(String(line).startsWith("\0")).toBe(false);
          },
        ),
      );
    });
  });
});
