import type { Logger } from "pino";
import type { LogOrigin, LogRecord } from "../record.js";
import type { FilterContext } from "./filter.js";
import { MatchedFilter } from "./filter.js";
import type { FilterConfig } from "./schema.js";

type RateLimitConfig = Extract<FilterConfig, { type: "rateLimit" }>;

interface Bucket {
  tokens: number;
  /** When tokens were last brought up to date (ms). */
  last: number;
  /** Lines dropped since the last warning. */
  dropped: number;
  /** When the last warning was logged (ms); -Infinity: never. */
  warned: number;
}

/** A bucket full for longer than this is deleted (a new one starts full: the same). */
const IDLE_MS = 60_000;
const SWEEP_EVERY_MS = 10_000;
const WARN_EVERY_MS = 10_000;

/**
 * A token bucket per container (or pod, namespace, file): each line takes a token, tokens come
 * back at linesPerSecond up to burst; a line without a token is dropped (rate_limited). A key's
 * first drop in 10 s is logged with the number dropped since its last warning. Buckets full for
 * a minute are swept (every 10 s, on a line), so the map holds only keys that are busy.
 */
export class RateLimitFilter extends MatchedFilter {
  readonly type = "rateLimit";
  private readonly rate: number;
  private readonly capacity: number;
  private readonly keyOf: (origin: LogOrigin) => string;
  private readonly buckets = new Map<string, Bucket>();
  private readonly logger: Logger;
  private lastOrigin: LogOrigin | undefined;
  private lastBucket: Bucket | undefined;
  private lastKey = "";
  private nextSweep = -Infinity;

  constructor(config: RateLimitConfig, ctx: FilterContext) {
    super(config, ctx);
    this.rate = config.linesPerSecond / 1000;
    this.capacity = config.burst > 0 ? config.burst : Math.max(1, Math.ceil(config.linesPerSecond));
    this.keyOf = KEYS[config.per];
    this.logger = ctx.logger;
  }

  /** Keys with a bucket (for tests and status). */
  get size(): number {
    return this.buckets.size;
  }

  protected run(record: LogRecord, now: number): LogRecord | null {
    if (now >= this.nextSweep) this.sweep(now);
    let bucket = this.lastBucket;
    if (record.origin !== this.lastOrigin || bucket === undefined) {
      const key = this.keyOf(record.origin);
      bucket = this.buckets.get(key);
      if (bucket === undefined) {
        bucket = { tokens: this.capacity, last: now, dropped: 0, warned: -Infinity };
        this.buckets.set(key, bucket);
      }
      this.lastOrigin = record.origin;
      this.lastBucket = bucket;
      this.lastKey = key;
    }
    if (now > bucket.last) {
      bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.last) * this.rate);
      bucket.last = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return record;
    }
    this.counts.rateLimited++;
    bucket.dropped++;
    if (now - bucket.warned >= WARN_EVERY_MS) {
      this.logger.warn(
        { filter: this.name, key: this.lastKey, dropped: bucket.dropped, linesPerSecond: this.rate * 1000, burst: this.capacity },
        "log rate limit reached: dropping lines",
      );
      bucket.warned = now;
      bucket.dropped = 0;
    }
    return null;
  }

  private sweep(now: number): void {
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const [key, bucket] of this.buckets) {
      const fullAt = bucket.last + (this.capacity - bucket.tokens) / this.rate;
      if (now - fullAt > IDLE_MS) {
        this.buckets.delete(key);
        if (bucket === this.lastBucket) {
          this.lastBucket = undefined;
          this.lastOrigin = undefined;
        }
      }
    }
  }
}

function containerKey(o: LogOrigin): string {
  const k = o.kubernetes;
  return k !== undefined ? `${k.namespace}/${k.podName}/${k.containerName}` : (o.file ?? o.source);
}

function podKey(o: LogOrigin): string {
  const k = o.kubernetes;
  return k !== undefined ? `${k.namespace}/${k.podName}` : (o.file ?? o.source);
}

function namespaceKey(o: LogOrigin): string {
  return o.kubernetes?.namespace ?? o.file ?? o.source;
}

function fileKey(o: LogOrigin): string {
  return o.file ?? o.source;
}

const KEYS: Readonly<Record<RateLimitConfig["per"], (origin: LogOrigin) => string>> = {
  container: containerKey,
  pod: podKey,
  namespace: namespaceKey,
  file: fileKey,
};
