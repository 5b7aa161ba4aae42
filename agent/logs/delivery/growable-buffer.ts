/** Bytes appended at the end of one Buffer that grows (by doubling) only when it must. */
export class GrowableBuffer {
  private buf: Buffer;
  length = 0;

  /** `reuse`: a buffer of at least `capacity` bytes to write into instead of a new one. */
  constructor(capacity: number, reuse?: Buffer) {
    // allocUnsafeSlow: a batch-sized buffer of its own, never a slice of Node's shared pool.
    this.buf = reuse ?? Buffer.allocUnsafeSlow(Math.max(capacity, 256));
  }

  get capacity(): number {
    return this.buf.length;
  }

  /** The buffer to write into, with room for `more` bytes after `length`. */
  reserve(more: number): Buffer {
    if (this.length + more > this.buf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.length + more));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    return this.buf;
  }

  append(bytes: Uint8Array): void {
    this.reserve(bytes.length).set(bytes, this.length);
    this.length += bytes.length;
  }

  /** The whole buffer the bytes are in (to reuse it once they are no longer needed). */
  get backing(): Buffer {
    return this.buf;
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}
