import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach } from "vitest";
import { HostPaths } from "../../agent/host/paths.js";
import type { CollectorDefinition } from "../../agent/metrics/collector.js";
import { FamilyCollector } from "../../agent/metrics/model.js";
import { e2eConfig, silentLogger } from "./fixtures.js";

/**
 * Small throw-away host trees for collector tests: files under proc/, sys/ and the root, removed
 * after each test. Call useHostTrees() once at the top of a test file.
 */

let roots: string[] = [];

export function useHostTrees(): void {
  afterEach(() => {
    for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
    roots = [];
  });
}

/** Creates a tree from relative path -> content ("proc/loadavg": "..."); returns its HostPaths. */
export function hostTree(files: Record<string, string>): HostPaths {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-host-"));
  roots.push(root);
  for (const dir of ["proc", "sys"]) fs.mkdirSync(path.join(root, dir));
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  }
  return new HostPaths({ procfs: path.join(root, "proc"), sysfs: path.join(root, "sys"), rootfs: root, udevData: path.join(root, "udev") });
}

/** Runs one scrape of a fresh collector on `paths` (with E2E_FLAGS plus `flags`). */
export async function scrapeTree(def: CollectorDefinition, paths: HostPaths, flags: string[] = []): Promise<FamilyCollector> {
  const out = new FamilyCollector();
  await def.create({ paths, config: e2eConfig(flags).metrics, logger: silentLogger }).update(out, { signal: new AbortController().signal });
  return out;
}

/** Sample values of one family keyed by their label values joined with ",". */
export function valuesOf(out: FamilyCollector, name: string): Map<string, number> {
  return new Map(out.families.get(name)?.samples.map((s) => [s.labelValues.join(","), s.value]) ?? []);
}
