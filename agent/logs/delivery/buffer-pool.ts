/**
 * Encoded batches' buffers, reused. At full speed an HTTP sink fills a batch buffer of
 * `batch.maxBytes` (1 MiB) every few milliseconds and, once its gzip body is made, the buffer is
 * dead; V8 frees such buffers only at its next garbage collection, so tens of them were waiting
 * at any time (on Node 24, 20-40 MiB of the draining peak: docs/benchmarks.md, "Memory"). A
 * buffer whose lines are no longer needed comes back here and the next batch is written into it.
 * The pool keeps a few, and none once batches stop coming for a while: an idle agent holds no
 * pooled buffer.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private lastTakenAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly maxBuffers: number,
    /** Larger buffers (a batch grown past its usual size for a long line) are let go. */
    private readonly maxBufferBytes: number,
    private readonly idleReleaseMs = 2000,
  ) {}

  /** A pooled buffer of at least `minBytes` (its contents are garbage), or undefined. */
  take(minBytes: number): Buffer | undefined {
    this.lastTakenAt = Date.now();
    for (let i = this.free.length - 1; i >= 0; i--) {
      if (this.free[i].length < minBytes) continue;
      const buf = this.free[i];
      this.free.splice(i, 1);
      return buf;
    }
    return undefined;
  }

  /**
   * Takes back a buffer nothing refers to any more (the caller's promise: any view of it left
   * elsewhere would see the next batch's bytes).
   */
  give(buf: Buffer): void {
    if (buf.length > this.maxBufferBytes || this.free.length >= this.maxBuffers) return;
    this.free.push(buf);
    this.timer ??= this.scheduleRelease();
  }

  get size(): number {
    return this.free.length;
  }

  private scheduleRelease(): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timer = undefined;
      if (Date.now() - this.lastTakenAt >= this.idleReleaseMs) this.free.length = 0;
      else if (this.free.length > 0) this.timer = this.scheduleRelease();
    }, this.idleReleaseMs);
    timer.unref();
    return timer;
  }
}
