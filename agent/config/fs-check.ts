import fs from "node:fs";
import path from "node:path";

// Whether the agent could create and write a path, answered without creating or writing anything
// (check-config must leave no trace): by stat and access(2) on the path or its nearest existing parent.

/** procfs and sysfs magic numbers (statfs f_type). */
const PSEUDO_FS = new Set([0x9fa0, 0x62656572]);

/** Why `dir` could not be created or written (an errno code), without creating it; undefined when it could. */
export function writableDirProblem(dir: string): string | undefined {
  const wanted = path.resolve(dir);
  let p = wanted;
  for (let depth = 0; depth < 256; depth++) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const parent = path.dirname(p);
      if (code !== "ENOENT" || parent === p) return code ?? (err as Error).message;
      p = parent;
      continue;
    }
    if (!stat.isDirectory()) return "ENOTDIR";
    // mkdir under /proc or /sys fails (ENOENT) even for root, whom access() lets write anywhere.
    if (p !== wanted && PSEUDO_FS.has(fs.statfsSync(p).type)) return "ENOENT";
    try {
      fs.accessSync(p, fs.constants.W_OK | fs.constants.X_OK);
      return undefined;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    }
  }
  return "ELOOP";
}

/** Why `file` could not be opened for appending (created with its directories if missing); undefined when it could. */
export function writableFileProblem(file: string): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") return code ?? (err as Error).message;
    return writableDirProblem(path.dirname(path.resolve(file)));
  }
  if (stat.isDirectory()) return "EISDIR";
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}
