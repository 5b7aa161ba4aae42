import { isUtf8 } from "node:buffer";

/**
 * Receives each complete line. `line` may be a view into the read buffer, valid only during the
 * call. `start` is the file offset of the line's first byte. `truncated` means the line was
 * longer than the limit and only its first bytes are given (the rest is skipped).
 */
export type LineHandler = (line: Buffer, start: number, truncated: boolean, validUtf8: boolean) => void;

/**
 * Splits a file's bytes, fed in chunks at increasing offsets, into lines on \n. Works on the
 * chunk in place (indexOf + subarray); only an unfinished line at the end of a chunk is copied
 * and carried to the next one, and never more than maxLineBytes of it: a longer line is emitted
 * cut at the limit and the remainder is skipped up to its newline.
 *
 * `safeOffset` is the offset up to which every byte belongs to a line already handed out (or
 * skipped as the tail of an over-long line whose newline was seen). It is what a checkpoint may
 * record: resuming there never splits a line.
 *
 * NUL bytes where a line would start are skipped, not made part of it: no text line starts with
 * one, and a run of them is a hole in the file, left where a writer that did not open it O_APPEND
 * wrote on at its old offset after a copytruncate (the hole is as long as the old generation).
 * Read as a line, the hole became one huge record of NULs, cut at tail.maxLineBytes, with the
 * first real line inside it. `takeSkippedNuls` counts them and the first run's offset. A run that
 * no line follows yet keeps `safeOffset` before it: a checkpoint there follows data (a line's
 * end), never a NUL, which after a restart means the file was rewritten (file-identity.ts,
 * holeBefore).
 */
export class LineSplitter {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private carryStart = 0;
  /** Inside an over-long line whose head was emitted; bytes are dropped up to the next \n. */
  private skipping = false;
  private safe: number;
  /** NUL bytes skipped at line starts since the last takeSkippedNuls(), and where the first run began. */
  private nulBytes = 0;
  private nulAt = -1;
  /** Where the NUL run skipped since the last line's end began (-1: none): safeOffset stays there. */
  private nulRunStart = -1;

  constructor(
    private readonly maxLineBytes: number,
    startOffset: number,
  ) {
    this.safe = startOffset;
  }

  get safeOffset(): number {
    return this.safe;
  }

  /** Bytes of an unfinished line held in memory. */
  get carriedBytes(): number {
    return this.carryBytes;
  }

  /** The NUL bytes skipped at line starts since the last call, and the offset of the first; then forgets them. */
  takeSkippedNuls(): { bytes: number; at: number } | undefined {
    if (this.nulBytes === 0) return undefined;
    const taken = { bytes: this.nulBytes, at: this.nulAt };
    this.nulBytes = 0;
    this.nulAt = -1;
    return taken;
  }

  /** True while an unfinished line is held or an over-long line is being skipped. */
  get hasPartial(): boolean {
    return this.carryBytes > 0 || this.skipping;
  }

  push(chunk: Buffer, offset: number, onLine: LineHandler): void {
    const n = chunk.length;
    let pos = 0;
    if (this.skipping) {
      const nl = chunk.indexOf(0x0a);
      if (nl < 0) return;
      this.skipping = false;
      pos = nl + 1;
      this.safe = offset + pos;
      this.nulRunStart = -1;
    } else if (this.carryBytes > 0) {
      pos = this.continueCarried(chunk, offset, onLine);
      if (pos < 0) return;
    }
    const chunkValid = isUtf8(chunk.subarray(pos));
    const max = this.maxLineBytes;
    for (;;) {
      if (pos < n && chunk[pos] === 0) {
        const end = endOfZeros(chunk, pos);
        if (this.nulBytes === 0) this.nulAt = offset + pos;
        if (this.nulRunStart < 0) this.nulRunStart = offset + pos;
        this.nulBytes += end - pos;
        pos = end;
      }
      const nl = chunk.indexOf(0x0a, pos);
      if (nl < 0) break;
      if (nl - pos > max) {
        const cut = utf8Boundary(chunk, pos, pos + max);
        onLine(chunk.subarray(pos, cut), offset + pos, true, isUtf8(chunk.subarray(pos, cut)));
      } else {
        const line = chunk.subarray(pos, nl);
        onLine(line, offset + pos, false, chunkValid || isUtf8(line));
      }
      pos = nl + 1;
      this.nulRunStart = -1;
    }
    this.safe = this.nulRunStart >= 0 ? this.nulRunStart : offset + pos;
    if (pos === n) return;
    if (n - pos > max) {
      const cut = utf8Boundary(chunk, pos, pos + max);
      onLine(chunk.subarray(pos, cut), offset + pos, true, isUtf8(chunk.subarray(pos, cut)));
      this.skipping = true;
      return;
    }
    this.carry = [Buffer.from(chunk.subarray(pos))];
    this.carryBytes = n - pos;
    this.carryStart = offset + pos;
  }

  /** Completes a carried line with the head of `chunk`; returns where the chunk's own lines start, or -1 if it was used up. */
  private continueCarried(chunk: Buffer, offset: number, onLine: LineHandler): number {
    const nl = chunk.indexOf(0x0a);
    const take = nl < 0 ? chunk.length : nl;
    if (this.carryBytes + take > this.maxLineBytes) {
      this.carry.push(chunk.subarray(0, utf8Boundary(chunk, 0, this.maxLineBytes - this.carryBytes)));
      const line = Buffer.concat(this.carry);
      onLine(line, this.carryStart, true, isUtf8(line));
      this.clearCarry();
      if (nl < 0) {
        this.skipping = true;
        return -1;
      }
      this.safe = offset + nl + 1;
      this.nulRunStart = -1;
      return nl + 1;
    }
    if (nl < 0) {
      this.carry.push(Buffer.from(chunk));
      this.carryBytes += chunk.length;
      return -1;
    }
    this.carry.push(chunk.subarray(0, nl));
    const line = Buffer.concat(this.carry);
    onLine(line, this.carryStart, false, isUtf8(line));
    this.clearCarry();
    this.safe = offset + nl + 1;
    this.nulRunStart = -1;
    return nl + 1;
  }

  /**
   * Ends the current line at `endOffset` (the end of the file, which is being left or has been
   * idle): a carried line without newline is emitted; an over-long line being skipped is over.
   * Returns true when a line was emitted.
   */
  flushPartial(endOffset: number, onLine: LineHandler): boolean {
    if (this.skipping) {
      this.skipping = false;
      this.safe = endOffset;
      this.nulRunStart = -1;
      return false;
    }
    if (this.carryBytes === 0) return false;
    const line = this.carry.length === 1 ? this.carry[0] : Buffer.concat(this.carry);
    const start = this.carryStart;
    this.clearCarry();
    this.safe = start + line.length;
    this.nulRunStart = -1;
    onLine(line, start, false, isUtf8(line));
    return true;
  }

  /** Starts over at `offset`, dropping any partial line (the file was truncated or replaced). */
  reset(offset: number): void {
    this.clearCarry();
    this.skipping = false;
    this.safe = offset;
    this.nulRunStart = -1;
  }

  private clearCarry(): void {
    this.carry = [];
    this.carryBytes = 0;
  }
}

const ZEROS = Buffer.alloc(4096);

/** The index of the first non-zero byte of `buf` at or after `pos` (buf.length if none): 4 KiB at a time by memcmp. */
export function endOfZeros(buf: Buffer, pos: number): number {
  const n = buf.length;
  const block = ZEROS.length;
  while (n - pos >= block && buf.compare(ZEROS, 0, block, pos, pos + block) === 0) pos += block;
  while (pos < n && buf[pos] === 0) pos++;
  return pos;
}

/** Moves `end` back so that bytes [start, end) do not end inside a UTF-8 multi-byte sequence. */
export function utf8Boundary(buf: Buffer, start: number, end: number): number {
  if (end >= buf.length) return buf.length;
  let i = end;
  // Continuation bytes are 10xxxxxx; step back over at most 3 of them to the sequence's lead byte.
  while (i > start && end - i < 3 && (buf[i] & 0xc0) === 0x80) i--;
  return (buf[i] & 0xc0) === 0x80 ? end : i;
}
