import fs from "node:fs";

export type AddonExports = Record<string, unknown>;

/** What a search for a native addon found: the first usable one's exports, and why each file before it was not usable. */
export interface AddonSearch {
  readonly exports?: AddonExports;
  readonly failures: readonly string[];
}

/**
 * Tries each candidate in order: the first that exists, loads with process.dlopen and passes
 * `check` (undefined: usable; else why not, e.g. "is not nodetap's timex addon") wins. Missing
 * files are skipped silently; every other failure is named with its file, for the caller's error.
 */
export function findAddon(candidates: readonly string[], check: (exports: AddonExports) => string | undefined): AddonSearch {
  const failures: string[] = [];
  for (const file of candidates) {
    if (!fs.existsSync(file)) continue;
    const mod: { exports: AddonExports } = { exports: {} };
    try {
      process.dlopen(mod, file);
    } catch (err) {
      failures.push(`${file} could not be loaded (${(err as Error).message.split("\n")[0]})`);
      continue;
    }
    const unusable = check(mod.exports);
    if (unusable !== undefined) {
      failures.push(`${file} ${unusable}`);
      continue;
    }
    return { exports: mod.exports, failures };
  }
  return { failures };
}
