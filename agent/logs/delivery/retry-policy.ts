/** Longest wait a destination's Retry-After is honoured for; longer values are capped. */
export const RETRY_AFTER_CAP_MS = 15 * 60_000;

/**
 * Exponential backoff with jitter: attempt n waits between half and all of
 * min(maxBackoff, initial * 2^n), so many agents recovering at once spread out. A destination's
 * Retry-After is a floor. maxAttempts 0 means retry forever (nothing is dropped; the in-flight
 * budget pauses reading meanwhile).
 */
export class RetryPolicy {
  constructor(
    readonly initialMs: number,
    readonly maxMs: number,
    readonly maxAttempts: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Wait before the next attempt, after `failures` failed attempts (1 for the first retry). */
  delayMs(failures: number, retryAfterMs?: number): number {
    const exp = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(failures - 1, 52));
    const jittered = exp / 2 + (this.random() * exp) / 2;
    if (retryAfterMs === undefined) return jittered;
    return Math.max(jittered, Math.min(retryAfterMs, RETRY_AFTER_CAP_MS));
  }

  /** True when `attempts` attempts have been made and no more are allowed. */
  exhausted(attempts: number): boolean {
    return this.maxAttempts > 0 && attempts >= this.maxAttempts;
  }
}

/** Parses an HTTP Retry-After value (delay-seconds or an HTTP-date) into milliseconds. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
