import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import util from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TokenSource } from "../../../agent/kubernetes/token.js";

let dir: string;
let file: string;
let now = 0;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-token-"));
  file = path.join(dir, "token");
  now = 1_000;
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Replaces the file the way the kubelet does: a new file renamed over the old (a new inode). */
function rotate(text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

describe("TokenSource", () => {
  it("reads and trims the token, and checks the file at most every interval", async () => {
    fs.writeFileSync(file, "first-token\n");
    const source = new TokenSource(file, 5_000, () => now);
    expect(await source.get()).toBe("first-token");
    rotate("second-token\n");
    now += 4_999;
    expect(await source.get()).toBe("first-token");
    now += 1;
    expect(await source.get()).toBe("second-token");
  });

  it("re-reads at once after invalidate() (a 401)", async () => {
    fs.writeFileSync(file, "first-token");
    const source = new TokenSource(file, 60_000, () => now);
    await source.get();
    rotate("second-token");
    source.invalidate();
    expect(await source.get()).toBe("second-token");
  });

  it("fails with the file and errno code, never the content", async () => {
    const source = new TokenSource(path.join(dir, "missing"), 0, () => now);
    await expect(source.get()).rejects.toThrow(`token file ${path.join(dir, "missing")} cannot be read (ENOENT)`);
    fs.writeFileSync(file, "  \n");
    await expect(new TokenSource(file, 0, () => now).get()).rejects.toThrow("is empty");
  });

  it("never prints the token", async () => {
    fs.writeFileSync(file, "hush-hush");
    const source = new TokenSource(file, 0, () => now);
    await source.get();
    expect(util.inspect(source)).toBe(`TokenSource(${file})`);
    expect(JSON.stringify({ source })).not.toContain("hush");
    expect(String(source)).not.toContain("hush");
  });
});
