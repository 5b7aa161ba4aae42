/**
 * The node_exporter fixture tree as node_exporter's end-to-end run saw it, for nodetap started as
 * a process: the recorded `proc/` plus `proc/net/dev` from test/fixtures/metrics-e2e (see its
 * README: node_exporter read netdev over rtnetlink from the live kernel, outside the tree). Built
 * as a temporary tree of symlinks, so the recorded fixtures stay untouched.
 */
import fs from "node:fs";
import path from "node:path";
import { E2E_FLAGS, FIXTURE_ROOT } from "./fixtures.js";
import { REPO_ROOT, tempDir } from "./agent-process.js";

export const METRICS_E2E_ROOT = path.join(REPO_ROOT, "test/fixtures/metrics-e2e");

/** Links every entry of `from` into `to`, except `skip`. */
function linkEntries(from: string, to: string, skip: readonly string[] = []): void {
  fs.mkdirSync(to, { recursive: true });
  for (const name of fs.readdirSync(from)) {
    if (!skip.includes(name)) fs.symlinkSync(path.join(from, name), path.join(to, name));
  }
}

let cached: string | undefined;

/** A procfs root: the recorded proc/ with net/dev added. */
export function e2eProcfs(): string {
  if (cached) return cached;
  const root = path.join(tempDir("nodetap-e2e-proc-"), "proc");
  linkEntries(path.join(FIXTURE_ROOT, "proc"), root, ["net"]);
  linkEntries(path.join(FIXTURE_ROOT, "proc/net"), path.join(root, "net"));
  linkEntries(path.join(METRICS_E2E_ROOT, "proc/net"), path.join(root, "net"));
  cached = root;
  return root;
}

/**
 * E2E_FLAGS with --path.procfs pointing at e2eProcfs(), and nodetap's own gpu collector off
 * (node_exporter has none; on a host with an NVIDIA driver it would add series the e2e output lacks).
 */
export function e2eProcessFlags(): string[] {
  const procfs = e2eProcfs();
  return [...E2E_FLAGS.map((f) => (f.startsWith("--path.procfs=") ? `--path.procfs=${procfs}` : f)), "--no-collector.gpu"];
}
