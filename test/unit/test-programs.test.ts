// Every program the tests start is listed in scripts/test-programs.txt with what installs it, and
// in CI every listed program is really there: a fresh machine's .ci/run must not meet `spawn X ENOENT`.
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { IN_CI, REPO_ROOT, installHint, locateProgram, testPrograms } from "../helpers/test-programs.js";

/** Shells and the test runner's own Node start scripts, not peers. */
const NOT_PEERS = new Set(["bash", "sh", "node"]);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) return e === "fixtures" ? [] : sources(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

/** Programs named literally where a test starts one: spawn("x"), execFile("x"), onPath("x"), "/usr/bin/x" constants. */
export function spawnedPrograms(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/\b(?:spawn|spawnSync|execFile|execFileSync|onPath)\(\s*"([a-z][\w.+-]*)"/g)) found.add(m[1]);
  // test/packaging/tools.ts's run(cmd, [args]); not the openssl wrappers' run("req", ...).
  for (const m of text.matchAll(/\brun\(\s*"([a-z][\w.+-]*)",\s*\[/g)) found.add(m[1]);
  for (const m of text.matchAll(/=\s*"\/usr\/s?bin\/([\w.+-]+)"/g)) found.add(m[1]);
  return [...found].filter((p) => !NOT_PEERS.has(p));
}

describe("scripts/test-programs.txt, the one list of programs the tests start", () => {
  const listed = new Map(testPrograms().map((p) => [p.name, p]));

  it("finds literal program names in code (the scanner can fail)", () => {
    expect(
      spawnedPrograms(
        `execFileSync("mkfifo", [x]); const B = "/usr/sbin/syslog-ng"; spawn("bash", []); run("nsenter", ["-t"]); run("req", "-x509")`,
      ).sort(),
    ).toEqual(["mkfifo", "nsenter", "syslog-ng"]);
  });

  it("lists every program a test spawns by name", () => {
    const unlisted: string[] = [];
    for (const file of sources(path.join(REPO_ROOT, "test"))) {
      if (file.endsWith("test-programs.test.ts")) continue;
      for (const p of spawnedPrograms(readFileSync(file, "utf8")))
        if (!listed.has(p)) unlisted.push(`${p} (${path.relative(REPO_ROOT, file)})`);
    }
    expect(unlisted).toEqual([]);
  });

  it("names an installer that exists for every program, and install-test-deps.sh reads the list", () => {
    for (const p of listed.values()) {
      expect(p.source, p.name).toMatch(/^(deb:[a-z0-9.+-]+|script:scripts\/[\w.-]+\.sh|base)$/);
      if (p.source.startsWith("script:")) expect(existsSync(path.join(REPO_ROOT, p.source.slice(7))), p.source).toBe(true);
    }
    expect(readFileSync(path.join(REPO_ROOT, "scripts/install-test-deps.sh"), "utf8")).toContain("scripts/test-programs.txt");
    const ci = readFileSync(path.join(REPO_ROOT, ".ci/run"), "utf8");
    for (const script of new Set([...listed.values()].filter((p) => p.source.startsWith("script:")).map((p) => p.source.slice(7)))) {
      const called =
        ci.includes(script) ||
        (script.startsWith("scripts/testenv-sinks-") && ci.includes("testenv-sinks-$s.sh")) ||
        /testenv-(helm|base-images|image)\.sh$/.test(script);
      expect(called, `.ci/run runs ${script}`).toBe(true);
    }
  });

  it.runIf(IN_CI)("has every listed program installed (CI)", () => {
    const missing = [...listed.keys()].filter((n) => locateProgram(n) === undefined).map((n) => `${n}: ${installHint(n)}`);
    expect(missing).toEqual([]);
  });
});
