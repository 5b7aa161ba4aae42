import fs from "node:fs";

/** A stretch of a writer's lines [from, to) held by one file (inode), and when its last plain copy went. */
interface Segment {
  writer: string;
  from: number;
  to: number;
  ino: number;
  goneAtMs?: number;
}

/**
 * Which file holds which lines, and when the rotator compressed or deleted it: so a lost line
 * can be told apart as one the rotator took away before any agent could read it.
 */
export class FileHistory {
  private readonly segments: Segment[] = [];

  /** A writer (re)opened its file at `seq`: its previous file holds the lines up to here. */
  opened(writer: string, seq: number, ino: number): void {
    const open = this.segments.find((s) => s.writer === writer && s.to === Infinity);
    if (open) open.to = seq;
    this.segments.push({ writer, from: seq, to: Infinity, ino });
  }

  /** A file (a copy) holds `[from, to)` of a writer's lines. */
  holds(writer: string, from: number, to: number, file: string): void {
    const ino = inode(file);
    if (ino !== undefined) this.segments.push({ writer, from, to, ino });
  }

  /** Call right before the rotator deletes (or compresses away) the plain `file`. */
  gone(file: string): void {
    const ino = inode(file);
    if (ino === undefined) return;
    const now = Date.now();
    for (const s of this.segments) if (s.ino === ino && s.goneAtMs === undefined) s.goneAtMs = now;
  }

  /** When the last plain file holding line `seq` went; undefined while one is still there (or unknown). */
  goneAt(writer: string, seq: number): number | undefined {
    let latest: number | undefined;
    for (const s of this.segments) {
      if (s.writer !== writer || seq < s.from || seq >= s.to) continue;
      if (s.goneAtMs === undefined) return undefined;
      latest = Math.max(latest ?? 0, s.goneAtMs);
    }
    return latest;
  }
}

function inode(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}
