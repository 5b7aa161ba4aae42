import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fingerprintOf, lineStartBefore, matchAndExtend } from "../../../agent/logs/sources/file-identity.js";

describe("a checkpoint's fingerprint grown to the file's current start", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-fpid-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function check(content: string, fpOf: string, maxBytes: number) {
    const file = path.join(dir, "f.log");
    fs.writeFileSync(file, content);
    const handle = await fs.promises.open(file, "r");
    try {
      const bytes = Buffer.byteLength(fpOf);
      return await matchAndExtend(handle, Buffer.byteLength(content), bytes, fingerprintOf(Buffer.from(fpOf)), maxBytes);
    } finally {
      await handle.close();
    }
  }

  it("grows a short fingerprint that still matches to min(size, maxBytes)", async () => {
    const content = "a".repeat(100) + "b".repeat(400);
    expect(await check(content, "a".repeat(10), 256)).toEqual({ bytes: 256, hash: fingerprintOf(Buffer.from(content.slice(0, 256))) });
    expect(await check(content.slice(0, 50), "a".repeat(10), 256)).toEqual({ bytes: 50, hash: fingerprintOf(Buffer.from("a".repeat(50))) });
  });

  it("grows a fingerprint of an empty file to the content it has now (a new generation cannot match it later)", async () => {
    const r = await check("w=1 s=4000 xxxx\n".repeat(40), "", 256);
    expect(r?.bytes).toBe(256);
  });

  it("keeps a full fingerprint as it is, and refuses a file that starts differently or is shorter", async () => {
    const content = "c".repeat(300);
    expect(await check(content, "c".repeat(256), 256)).toEqual({ bytes: 256, hash: fingerprintOf(Buffer.from("c".repeat(256))) });
    expect(await check(content, "d".repeat(20), 256)).toBeUndefined();
    expect(await check("c".repeat(10), "c".repeat(20), 256)).toBeUndefined();
  });
});

describe("lineStartBefore (where a resume clipped to a shorter copy starts)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-linestart-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function at(content: string, end: number, maxLineBytes = 1024) {
    const file = path.join(dir, "f.log");
    fs.writeFileSync(file, content);
    const handle = await fs.promises.open(file, "r");
    try {
      return await lineStartBefore(handle, end, maxLineBytes);
    } finally {
      await handle.close();
    }
  }

  it("keeps an end that follows a newline, and 0", async () => {
    expect(await at("ab\ncd\n", 6)).toBe(6);
    expect(await at("ab\ncd\n", 3)).toBe(3);
    expect(await at("ab\ncd\n", 0)).toBe(0);
  });

  it("moves an end inside a line back to that line's start", async () => {
    expect(await at("ab\ncdef\n", 5)).toBe(3);
    expect(await at("abcdef\n", 4)).toBe(0);
  });

  it("gives 0 when the line is longer than maxLineBytes, or the file shorter than end", async () => {
    expect(await at("ab\n" + "x".repeat(50), 40, 20)).toBe(0);
    expect(await at("ab\n" + "x".repeat(50), 40, 64)).toBe(3);
    expect(await at("ab\ncd", 100)).toBe(0);
  });
});
