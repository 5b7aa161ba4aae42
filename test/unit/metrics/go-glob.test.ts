import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileGoGlob, compileGoMatch, GoGlobPatternError } from "../../../agent/metrics/go-glob.js";

describe("compileGoMatch (filepath.Match)", () => {
  it.each([
    ["*_extra_dimension", "histogram_extra_dimension", true],
    ["*_extra_dimension", "histogram_extra_dimension.out", false],
    ["a?c", "abc", true],
    ["a?c", "a/c", false],
    ["[a-c]x", "bx", true],
    ["[^a-c]x", "bx", false],
    ["[\\]]", "]", true],
    ["\\*", "*", true],
    ["\\*", "a", false],
    ["*.prom", ".hidden.prom", true],
    ["[z-a]", "m", false],
  ])("%s matches %s: %s", (pattern, name, matches) => {
    expect(compileGoMatch(pattern).test(name)).toBe(matches);
  });

  it.each(["[", "[]", "[a-]", "a\\", "[^"])("rejects the malformed pattern %j", (pattern) => {
    expect(() => compileGoMatch(pattern)).toThrow(GoGlobPatternError);
  });
});

describe("compileGoGlob (filepath.Glob)", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-glob-"));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const d of ["a/x", "a/y", "b/x", "c"]) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.writeFileSync(path.join(root, "a/file"), "");

  it("expands each path element, sorted per directory", async () => {
    expect(await compileGoGlob(`${root}/*/x`).expand()).toEqual([`${root}/a/x`, `${root}/b/x`]);
    expect(await compileGoGlob(`${root}/a/*`).expand()).toEqual([`${root}/a/file`, `${root}/a/x`, `${root}/a/y`]);
    expect(await compileGoGlob(`${root}/[ab]`).expand()).toEqual([`${root}/a`, `${root}/b`]);
  });

  it("returns a plain path only when it exists, and nothing for no match", async () => {
    expect(await compileGoGlob(`${root}/c`).expand()).toEqual([`${root}/c`]);
    expect(await compileGoGlob(`${root}/none`).expand()).toEqual([]);
    expect(await compileGoGlob(`${root}/none/*`).expand()).toEqual([]);
  });

  it("rejects a malformed pattern at compile time", () => {
    expect(() => compileGoGlob(`${root}/[`)).toThrow(GoGlobPatternError);
  });
});
