/**
 * The programs outside Node.js that tests start, as listed in scripts/test-programs.txt (the one
 * list, read by scripts/install-test-deps.sh too), and the rule for a missing one: with CI=true
 * the suite runs and fails, naming the script that installs the program; elsewhere it is skipped
 * with a note on stderr saying so. Tests never install or build a peer themselves.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tools } from "../packaging/tools.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const IN_CI = /^(1|true|yes)$/i.test(process.env.CI ?? "");
export const MANIFEST = path.join(REPO_ROOT, "scripts/test-programs.txt");

export interface TestProgram {
  name: string;
  /** `deb:<package>`, `script:<path>` or `base`. */
  source: string;
  usedBy: string;
}

export function testPrograms(): TestProgram[] {
  const out: TestProgram[] = [];
  for (const line of readFileSync(MANIFEST, "utf8").split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const [name, source, ...usedBy] = line.trim().split(/\s+/);
    out.push({ name, source, usedBy: usedBy.join(" ") });
  }
  return out;
}

function entry(name: string): TestProgram {
  const found = testPrograms().find((p) => p.name === name);
  if (!found) throw new Error(`${name} is not listed in scripts/test-programs.txt: add it with what installs it`);
  return found;
}

/** How to install a program, for the skip note and the CI failure. */
export function installHint(name: string): string {
  const { source } = entry(name);
  if (source.startsWith("deb:")) return `Debian package ${source.slice(4)}: bash scripts/install-test-deps.sh`;
  if (source.startsWith("script:")) return `bash ${source.slice(7)}`;
  return "part of the base system";
}

const SBIN = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

/** Where the program is, or undefined. Sink servers and the k8s control plane are asked of their script's --check mode. */
export function locateProgram(name: string): string | undefined {
  const { source } = entry(name);
  if (source.startsWith("script:scripts/testenv-sinks-") || source === "script:scripts/testenv-podresources.sh") {
    const r = spawnSync("bash", [path.join(REPO_ROOT, source.slice(7)), "--check"], { cwd: REPO_ROOT, encoding: "utf8" });
    const printed = (r.stdout ?? "").trim().split("\n").pop() ?? "";
    return r.status === 0 && printed && existsSync(printed) ? printed : undefined;
  }
  // The control plane for test/integration/k8s: the script prints its directory, programs are in bin/.
  if (source === "script:scripts/testenv-k8s.sh") {
    const r = spawnSync("bash", [path.join(REPO_ROOT, source.slice(7)), "--check"], { cwd: REPO_ROOT, encoding: "utf8" });
    const dir = (r.stdout ?? "").trim().split("\n").pop() ?? "";
    const bin = dir && path.join(dir, "bin", name);
    return r.status === 0 && bin && existsSync(bin) ? bin : undefined;
  }
  // Built into the cache, not on PATH (test/packaging/tools.ts knows where).
  const cached: Record<string, string> = { helm: tools.helm, kubeconform: tools.kubeconform };
  if (name in cached) return existsSync(cached[name]) ? cached[name] : undefined;
  const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  if (r.status === 0) return r.stdout.trim();
  return SBIN.map((d) => path.join(d, name)).find((p) => existsSync(p));
}

/**
 * Whether a suite needing these programs runs: true when all are present, and true in CI as well
 * (the suite then fails through requirePrograms); elsewhere false, with one note per missing program.
 */
export function havePrograms(suite: string, ...names: string[]): boolean {
  const missing = names.filter((n) => locateProgram(n) === undefined);
  if (missing.length === 0 || IN_CI) return true;
  for (const n of missing)
    process.stderr.write(`[tests] skipping "${suite}": ${n} is not installed (${installHint(n)}); CI=true would fail\n`);
  return false;
}

/** The program's path; throws naming the installer when it is missing (the CI failure). */
export function requireProgram(name: string): string {
  const found = locateProgram(name);
  if (found === undefined) throw new Error(`${name} is not installed: ${installHint(name)} (listed in scripts/test-programs.txt)`);
  return found;
}
