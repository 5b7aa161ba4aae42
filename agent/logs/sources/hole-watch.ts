import type { FileHandle } from "node:fs/promises";
import { holeBefore, readAt } from "./file-identity.js";
import { endOfZeros } from "./line-splitter.js";

/** NULs before the armed offset (or from the chunk's start, after a NUL) that make it a hole, not a writer's "\n\0". */
const HIDDEN_REWRITE_MIN_NULS = 64;

/** A rewrite in place that a tailer's read found: why, and how much of the old generation it had not read. */
export interface HoleFound {
  why: string;
  unreadBytes: number;
}

/**
 * How a tailer tells, within one file generation, that its file was truncated and written on at
 * an offset: a copytruncate of a file its writer does not open O_APPEND. The size does not drop
 * below what was read, and once the file starts with a hole its first bytes (NULs) stay the same,
 * so neither of the tailer's other checks sees it; the old generation's unread rest is in the
 * copy. Two ways it shows:
 * - reading stands on data and the next chunk starts with a NUL where the last byte read, data,
 *   is NUL now (holeAtReadStart);
 * - reading stands at a generation's start or in a hole, and a write's last byte seen earlier
 *   (armed where it was data) reads as a NUL in a run of them (hiddenRewrite).
 */
export class HoleWatch {
  /**
   * The last byte read in this generation, to tell a hole made since from NULs that are data;
   * unknown after a resume from a checkpoint and at a generation's start.
   */
  private lastByteRead: number | undefined;
  /**
   * An offset not read yet that held data when a stat saw it (the last byte of the file then: a
   * write ended there).
   */
  private dataAt: number | undefined;
  /** Where reading of this generation first met data (FileCheckpoint.dataFrom). */
  firstDataAt: number | undefined;

  /** A new generation: nothing read of it yet. */
  reset(): void {
    this.lastByteRead = undefined;
    this.dataAt = undefined;
    this.firstDataAt = undefined;
  }

  /** Reading stands at a generation's start or in a hole: where hiddenRewrite is armed. */
  get inHole(): boolean {
    return this.lastByteRead === undefined || this.lastByteRead === 0;
  }

  /**
   * Arms hiddenRewrite at a file size just seen, where its last byte is data now: a write ended
   * there. Not where it is a NUL: a file extended by truncate or preallocation (a hole at its end),
   * zeros a writer wrote, a writer that ends lines with "\n\0". The opener arms it when it opens
   * the file, before the restart's recovery or the read queue delays the first read.
   */
  async arm(handle: FileHandle, size: number, readOffset: number): Promise<void> {
    if (this.dataAt !== undefined || size <= readOffset) return;
    const byte = await readAt(handle, size - 1, 1);
    if (byte.length === 1 && byte[0] !== 0) this.dataAt = size - 1;
  }

  /**
   * A chunk read at `readOffset` that starts with a NUL where the last byte read, data, is NUL now:
   * log files only grow, so the file was rewritten. NULs that are data (a chunk that happens to
   * start at one) leave the byte before them as it was read (a first version took any chunk that
   * started at one for a truncation, and read the file again from 0 without end).
   */
  async holeAtReadStart(handle: FileHandle, chunk: Buffer, readOffset: number): Promise<HoleFound | undefined> {
    if (chunk[0] !== 0 || this.lastByteRead === undefined || this.lastByteRead === 0) return undefined;
    if (!(await holeBefore(handle, readOffset))) return undefined;
    return {
      why: `a hole of NUL bytes begins at offset ${readOffset}, where reading had stopped: truncated, and written on at an offset (copytruncate of a file its writer does not open O_APPEND)`,
      unreadBytes: endOfZeros(chunk, 0),
    };
  }

  /**
   * Such a rotation while reading stands in a hole: no byte read turns NUL, and the old
   * generation's lines were skipped with the new, longer hole (the torture's copytruncate-noappend
   * x startup lost 2,818 lines per file that way). The armed offset read as a NUL in a run of
   * them, with the file grown past it, shows it. (A first version armed it without looking at the
   * byte and asked for a sparse file instead: a file extended with a hole at its end and then
   * appended to was read again whole, and a writer that wrote more after the truncate than before
   * it went unseen; a review found both.)
   */
  hiddenRewrite(chunk: Buffer, readOffset: number, size: number): HoleFound | undefined {
    const at = this.dataAt;
    if (at === undefined || at >= readOffset + chunk.length) return undefined;
    this.dataAt = undefined;
    const i = at - readOffset;
    if (i < 0 || chunk[i] !== 0 || size <= at + 1) return undefined;
    const from = Math.max(0, i - (HIDDEN_REWRITE_MIN_NULS - 1));
    if (i - from < HIDDEN_REWRITE_MIN_NULS - 1 && this.lastByteRead !== 0) return undefined;
    if (endOfZeros(chunk.subarray(from, i + 1), 0) !== i + 1 - from) return undefined;
    return {
      why: `offset ${at}, data when the file was ${at + 1} bytes long, is inside a hole of NUL bytes now, read from offset ${readOffset}: truncated, and written on at an offset (copytruncate of a file its writer does not open O_APPEND)`,
      unreadBytes: at + 1 - readOffset,
    };
  }

  /** `chunk` was read at `readOffset` and handed on. */
  consumed(chunk: Buffer, readOffset: number): void {
    if (this.firstDataAt === undefined) {
      const data = endOfZeros(chunk, 0);
      if (data < chunk.length) this.firstDataAt = readOffset + data;
    }
    this.lastByteRead = chunk[chunk.length - 1];
  }
}
