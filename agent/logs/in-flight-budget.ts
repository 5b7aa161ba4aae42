import type { LogMetrics } from "./metrics.js";

/**
 * The bound on records read but not yet acknowledged. Sources check `exhausted` before each
 * read and wait for room; acknowledgements release bytes. The files themselves are the buffer:
 * while reading is paused, lines wait on disk, not in memory.
 */
export class InFlightBudget {
  private used = 0;
  /**
   * Bytes sources hold in memory that are not records yet (a line's start waiting for its
   * newline, CRI/docker partial pieces, multiline assemblies). They count against the limit,
   * but while nothing is in flight they do not pause reading: reading on is then the only way
   * to complete (and so release) them.
   */
  private held = 0;
  private waiters: Array<() => void> = [];

  constructor(
    readonly limit: number,
    private readonly metrics: LogMetrics,
  ) {
    metrics.inFlightLimitBytes.set(limit);
    metrics.inFlightBytes.set(0);
    metrics.readingPaused.set(0);
  }

  /** Records in flight plus bytes held by sources. */
  get bytes(): number {
    return this.used + this.held;
  }

  /** Bytes left before the limit (0 when at or past it). */
  get room(): number {
    return Math.max(0, this.limit - this.used - this.held);
  }

  get heldBytes(): number {
    return this.held;
  }

  get exhausted(): boolean {
    return this.used + this.held >= this.limit && (this.used > 0 || this.held === 0);
  }

  add(bytes: number): void {
    this.used += bytes;
    this.metrics.inFlightBytes.set(this.bytes);
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    this.changed();
  }

  /** A source holds `bytes` more in memory (see `held`). */
  addHeld(bytes: number): void {
    this.held += bytes;
    this.metrics.inFlightBytes.set(this.bytes);
  }

  releaseHeld(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
    this.changed();
  }

  private changed(): void {
    this.metrics.inFlightBytes.set(this.bytes);
    if (!this.exhausted && this.waiters.length > 0) this.wakeAll();
  }

  /** Resolves when there is room again (or when wakeAll is called at shutdown). */
  waitForRoom(): Promise<void> {
    if (!this.exhausted) return Promise.resolve();
    this.metrics.readingPaused.set(1);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    this.metrics.readingPaused.set(0);
    for (const w of waiters) w();
  }

  get paused(): boolean {
    return this.waiters.length > 0;
  }
}
