import type { LogMetrics } from "./metrics.js";

/**
 * The bound on records read but not yet acknowledged. Sources check `exhausted` before each
 * read and wait for room; acknowledgements release bytes. The files themselves are the buffer:
 * while reading is paused, lines wait on disk, not in memory.
 */
export class InFlightBudget {
  private used = 0;
  private waiters: Array<() => void> = [];

  constructor(
    readonly limit: number,
    private readonly metrics: LogMetrics,
  ) {
    metrics.inFlightLimitBytes.set(limit);
    metrics.inFlightBytes.set(0);
    metrics.readingPaused.set(0);
  }

  get bytes(): number {
    return this.used;
  }

  get exhausted(): boolean {
    return this.used >= this.limit;
  }

  add(bytes: number): void {
    this.used += bytes;
    this.metrics.inFlightBytes.set(this.used);
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    this.metrics.inFlightBytes.set(this.used);
    if (this.used < this.limit && this.waiters.length > 0) this.wakeAll();
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
