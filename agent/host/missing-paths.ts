import fs from "node:fs";

/**
 * Paths a collector found missing, asked cheaply on the next scrape. Most hosts lack most optional
 * features (zfs, nfs, bcache, infiniband, ...), and every scrape looks for them again, as
 * node_exporter does. Learning that a path is missing by opening it costs Node about 45 µs (an
 * Error with a stack trace is built and thrown), more than reading a file that is there (about
 * 20 µs); a stat that does not throw costs about 4 µs. On a typical VM 20-25 paths a scrape are
 * missing: about a tenth of a scrape's CPU. So a path that was missing last time is stat'ed first,
 * and when it is still missing the caller gets the same answer (ENOENT, thrown without a stack
 * where the caller expects a throw) without the open. A path that appears is read normally.
 */
const missingLastTime = new Set<string>();
/** Bounds the memory if paths keep changing (pod-named paths, say): the set starts over. */
const MAX_REMEMBERED = 4096;

/** True when `filePath` was missing last time and still is (ENOENT). */
export function stillMissing(filePath: string): boolean {
  if (!missingLastTime.has(filePath)) return false;
  try {
    if (fs.statSync(filePath, { throwIfNoEntry: false }) === undefined) return true;
  } catch {
    // Another error (ENOTDIR, EACCES): not known to be missing, the real call reports it.
  }
  missingLastTime.delete(filePath);
  return false;
}

/** Notes `filePath` as missing when `err` says so (ENOENT); other errors are not remembered. */
export function rememberIfMissing(filePath: string, err: unknown): void {
  if ((err as NodeJS.ErrnoException | undefined)?.code !== "ENOENT") return;
  if (missingLastTime.size >= MAX_REMEMBERED) missingLastTime.clear();
  missingLastTime.add(filePath);
}

/** An ENOENT error like the one fs would throw (code, errno, syscall, path, message), without a stack. */
export function missingError(filePath: string, syscall: string): NodeJS.ErrnoException {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return Object.assign(new Error(`ENOENT: no such file or directory, ${syscall} '${filePath}'`), {
      code: "ENOENT",
      errno: -2,
      syscall,
      path: filePath,
    });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** fs.openSync(filePath, flags), remembering a missing path. */
export function openSync(filePath: string, flags: fs.OpenMode = "r"): number {
  if (stillMissing(filePath)) throw missingError(filePath, "open");
  try {
    return fs.openSync(filePath, flags);
  } catch (err) {
    rememberIfMissing(filePath, err);
    throw err;
  }
}

/** fs.readdirSync, remembering a missing directory. */
export function readdirSync(dir: string): string[];
export function readdirSync(dir: string, options: { withFileTypes: true }): fs.Dirent[];
export function readdirSync(dir: string, options?: { withFileTypes: true }): string[] | fs.Dirent[] {
  if (stillMissing(dir)) throw missingError(dir, "scandir");
  try {
    return options === undefined ? fs.readdirSync(dir) : fs.readdirSync(dir, options);
  } catch (err) {
    rememberIfMissing(dir, err);
    throw err;
  }
}

/** fs.statSync(filePath), remembering a missing path. */
export function statSync(filePath: string): fs.Stats {
  if (stillMissing(filePath)) throw missingError(filePath, "stat");
  try {
    return fs.statSync(filePath);
  } catch (err) {
    rememberIfMissing(filePath, err);
    throw err;
  }
}
