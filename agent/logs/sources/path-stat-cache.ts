import type { BigIntStats } from "node:fs";
import path from "node:path";

/** Every this many scans, every path is stat'ed again whatever the watches said. */
const FULL_SWEEP_EVERY = 10;

export interface ScanStats {
  /** Paths stat'ed in this scan (size and identity are current). */
  readonly fresh: Map<string, BigIntStats>;
  /** Paths whose last result is reused: nothing in their directory changed since (identity only). */
  readonly cached: Map<string, BigIntStats>;
}

/**
 * Keeps scans cheap on nodes with thousands of log files: a path is stat'ed again only when it
 * is new, when its directory had a watch event since the last scan (a write, rename or delete),
 * when watch events do not cover it (its directory is not watched, or it is a symlink: its
 * target is renamed in another directory), or on a full sweep every FULL_SWEEP_EVERY scans
 * (watches can miss events on some filesystems).
 */
export class PathStatCache {
  private readonly cache = new Map<string, BigIntStats>();
  private readonly dirtyDirs = new Set<string>();
  private scans = 0;

  markDirty(dir: string): void {
    this.dirtyDirs.add(dir);
  }

  async statForScan(
    paths: readonly string[],
    /** Whether a watch event in `dir` would tell of a change to `file`. */
    isWatched: (dir: string, file: string) => boolean,
    statAll: (paths: string[]) => Promise<Map<string, BigIntStats>>,
  ): Promise<ScanStats> {
    const full = this.scans++ % FULL_SWEEP_EVERY === 0;
    const dirty = new Set(this.dirtyDirs);
    this.dirtyDirs.clear();
    const toStat: string[] = [];
    const cached = new Map<string, BigIntStats>();
    for (const p of paths) {
      const dir = path.dirname(p);
      const prior = this.cache.get(p);
      if (full || prior === undefined || dirty.has(dir) || !isWatched(dir, p)) toStat.push(p);
      else cached.set(p, prior);
    }
    const fresh = await statAll(toStat);
    const wanted = new Set(paths);
    for (const p of this.cache.keys()) if (!wanted.has(p)) this.cache.delete(p);
    for (const p of toStat) {
      const st = fresh.get(p);
      if (st === undefined) this.cache.delete(p);
      else this.cache.set(p, st);
    }
    return { fresh, cached };
  }
}
