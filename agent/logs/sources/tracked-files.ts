import type { FileTailer } from "./file-tailer.js";

/**
 * The files a FileTailManager tracks: one FileTailer per file identity (device:inode), the name
 * each was last seen under, and the forgotten ones whose checkpoint entry goes once their last
 * records are acknowledged.
 */
export class TrackedFiles {
  private readonly byKey = new Map<string, FileTailer>();
  private readonly byPath = new Map<string, FileTailer>();
  private readonly forgotten = new Set<FileTailer>();

  get(key: string): FileTailer | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** The tailer last seen under the name `file`. */
  atPath(file: string): FileTailer | undefined {
    return this.byPath.get(file);
  }

  values(): IterableIterator<FileTailer> {
    return this.byKey.values();
  }

  add(t: FileTailer, file: string): void {
    this.byKey.set(t.key, t);
    this.byPath.set(file, t);
  }

  /** The file is now seen under the name `file`. */
  rename(t: FileTailer, file: string): void {
    this.unname(t);
    t.path = file;
    this.byPath.set(file, t);
  }

  /** No name leads to the file any more (its path is kept: the last it was seen under). */
  unname(t: FileTailer): void {
    if (this.byPath.get(t.path) === t) this.byPath.delete(t.path);
  }

  /** Stops tracking the file; it finishes once its records are acknowledged. */
  forget(t: FileTailer): void {
    if (this.byKey.get(t.key) === t) this.byKey.delete(t.key);
    this.unname(t);
    this.forgotten.add(t);
  }

  /** Forgotten tailers with records not acknowledged yet. */
  get finishing(): ReadonlySet<FileTailer> {
    return this.forgotten;
  }

  /** Forgotten tailers whose records are all acknowledged, taken out: their checkpoint entry can go. */
  takeFinished(): FileTailer[] {
    const done = [...this.forgotten].filter((t) => t.pendingTickets === 0);
    for (const t of done) this.forgotten.delete(t);
    return done;
  }

  countOpen(): { total: number; draining: number } {
    let total = 0;
    let draining = 0;
    for (const t of this.byKey.values()) {
      if (!t.isOpen) continue;
      total++;
      if (t.state === "rotated") draining++;
    }
    return { total, draining };
  }

  /** Open active files idle at their end, holding nothing partial, for `idleMs`: the oldest `wanted` of them. */
  idleAtEnd(wanted: number, idleMs: number, now = Date.now()): FileTailer[] {
    return [...this.byKey.values()]
      .filter((t) => t.isOpen && t.state === "active" && t.lagBytes === 0 && !t.holdsPartialData && now - t.lastGrowthAt >= idleMs)
      .sort((a, b) => a.lastGrowthAt - b.lastGrowthAt)
      .slice(0, wanted);
  }
}
