/**
 * Where the packaging tests find the real tools that scripts/testenv-*.sh build or fetch, and the
 * rule for when they are missing: in CI (CI=true) a missing tool is a failure, naming the script
 * that installs it; on a developer machine the suite that needs it is skipped with that message.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const CHART = path.join(REPO, "chart");
export const IN_CI = /^(1|true|yes)$/i.test(process.env.CI ?? "");

/** KEY=value lines of scripts/testenv-versions.sh (the one place versions are pinned). */
export function versions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path.join(REPO, "scripts/testenv-versions.sh"), "utf8").split("\n")) {
    const m = /^([A-Z0-9_]+)=(?:"([^"]*)"|(\S*))/.exec(line);
    if (m) out[m[1]] = m[2] ?? m[3];
  }
  return out;
}

export const CACHE = process.env.TESTENV_CACHE ?? path.join(os.homedir(), ".cache/nodetap-testenv");
const V = versions();

export const tools = {
  helm: path.join(CACHE, `helm-${V.HELM_VERSION}`, "bin/helm"),
  kubeconform: path.join(CACHE, `kubeconform-${V.KUBECONFORM_VERSION}`, "bin/kubeconform"),
  kubeSchemas: path.join(CACHE, "kube-schemas"),
  crdSchemas: path.join(CACHE, "kube-schemas", `prometheus-operator-${V.PROMETHEUS_OPERATOR_VERSION}`),
  kubeVersions: V.KUBE_SCHEMA_VERSIONS.split(/\s+/).filter(Boolean),
  nodeLtsVersion: V.NODE_LTS_VERSION,
};

export function onPath(cmd: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Whether a suite needing `what` runs: true when present. When absent: in CI, true as well (the
 * suite runs and its first test fails with `why`); elsewhere false (skipped), with a note.
 */
export function gate(what: string, present: boolean, why: string): boolean {
  if (present) return true;
  if (IN_CI) return true;
  process.stderr.write(`[packaging tests] skipping ${what} here (CI would fail): ${why}\n`);
  return false;
}

/** Throws the gate's message when a tool is missing (the CI failure). */
export function requirePresent(present: boolean, why: string): void {
  if (!present) throw new Error(why);
}

export const helmPresent = () => existsSync(tools.helm);
export const kubeconformPresent = () =>
  existsSync(tools.kubeconform) &&
  tools.kubeVersions.every((v) => existsSync(path.join(tools.kubeSchemas, `${v}-standalone-strict`, ".complete"))) &&
  existsSync(path.join(tools.crdSchemas, ".complete"));

export function run(cmd: string, args: string[], opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    cwd: opts.cwd ?? REPO,
    input: opts.input,
    env: opts.env,
  });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

export function sh(command: string): string {
  return execFileSync("bash", ["-c", command], { encoding: "utf8", cwd: REPO }).trim();
}

export const packageVersion = (): string =>
  (JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { version: string }).version;
