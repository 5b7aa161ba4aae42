import type { LogStream } from "../record.js";

/** Attributes of a record emitted from partial pieces whose final piece never came (idle flush). */
export const PARTIAL_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({ partial: "true" });

/**
 * Pieces of one logical line that a container runtime split (CRI `P` lines, docker json-file
 * 16 KiB pieces), held per stream until the final piece arrives. The merged size is capped:
 * past the cap, further pieces are dropped and the record is marked truncated (the caller
 * counts it once).
 */
export class PartialPieces<T> {
  private parts: T[] = [];
  private size = 0;
  /** File offset of the first piece's line. */
  start = Infinity;
  /** Time of the first piece: the record's time. */
  time = "";
  truncated = false;

  constructor(
    readonly stream: LogStream,
    private readonly cap: number,
  ) {}

  /** Units (bytes or UTF-16 units) held. */
  get bytes(): number {
    return this.size;
  }

  get empty(): boolean {
    return this.start === Infinity;
  }

  /**
   * Adds a piece of `length` units. `cut(piece, n)` returns the piece's first n units. Returns
   * true when this call made the merged record reach the cap (so the caller counts the cut once).
   */
  add(piece: T, length: number, start: number, time: string, cut: (piece: T, n: number) => T): boolean {
    if (this.start === Infinity) {
      this.start = start;
      this.time = time;
    }
    if (this.truncated) return false;
    const room = this.cap - this.size;
    if (length <= room) {
      this.parts.push(piece);
      this.size += length;
      return false;
    }
    if (room > 0) this.parts.push(cut(piece, room));
    this.size = this.cap;
    this.truncated = true;
    return true;
  }

  /** Hands out the held pieces, with the first piece's time, and starts over. */
  take(): { parts: T[]; time: string; truncated: boolean } {
    const taken = { parts: this.parts, time: this.time, truncated: this.truncated };
    this.parts = [];
    this.size = 0;
    this.start = Infinity;
    this.truncated = false;
    return taken;
  }
}
