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

/** A rotated name's place in its stream's history, as far as the name tells it. */
type RotationRank = { kind: "index"; n: number } | { kind: "time"; digits: string } | undefined;

function rankOf(file: string): RotationRank {
  const name = path.basename(file).replace(/\.gz$/, "");
  const m = ANY_ROTATED.exec(name);
  if (!m) return undefined;
  const index = /^\.(\d{1,4})$/.exec(m[2]);
  if (index) return { kind: "index", n: Number(index[1]) };
  return { kind: "time", digits: m[2].replace(/\D/g, "") };
}

/**
 * Which of two rotated files of one stream holds older data, by their names: logrotate's
 * `name.N` counts up with age (`syslog.3.gz` is older than `syslog.1`), dates and timestamps
 * (dateext, the kubelet's `0.log.<time>`) count up with time. Negative when `a` is older,
 * positive when `b` is, 0 when the names do not tell. A name without rotation suffix is the
 * active name, the newest (a file rotated to a name no glob matches keeps it). Modification
 * times cannot tell: a `.gz` is written when it is compressed, after the newer file it rotated
 * before.
 */
export function compareRotationAge(a: string, b: string): number {
  const ra = rankOf(a);
  const rb = rankOf(b);
  if (ra === undefined || rb === undefined) return ra === rb ? 0 : ra === undefined ? 1 : -1;
  if (ra?.kind === "index" && rb?.kind === "index") return rb.n - ra.n;
  if (ra?.kind === "time" && rb?.kind === "time" && ra.digits.length === rb.digits.length) {
    return ra.digits < rb.digits ? -1 : ra.digits > rb.digits ? 1 : 0;
  }
  return 0;
}

/**
 * The regular files in `dir` whose names are rotated names of `base`, oldest first (by the names
 * where they tell, else by modification time). Unreadable or vanishing entries are left out, and
 * so is a `.gz` next to its uncompressed original.
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
  // The same rotation twice, `name.1` and `name.1.gz`: gzip is still writing the .gz (it removes
  // its input once done), or it was told to keep it. The uncompressed file is whole; the .gz may
  // not be yet, and reading both would give its lines twice.
  const uncompressed = new Set(out.filter((c) => !c.compressed).map((c) => c.path));
  return out
    .filter((c) => !(c.compressed && uncompressed.has(c.path.slice(0, -".gz".length))))
    .sort((a, b) => compareRotationAge(a.path, b.path) || (a.stat.mtimeNs < b.stat.mtimeNs ? -1 : a.stat.mtimeNs > b.stat.mtimeNs ? 1 : 0));
}
