import fs from "node:fs/promises";
import type { BigIntStats } from "node:fs";
import path from "node:path";

/**
 * The names a rotator gives a file after it was the active `name`: logrotate's `name.N` (and
 * `name.N.gz` after compress/delaycompress), dateext's `name-YYYYMMDD` (any `dateformat` of
 * digits and separators), and the kubelet's `0.log.YYYYMMDD-HHMMSS` (and `.gz`). A rotation
 * suffix is one or more groups of `.` or `-` followed by a digit and digits, `-`, `_`.
 */
const SUFFIX = /^((?:[.-]\d[\d_-]*)+)(\.gz)?$/;
const ANY_ROTATED = /^(.+?)((?:[.-]\d[\d_-]*)+)(\.gz)?$/;

/** Whether `name` (a basename) is a rotated name of the active basename `base`. */
export function isRotationOf(name: string, base: string): boolean {
  return name.length > base.length && name.startsWith(base) && SUFFIX.test(name.slice(base.length));
}

export function isCompressedName(name: string): boolean {
  return name.endsWith(".gz");
}

/**
 * The active path a rotated path came from, by its name alone (`/var/log/syslog.2.gz` ->
 * `/var/log/syslog`), or undefined when the name has no rotation suffix.
 */
export function activePathOf(file: string): string | undefined {
  const m = ANY_ROTATED.exec(path.basename(file));
  return m ? path.join(path.dirname(file), m[1]) : undefined;
}

export interface RotatedCandidate {
  path: string;
  stat: BigIntStats;
  compressed: boolean;
}

/** Entries looked at in one directory when listing a stream's rotated files. */
const MAX_ENTRIES = 10_000;

/**
 * The regular files in `dir` whose names are rotated names of `base`, oldest (mtime) first.
 * Unreadable or vanishing entries are left out.
 */
export async function rotatedFilesOf(dir: string, base: string): Promise<RotatedCandidate[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const out: RotatedCandidate[] = [];
  for (const name of names.slice(0, MAX_ENTRIES)) {
    if (!isRotationOf(name, base)) continue;
    const file = path.join(dir, name);
    const st = await fs.lstat(file, { bigint: true }).catch(() => undefined);
    if (st?.isFile()) out.push({ path: file, stat: st, compressed: isCompressedName(name) });
  }
  return out.sort((a, b) => (a.stat.mtimeNs < b.stat.mtimeNs ? -1 : a.stat.mtimeNs > b.stat.mtimeNs ? 1 : 0));
}
