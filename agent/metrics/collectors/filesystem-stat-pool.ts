import fs from "node:fs";
import type { Logger } from "pino";
import { statfsErrorText, type StatfsBackend, type StatfsBatch, type StatfsOutcome, type StatfsValues } from "./filesystem-stat.js";

/**
 * statfs on libuv's thread pool (fs.promises.statfs), with no thread of its own.
 *
 * The pool is shared with the log pipeline's file reads (and Node's dns.lookup, zlib, crypto),
 * and a statfs on a hung mount holds its pool thread until the kernel returns; libuv cannot
 * cancel it. So this backend never has more than `maxInPool` calls in the pool at once, counting
 * the ones still running and the ones given up on (abandoned) alike: a hung mount can take at
 * most that many of the pool's threads, whatever happens. With the default pool of 4 threads the
 * limit is 2 (see statfsPoolLimit), which leaves 2 threads to the log pipeline even when every
 * statfs slot is stuck on a dead NFS server.
 *
 * Calls wait in a queue for a free slot (their startedAt is undefined meanwhile). When every slot
 * is held by an abandoned call, no call can start until one of them returns: queued calls and the
 * calls of later scrapes are then answered at once with "mountpoint timeout", without a call.
 *
 * The pool keeps libuv's default size (UV_THREADPOOL_SIZE, 4). Raising it from here would not
 * work: libuv reads the variable once, when the pool first runs work, and by the time a collector
 * is created the log pipeline or the config loader may already have done so; setting it at the
 * top of the entry point would work but adds threads (and their stacks) to every node for the
 * sake of a rare failure. An operator expecting many dead mounts can set UV_THREADPOOL_SIZE in the
 * pod's environment (read at start, before any work): the limit follows it (half the pool).
 *
 * Values are plain numbers, not bigints: node_exporter converts each statfs field to float64
 * before multiplying (float64(Blocks) * float64(Bsize)), and Node fills the numbers the same way
 * (a uint64 rounded to the nearest double), so bigints would give the same samples at more cost.
 */

/** Runs one statfs(2); tests inject one that hangs. */
export type StatfsFunction = (path: string) => Promise<StatfsValues>;

const defaultStatfs: StatfsFunction = (p) => fs.promises.statfs(p);

/** device_error text for calls that never got a slot: the same as a timeout, as node_exporter reports a stuck mount. */
const NO_SLOT = "mountpoint timeout";

/** libuv's default pool size and its upper bound (deps/uv/src/threadpool.c). */
const LIBUV_DEFAULT_POOL = 4;
const LIBUV_MAX_POOL = 1024;

/** The size of libuv's thread pool as libuv computes it from UV_THREADPOOL_SIZE (atoi; 0 means 1). */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.UV_THREADPOOL_SIZE;
  if (raw === undefined) return LIBUV_DEFAULT_POOL;
  const n = Number.parseInt(raw.trim(), 10);
  if (Number.isNaN(n) || n === 0) return 1;
  // libuv keeps the value in an unsigned int: a negative one wraps and is clamped to the maximum.
  return n < 0 ? LIBUV_MAX_POOL : Math.min(n, LIBUV_MAX_POOL);
}

/**
 * statfs calls allowed in the pool at once: statWorkers, but never more than half the pool, so
 * that hung mounts leave the other half to everything else. At least 1.
 */
export function statfsPoolLimit(statWorkers: number, poolSize = threadPoolSize()): number {
  return Math.max(1, Math.min(statWorkers, Math.floor(poolSize / 2)));
}

/** statfs calls of every backend in the pool now (running or abandoned). */
let callsInPoolOfProcess = 0;

/**
 * statfs calls in libuv's pool now. libuv joins its pool's threads when the process exits, so a
 * call stuck in the kernel keeps the process from exiting (agent/main.ts says so in its log).
 */
export function statfsCallsInPool(): number {
  return callsInPoolOfProcess;
}

const WAITING = 0;
const RUNNING = 1;
const ABANDONED = 2;
const SETTLED = 3;
type CallState = typeof WAITING | typeof RUNNING | typeof ABANDONED | typeof SETTLED;

class PoolBatch implements StatfsBatch {
  readonly results: Array<Promise<StatfsOutcome>>;
  readonly states: CallState[];
  private readonly resolvers: Array<(outcome: StatfsOutcome) => void> = [];
  private readonly started: Array<number | undefined>;

  constructor(
    private readonly pool: PoolStatfsBackend,
    readonly paths: readonly string[],
  ) {
    this.results = paths.map(() => new Promise<StatfsOutcome>((resolve) => this.resolvers.push(resolve)));
    this.states = paths.map(() => WAITING);
    this.started = paths.map(() => undefined);
  }

  startedAt(i: number): number | undefined {
    return this.started[i];
  }

  markStarted(i: number, at: number): void {
    this.states[i] = RUNNING;
    this.started[i] = at;
  }

  abandon(i: number): void {
    if (this.states[i] !== RUNNING) return;
    this.states[i] = ABANDONED;
    this.pool.onAbandoned();
  }

  cancelWaiting(): void {
    this.failWaiting(NO_SLOT);
  }

  failWaiting(error: string): void {
    this.states.forEach((state, i) => {
      if (state === WAITING) this.settle(i, { ok: false, error });
    });
  }

  settle(i: number, outcome: StatfsOutcome): void {
    if (this.states[i] === SETTLED) return;
    this.states[i] = SETTLED;
    this.resolvers[i](outcome);
  }
}

export class PoolStatfsBackend implements StatfsBackend {
  private readonly queue: Array<{ batch: PoolBatch; i: number }> = [];
  /** Calls of ours the pool holds: running, or abandoned and not returned yet. */
  private inPool = 0;
  private abandoned = 0;
  private closed = false;
  /** Whether the "all slots stuck" warning was logged since a stuck call last returned. */
  private warnedAtLimit = false;

  constructor(
    private readonly logger: Logger,
    /** Calls allowed in the pool at once, abandoned ones included (statfsPoolLimit). */
    readonly maxInPool: number,
    private readonly statfs: StatfsFunction = defaultStatfs,
  ) {}

  run(localPaths: readonly string[]): StatfsBatch {
    const batch = new PoolBatch(this, localPaths);
    if (this.closed) {
      batch.failWaiting("collector closed");
      return batch;
    }
    for (let i = 0; i < localPaths.length; i++) this.queue.push({ batch, i });
    this.pump();
    return batch;
  }

  abandonedCount(): number {
    return this.abandoned;
  }

  /** Calls of ours in the pool now (running or abandoned). */
  inPoolCount(): number {
    return this.inPool;
  }

  onAbandoned(): void {
    this.abandoned++;
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    // Calls in the pool cannot be cancelled; they settle when they return.
    for (const { batch } of this.queue.splice(0)) batch.failWaiting("collector closed");
  }

  /** Starts queued calls while slots are free; answers them all at once when every slot is stuck. */
  private pump(): void {
    if (this.abandoned >= this.maxInPool) {
      if (this.queue.length > 0 && !this.warnedAtLimit) {
        this.warnedAtLimit = true;
        this.logger.warn(
          { abandoned_stat_calls: this.abandoned },
          "every statfs slot is stuck in a hung mount; reporting the other mounts as timed out until one returns",
        );
      }
      for (const { batch, i } of this.queue.splice(0)) if (batch.states[i] === WAITING) batch.settle(i, { ok: false, error: NO_SLOT });
      return;
    }
    while (this.inPool < this.maxInPool && this.queue.length > 0) {
      const { batch, i } = this.queue.shift()!;
      if (batch.states[i] === WAITING) this.start(batch, i);
    }
  }

  private start(batch: PoolBatch, i: number): void {
    this.inPool++;
    callsInPoolOfProcess++;
    batch.markStarted(i, Date.now());
    let call: Promise<StatfsValues>;
    try {
      call = this.statfs(batch.paths[i]);
    } catch (err) {
      call = Promise.reject(err);
    }
    call.then(
      (s) =>
        this.finish(batch, i, {
          ok: true,
          values: { bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree },
        }),
      (err: unknown) => this.finish(batch, i, { ok: false, error: statfsErrorText(err) }),
    );
  }

  private finish(batch: PoolBatch, i: number, outcome: StatfsOutcome): void {
    this.inPool--;
    callsInPoolOfProcess--;
    if (batch.states[i] === ABANDONED) {
      this.abandoned--;
      this.warnedAtLimit = false;
    }
    batch.settle(i, outcome);
    if (!this.closed) this.pump();
  }
}
