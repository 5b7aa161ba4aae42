import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openSync, readdirSync, statSync } from "../../../agent/host/missing-paths.js";
import { readTextIfExists } from "../../../agent/host/read.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "missing-paths-"));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function thrown(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error("did not throw");
}

describe("missing paths", () => {
  it("answers a path missing last time without opening it, with the error fs gives", () => {
    const file = path.join(tempDir(), "absent");
    const open = vi.spyOn(fs, "openSync");
    const first = thrown(() => openSync(file));
    const second = thrown(() => openSync(file));
    expect(open).toHaveBeenCalledTimes(1);
    for (const err of [first, second]) expect(err).toMatchObject({ code: "ENOENT", errno: -2, syscall: "open", path: file });
    expect(second.message).toBe(first.message);
  });

  it("reads a path that appeared since", () => {
    const file = path.join(tempDir(), "later");
    expect(readTextIfExists(file)).toBeUndefined();
    expect(readTextIfExists(file)).toBeUndefined();
    fs.writeFileSync(file, "now\n");
    expect(readTextIfExists(file)).toBe("now\n");
    fs.rmSync(file);
    expect(readTextIfExists(file)).toBeUndefined();
  });

  it("does the same for directories and stat", () => {
    const dir = path.join(tempDir(), "class");
    const readdir = vi.spyOn(fs, "readdirSync");
    for (let i = 0; i < 3; i++)
      expect(thrown(() => readdirSync(dir, { withFileTypes: true }))).toMatchObject({ code: "ENOENT", syscall: "scandir" });
    expect(readdir).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 2; i++) expect(thrown(() => statSync(dir))).toMatchObject({ code: "ENOENT", syscall: "stat" });
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "a"), "");
    expect(readdirSync(dir)).toEqual(["a"]);
    expect(statSync(dir).isDirectory()).toBe(true);
  });

  it("remembers only ENOENT: other errors are asked again and reported as they are", () => {
    const file = path.join(tempDir(), "file");
    fs.writeFileSync(file, "");
    const under = path.join(file, "child");
    const open = vi.spyOn(fs, "openSync");
    for (let i = 0; i < 2; i++) expect(thrown(() => openSync(under))).toMatchObject({ code: "ENOTDIR" });
    expect(open).toHaveBeenCalledTimes(2);
  });
});
