import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { HostFileTooLargeError, readBytes, readText, readTextIfExists, listDir } from "../../../agent/host/read.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-read-"));

describe("host file readers", () => {
  it("read pseudo-files that arrive a page at a time completely", () => {
    // seq_file files return at most a page per read(); a reader stopping at a short read would cut them.
    for (const file of ["/proc/self/mountinfo", "/proc/self/maps", "/proc/stat", "/proc/net/dev"]) {
      expect(readText(file).length).toBeGreaterThan(0);
      expect(readText(file).split("\n")[0]).toBe(fs.readFileSync(file, "utf8").split("\n")[0]);
    }
  });

  it("read files larger than one chunk byte for byte, multi-byte UTF-8 across chunk borders included", () => {
    const text = "é".repeat(40_000) + "\nend\n"; // 80 KB of 2-byte characters: a character straddles the 64 KiB border
    const file = path.join(dir, "big.txt");
    fs.writeFileSync(file, text);
    expect(readText(file)).toBe(text);
    expect(readBytes(file).equals(Buffer.from(text))).toBe(true);
  });

  it("enforce the size limit", () => {
    const file = path.join(dir, "limit.txt");
    fs.writeFileSync(file, "x".repeat(200_000));
    expect(() => readText(file, 100_000)).toThrow(HostFileTooLargeError);
    expect(() => readBytes(file, 100_000)).toThrow(HostFileTooLargeError);
    expect(() => readText(file, 1_000)).toThrow(HostFileTooLargeError);
  });

  it("report missing files as undefined or empty lists, other errors as errors", () => {
    expect(readTextIfExists(path.join(dir, "nope"))).toBeUndefined();
    expect(listDir(path.join(dir, "nope"))).toEqual([]);
    expect(() => readTextIfExists(dir)).toThrow(/EISDIR/);
  });

  it("read empty files", () => {
    const file = path.join(dir, "empty");
    fs.writeFileSync(file, "");
    expect(readText(file)).toBe("");
    expect(readBytes(file).length).toBe(0);
  });
});
