import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PathFilter, expandGlob, globToRegExp } from "../../../agent/logs/sources/glob.js";

describe("globToRegExp", () => {
  it("matches *, ?, classes and ** as documented", () => {
    const cases: Array<[string, string, boolean]> = [
      ["*.log", "0.log", true],
      ["*.log", "a/0.log", false],
      ["?.log", "0.log", true],
      ["?.log", "10.log", false],
      ["[0-9].log", "7.log", true],
      ["[!0-9].log", "7.log", false],
      ["/var/**/x.log", "/var/x.log", true],
      ["/var/**/x.log", "/var/a/b/x.log", true],
      ["/var/**", "/var/a/b", true],
      ["a.b", "axb", false],
      ["file(1).log", "file(1).log", true],
    ];
    for (const [glob, input, want] of cases) expect(globToRegExp(glob).test(input), `${glob} vs ${input}`).toBe(want);
  });

  it("PathFilter matches base names for patterns without a slash", () => {
    const f = new PathFilter(["*.gz", "/var/log/pods/kube-system_*/**"]);
    expect(f.matches("/var/log/pods/a_b_c/x/0.log.20240101.gz")).toBe(true);
    expect(f.matches("/var/log/pods/kube-system_x_y/c/0.log")).toBe(true);
    expect(f.matches("/var/log/pods/default_x_y/c/0.log")).toBe(false);
  });
});

describe("expandGlob on a real tree", () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-glob-"));
    for (const p of [
      "pods/ns_a_1/c1/0.log",
      "pods/ns_a_1/c1/0.log.20240101-000000",
      "pods/ns_a_1/c1/0.log.20231231.gz",
      "pods/ns_b_2/c2/1.log",
      "other/x.log",
    ]) {
      fs.mkdirSync(path.join(root, path.dirname(p)), { recursive: true });
      fs.writeFileSync(path.join(root, p), "x\n");
    }
    fs.mkdirSync(path.join(root, "pods/ns_c_3/c3/dir.log"), { recursive: true });
    fs.symlinkSync(path.join(root, "pods"), path.join(root, "pods/ns_b_2/loop"));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it("walks only directories the segments can match and reports them", async () => {
    const r = await expandGlob(`${root}/pods/*/*/*.log`, { maxMatches: 100, maxDirectories: 100 });
    expect(r.matches.map((m) => path.relative(root, m)).sort()).toEqual([
      "pods/ns_a_1/c1/0.log",
      "pods/ns_b_2/c2/1.log",
      "pods/ns_c_3/c3/dir.log",
    ]);
    expect(r.directories).toContain(path.join(root, "pods/ns_a_1/c1"));
    expect(r.directories).not.toContain(path.join(root, "other"));
  });

  it("** does not follow symlinked directories, so a loop ends", async () => {
    const r = await expandGlob(`${root}/**/*.log`, { maxMatches: 1000, maxDirectories: 1000 });
    const rel = r.matches.map((m) => path.relative(root, m)).sort();
    expect(rel).toContain("other/x.log");
    expect(rel).toContain("pods/ns_b_2/c2/1.log");
    expect(rel.some((m) => m.includes("loop"))).toBe(false);
  });

  it("stops at maxMatches", async () => {
    const r = await expandGlob(`${root}/**/*`, { maxMatches: 2, maxDirectories: 1000 });
    expect(r.matches).toHaveLength(2);
  });

  it("a literal path is returned without reading its directory (the caller stats it)", async () => {
    const r = await expandGlob(`${root}/other/missing.log`, { maxMatches: 10, maxDirectories: 10 });
    expect(r.matches).toEqual([`${root}/other/missing.log`]);
  });

  it("returns normalized paths for patterns with ., .. and doubled slashes, as path.join would", async () => {
    const r = await expandGlob(`${root}//pods/./ns_a_1/../ns_b_2/*/*.log`, { maxMatches: 10, maxDirectories: 10 });
    expect(r.matches).toEqual([path.join(root, "pods/ns_b_2/c2/1.log")]);
    const top = await expandGlob("/*", { maxMatches: 1000, maxDirectories: 10 });
    expect(top.matches).toContain("/tmp");
    expect(top.matches.every((m) => !m.startsWith("//"))).toBe(true);
    const literal = await expandGlob(`${root}/other/./x.log`, { maxMatches: 10, maxDirectories: 10 });
    expect(literal.matches).toEqual([path.join(root, "other/x.log")]);
  });
});
