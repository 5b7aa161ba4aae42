/**
 * Event-loop delay, sampled by a timer: how late each tick of a `intervalMs` interval fires. It
 * stands in for prom-client's `monitorEventLoopDelay` histogram, whose `mean` and `stddev` walk
 * every bucket of an HdrHistogram on each scrape (measured: about 0.75 ms of CPU per scrape,
 * 7 % of a whole scrape here). This keeps a running sum and sum of squares, and the window's
 * delays for the percentiles (a few hundred numbers at a 100 ms interval and a 15–60 s scrape
 * interval, capped), so a scrape costs microseconds.
 *
 * A delay is the time past the interval, not the interval itself: an idle agent reads 0, where
 * monitorEventLoopDelay's values start at its resolution (100 ms here).
 */
export interface EventLoopDelayStats {
  readonly count: number;
  /** Seconds, like the nodejs_eventloop_lag_* gauges. */
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/** The percentiles keep the latest this many delays of a window (~27 minutes at 100 ms). */
export const MAX_WINDOW_SAMPLES = 16_384;

export class EventLoopDelayWindow {
  private count = 0;
  private min = Infinity;
  private max = 0;
  private sum = 0;
  private sumOfSquares = 0;
  private readonly delays: number[] = [];
  private next = 0;

  /** One delay in milliseconds (negative values, a timer that fired early, count as 0). */
  record(delayMs: number): void {
    const delay = delayMs > 0 ? delayMs : 0;
    this.count++;
    if (delay < this.min) this.min = delay;
    if (delay > this.max) this.max = delay;
    this.sum += delay;
    this.sumOfSquares += delay * delay;
    if (this.delays.length < MAX_WINDOW_SAMPLES) this.delays.push(delay);
    else {
      this.delays[this.next] = delay;
      this.next = (this.next + 1) % MAX_WINDOW_SAMPLES;
    }
  }

  /** The window's statistics in seconds, and a new window; undefined when nothing was recorded. */
  take(): EventLoopDelayStats | undefined {
    if (this.count === 0) return undefined;
    const sorted = Float64Array.from(this.delays).sort();
    const mean = this.sum / this.count;
    // Population standard deviation, as HdrHistogram's; clamped against rounding below zero.
    const variance = Math.max(0, this.sumOfSquares / this.count - mean * mean);
    const stats: EventLoopDelayStats = {
      count: this.count,
      min: this.min / 1000,
      max: this.max / 1000,
      mean: mean / 1000,
      stddev: Math.sqrt(variance) / 1000,
      p50: percentile(sorted, 50) / 1000,
      p90: percentile(sorted, 90) / 1000,
      p99: percentile(sorted, 99) / 1000,
    };
    this.count = 0;
    this.min = Infinity;
    this.max = 0;
    this.sum = 0;
    this.sumOfSquares = 0;
    this.delays.length = 0;
    this.next = 0;
    return stats;
  }
}

/** Nearest-rank percentile of sorted values (the smallest value with at least p % at or below it). */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Samples the event loop every intervalMs into a window; the timer does not keep the process alive. */
export class EventLoopDelaySampler {
  readonly window = new EventLoopDelayWindow();
  private timer: NodeJS.Timeout | undefined;
  private expected = 0;

  constructor(private readonly intervalMs: number) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.expected = performance.now() + this.intervalMs;
    this.timer = setInterval(() => {
      const now = performance.now();
      this.window.record(now - this.expected);
      this.expected = now + this.intervalMs;
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
