import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import { goErrnoText, type StatfsBackend, type StatfsBatch, type StatfsOutcome } from "./filesystem-stat.js";

/**
 * statfs in worker threads. fs.promises.statfs would run on libuv's thread pool, which the log
 * pipeline shares: four hung NFS mounts would take all four pool threads and stall every file
 * read in the process. Here each call is fs.statfsSync on a worker's own thread.
 *
 * A scrape's paths go to the workers as one batch in shared memory; each worker claims the next
 * path with an atomic counter, records when it started and the result, and posts one message
 * when no path is left. So a healthy scrape costs one message round trip and usually one
 * thread, however many mounts there are. When a call runs long, another worker (up to
 * statWorkers) joins the batch and the rest of the paths flow past the slow one; a worker whose
 * call the scheduler gives up on is abandoned (left to return on its own, then ended), and at
 * most MAX_ABANDONED_WORKERS of them may exist before no new thread is started.
 *
 * The worker is created from source text (eval) using only node builtins, so it runs the same
 * from .ts sources under tsx/vitest and from a compiled or bundled build.
 */

// Layout of a batch's shared memory, for n paths:
//   ints   [0] next path to claim, [1 + i] state of path i, [1 + n + i] errno, [1 + 2n + i] worker id
//   floats [i] when path i started (ms since the epoch), [n + 6i ..] bsize blocks bfree bavail files ffree
const WAITING = 0;
const RUNNING = 1;
const DONE = 2;
const FAILED = 3;

/** The worker's program; `statfs` is the source of a function (path) => fs.StatsFs. */
const workerSource = (statfs: string): string => `
const { parentPort, workerData } = require("node:worker_threads");
const statfs = (${statfs});
parentPort.on("message", (batch) => {
  const ints = new Int32Array(batch.ints);
  const floats = new Float64Array(batch.floats);
  const n = batch.paths.length;
  for (;;) {
    const i = Atomics.add(ints, 0, 1);
    if (i >= n) break;
    ints[1 + 2 * n + i] = workerData.id;
    floats[i] = Date.now();
    Atomics.store(ints, 1 + i, ${RUNNING});
    try {
      const s = statfs(batch.paths[i]);
      const o = n + 6 * i;
      floats[o] = s.bsize; floats[o + 1] = s.blocks; floats[o + 2] = s.bfree;
      floats[o + 3] = s.bavail; floats[o + 4] = s.files; floats[o + 5] = s.ffree;
      Atomics.store(ints, 1 + i, ${DONE});
    } catch (err) {
      ints[1 + n + i] = err && typeof err.errno === "number" ? err.errno : 0;
      Atomics.store(ints, 1 + i, ${FAILED});
    }
  }
  parentPort.postMessage(batch.id);
});
`;

const STATFS = `require("node:fs").statfsSync`;

/** Threads allowed to sit in hung statfs calls before no new thread is started. */
export const MAX_ABANDONED_WORKERS = 8;
/** A call running this long gets another worker to join its batch. */
const HELP_AFTER_MS = 20;
/** device_error text for paths no thread could take (all stuck): the same as a timeout. */
const NO_THREAD = "mountpoint timeout";

interface PoolWorker {
  id: number;
  worker: Worker;
  /** Batches posted to it that it has not finished. */
  outstanding: number;
  abandoned: boolean;
}

class WorkerBatch implements StatfsBatch {
  readonly results: Array<Promise<StatfsOutcome>>;
  private readonly resolvers: Array<((outcome: StatfsOutcome) => void) | undefined>;
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;
  private open: number;
  readonly workers = new Set<PoolWorker>();

  constructor(
    private readonly pool: WorkerStatfsBackend,
    readonly id: number,
    readonly paths: readonly string[],
  ) {
    const n = paths.length;
    this.ints = new Int32Array(new SharedArrayBuffer(4 * (1 + 3 * n)));
    this.floats = new Float64Array(new SharedArrayBuffer(8 * 7 * n));
    this.resolvers = [];
    this.results = paths.map(() => new Promise<StatfsOutcome>((resolve) => this.resolvers.push(resolve)));
    this.open = n;
  }

  message(): { id: number; paths: readonly string[]; ints: SharedArrayBuffer; floats: SharedArrayBuffer } {
    return { id: this.id, paths: this.paths, ints: this.ints.buffer as SharedArrayBuffer, floats: this.floats.buffer as SharedArrayBuffer };
  }

  get finished(): boolean {
    return this.open === 0;
  }

  startedAt(i: number): number | undefined {
    return Atomics.load(this.ints, 1 + i) === WAITING ? undefined : this.floats[i];
  }

  abandon(i: number): void {
    if (Atomics.load(this.ints, 1 + i) !== RUNNING) return;
    this.pool.abandon(this.ints[1 + 2 * this.paths.length + i]);
  }

  refresh(): void {
    const n = this.paths.length;
    for (let i = 0; i < n; i++) {
      if (this.resolvers[i] === undefined) continue;
      const state = Atomics.load(this.ints, 1 + i);
      if (state === DONE) {
        const o = n + 6 * i;
        const f = this.floats;
        this.settle(i, {
          ok: true,
          values: { bsize: f[o], blocks: f[o + 1], bfree: f[o + 2], bavail: f[o + 3], files: f[o + 4], ffree: f[o + 5] },
        });
      } else if (state === FAILED) {
        const errno = this.ints[1 + n + i];
        this.settle(i, { ok: false, error: errno === 0 ? "statfs failed" : goErrnoText(errno) });
      }
    }
    // Paths are left and every worker on the batch is stuck in a slow call: bring another one.
    if (Atomics.load(this.ints, 0) < n && !this.pool.anyProgressing(this.workers)) {
      const queued = [...this.workers].some((w) => !w.abandoned);
      if (!this.pool.assign(this) && !queued) this.failUnclaimed(NO_THREAD);
    }
  }

  /** Whether this worker has been in one of this batch's calls for longer than `ms`. */
  isRunningLonger(workerId: number, ms: number, now: number): boolean {
    const n = this.paths.length;
    for (let i = 0; i < n; i++) {
      if (Atomics.load(this.ints, 1 + i) === RUNNING && this.ints[1 + 2 * n + i] === workerId && now - this.floats[i] >= ms) return true;
    }
    return false;
  }

  cancelWaiting(): void {
    this.failUnclaimed(NO_THREAD);
  }

  /** Settles the paths no worker has claimed yet, claiming them so no worker takes them later. */
  failUnclaimed(error: string): void {
    for (let i = Atomics.add(this.ints, 0, 1); i < this.paths.length; i = Atomics.add(this.ints, 0, 1))
      this.settle(i, { ok: false, error });
  }

  /** Settles the calls a worker that died was running. */
  failRunningOn(workerId: number, error: string): void {
    const n = this.paths.length;
    for (let i = 0; i < n; i++) {
      if (Atomics.load(this.ints, 1 + i) === RUNNING && this.ints[1 + 2 * n + i] === workerId) this.settle(i, { ok: false, error });
    }
  }

  private settle(i: number, outcome: StatfsOutcome): void {
    const resolve = this.resolvers[i];
    if (resolve === undefined) return;
    this.resolvers[i] = undefined;
    this.open--;
    resolve(outcome);
  }
}

export class WorkerStatfsBackend implements StatfsBackend {
  private readonly live: PoolWorker[] = [];
  private readonly abandoned = new Map<number, PoolWorker>();
  private readonly byId = new Map<number, PoolWorker>();
  private readonly batches = new Map<number, WorkerBatch>();
  private nextWorkerId = 1;
  private nextBatchId = 1;
  private closed = false;
  /** Whether the "too many stuck threads" warning was logged since the count last dropped. */
  private warnedAtBound = false;

  private readonly source: string;

  constructor(
    private readonly logger: Logger,
    /** statWorkers: threads running calls at once (abandoned ones not counted). */
    private readonly maxLive: number,
    private readonly maxAbandoned = MAX_ABANDONED_WORKERS,
    /** Tests replace the statfs function (source text run in the worker) to simulate hung mounts. */
    statfs = STATFS,
  ) {
    this.source = workerSource(statfs);
    // Started now so that the first scrape does not wait for a thread to boot.
    this.spawn()?.worker.unref();
  }

  run(localPaths: readonly string[]): StatfsBatch {
    const batch = new WorkerBatch(this, this.nextBatchId++, localPaths);
    if (localPaths.length === 0) return batch;
    this.batches.set(batch.id, batch);
    if (!this.assign(batch)) batch.failUnclaimed(NO_THREAD);
    return batch;
  }

  abandonedCount(): number {
    return this.abandoned.size;
  }

  /** Threads available to run calls (not abandoned). */
  liveCount(): number {
    return this.live.length;
  }

  /**
   * Posts the batch to one more worker: an idle one, else a new one (up to statWorkers), else
   * queued on the least busy one, preferring one that is not in a slow call. False when no live
   * worker is left to take it.
   */
  assign(batch: WorkerBatch): boolean {
    if (this.closed) return false;
    const candidates = this.live.filter((w) => !batch.workers.has(w));
    let chosen = candidates.find((w) => w.outstanding === 0) ?? this.spawn();
    if (chosen === undefined) {
      const now = Date.now();
      const load = (w: PoolWorker): number => (this.isSlow(w, now) ? 1e6 : 0) + w.outstanding;
      chosen = candidates.sort((a, b) => load(a) - load(b))[0];
    }
    if (chosen === undefined) return false;
    batch.workers.add(chosen);
    chosen.outstanding++;
    chosen.worker.ref();
    chosen.worker.postMessage(batch.message());
    return true;
  }

  /** Whether any of these workers is live and not stuck in a slow call (of any batch). */
  anyProgressing(workers: Iterable<PoolWorker>): boolean {
    const now = Date.now();
    for (const w of workers) if (!w.abandoned && !this.isSlow(w, now)) return true;
    return false;
  }

  private isSlow(w: PoolWorker, now: number): boolean {
    for (const batch of this.batches.values()) if (batch.isRunningLonger(w.id, HELP_AFTER_MS, now)) return true;
    return false;
  }

  /** The scheduler gave up on a call of this worker: it no longer counts as a live thread. */
  abandon(workerId: number): void {
    const w = this.byId.get(workerId);
    if (w === undefined || w.abandoned) return;
    w.abandoned = true;
    const at = this.live.indexOf(w);
    if (at !== -1) this.live.splice(at, 1);
    this.abandoned.set(w.id, w);
    // A thread blocked in a syscall must not keep the process alive at shutdown.
    w.worker.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const batch of this.batches.values()) batch.failUnclaimed("collector closed");
    for (const w of this.abandoned.values()) void w.worker.terminate();
    await Promise.all(this.live.map((w) => w.worker.terminate()));
  }

  private spawn(): PoolWorker | undefined {
    if (this.live.length >= this.maxLive) return undefined;
    if (this.abandoned.size >= this.maxAbandoned) {
      if (!this.warnedAtBound) {
        this.warnedAtBound = true;
        this.logger.warn(
          { abandoned_stat_threads: this.abandoned.size },
          "too many statfs threads stuck in hung mounts; not starting another until one returns",
        );
      }
      return undefined;
    }
    const id = this.nextWorkerId++;
    const w: PoolWorker = {
      id,
      worker: new Worker(this.source, { eval: true, workerData: { id }, name: "nodetap-statfs" }),
      outstanding: 0,
      abandoned: false,
    };
    w.worker.on("message", (batchId: number) => this.onBatchDone(w, batchId));
    w.worker.on("error", (err) => this.onGone(w, `statfs worker failed: ${err.message}`));
    w.worker.on("exit", (code) => this.onGone(w, `statfs worker exited with code ${code}`));
    this.live.push(w);
    this.byId.set(id, w);
    return w;
  }

  private onBatchDone(w: PoolWorker, batchId: number): void {
    w.outstanding--;
    const batch = this.batches.get(batchId);
    if (batch !== undefined) {
      batch.workers.delete(w);
      batch.refresh();
      if (batch.finished) this.batches.delete(batchId);
    }
    if (w.abandoned && w.outstanding === 0) {
      // Its call returned; its replacement already serves.
      this.abandoned.delete(w.id);
      this.byId.delete(w.id);
      this.warnedAtBound = false;
      void w.worker.terminate();
    } else if (w.outstanding === 0) {
      w.worker.unref();
    }
  }

  private onGone(w: PoolWorker, reason: string): void {
    if (!this.byId.delete(w.id)) return;
    const at = this.live.indexOf(w);
    if (at !== -1) this.live.splice(at, 1);
    this.abandoned.delete(w.id);
    if (!this.closed) this.logger.warn({ reason }, "statfs worker ended unexpectedly");
    for (const batch of this.batches.values()) {
      batch.workers.delete(w);
      batch.failRunningOn(w.id, reason);
      batch.refresh();
      if (batch.finished) this.batches.delete(batch.id);
    }
  }
}
