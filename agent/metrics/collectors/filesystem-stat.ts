import type { Logger } from "pino";

/**
 * statfs of mount points without letting a hung mount (a dead NFS server, a stuck FUSE daemon)
 * block a scrape. The calls run in a StatfsBackend (libuv's thread pool in production, with a
 * bound on the pool threads hung calls may hold, see filesystem-stat-pool.ts; a fake in tests);
 * this file decides when to stop waiting:
 *
 * - a call still running `timeout` after it started makes its mount "stuck": the scrape reports
 *   it with device_error 1 ("mountpoint timeout", as node_exporter) and moves on;
 * - whatever happens, a scrape gets its answers `timeout` after it asked: calls that have not
 *   answered by then (still queued behind hung ones, or started late) are reported the same way
 *   for this scrape, without marking their mount stuck unless their own timeout passes;
 * - a stuck mount is not asked again while its call is pending (node_exporter's stuckMounts),
 *   so a hung NFS mount costs one blocked pool thread, not one per scrape;
 * - when the pending call finally returns, the mount is reported normally from the next scrape.
 */

/** statfs(2) fields node_exporter uses (Go's unix.Statfs_t). */
export interface StatfsValues {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

/** How a statfs call ended: its values, or the error text Go would print for it. */
export type StatfsOutcome = { ok: true; values: StatfsValues } | { ok: false; error: string };

/** The statfs calls of one scrape, running in the backend's threads. */
export interface StatfsBatch {
  /** One per path; each settles when its call returns, however late, and never rejects. */
  readonly results: ReadonlyArray<Promise<StatfsOutcome>>;
  /** When call i started (ms since the epoch); undefined while it waits for a thread (a slot). */
  startedAt(i: number): number | undefined;
  /** The caller stopped waiting for call i: the thread blocked in it may be given up. */
  abandon(i: number): void;
  /** Makes sure calls no thread has started yet never start (their results settle as errors). */
  cancelWaiting(): void;
}

export interface StatfsBackend {
  run(localPaths: readonly string[]): StatfsBatch;
  /** Calls given up on that have not returned yet (each one holds a thread). */
  abandonedCount(): number;
  close(): Promise<void>;
}

export type MountStat =
  | { kind: "ok"; values: StatfsValues }
  | { kind: "error"; error: string }
  /** No answer within the timeout, or still pending from an earlier scrape. */
  | { kind: "timeout" };

export interface StuckMount {
  mountPoint: string;
  /** When the pending call started (ms since the epoch). */
  since: number;
}

export interface MountRequest {
  /** The mount point as the host sees it (the stuck-mount key and label). */
  mountPoint: string;
  /** Where this process reaches it (under the rootfs). */
  localPath: string;
}

/** A call's key: one call per mount point and path at a time. */
function keyOf(request: MountRequest): string {
  return `${request.mountPoint}\u0000${request.localPath}`;
}

/** How often a batch with unfinished calls is looked at. */
const TICK_MS = 10;
const TIMEOUT: MountStat = { kind: "timeout" };

export class MountStatter {
  private readonly stuck = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<MountStat>>();

  constructor(
    private readonly backend: StatfsBackend,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  /**
   * statfs of each mount, answered within the timeout. Mounts already stuck are answered at
   * once without a call; a path whose call is still running (from a concurrent or an earlier
   * scrape that stopped waiting) shares that call instead of starting another.
   */
  statAll(requests: readonly MountRequest[]): Promise<MountStat[]> {
    const keys = requests.map(keyOf);
    const fresh: MountRequest[] = [];
    const freshKeys: string[] = [];
    for (let i = 0; i < requests.length; i++) {
      if (this.stuck.has(requests[i].mountPoint) || this.inFlight.has(keys[i]) || freshKeys.includes(keys[i])) continue;
      fresh.push(requests[i]);
      freshKeys.push(keys[i]);
    }
    if (fresh.length > 0) this.runBatch(fresh, freshKeys);
    return Promise.all(
      requests.map((r, i) =>
        this.stuck.has(r.mountPoint) ? Promise.resolve(TIMEOUT) : (this.inFlight.get(keys[i]) ?? Promise.resolve(TIMEOUT)),
      ),
    );
  }

  /** Whether the mount's statfs is stuck (pending past its timeout) or still running in the pool. */
  isBusy(request: MountRequest): boolean {
    return this.stuck.has(request.mountPoint) || this.inFlight.has(keyOf(request));
  }

  stuckMounts(): StuckMount[] {
    return [...this.stuck].map(([mountPoint, since]) => ({ mountPoint, since }));
  }

  abandonedCount(): number {
    return this.backend.abandonedCount();
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  /** Starts the calls and registers each one's answer in inFlight until the call returns or is given up. */
  private runBatch(requests: readonly MountRequest[], keys: readonly string[]): void {
    const batch = this.backend.run(requests.map((r) => r.localPath));
    const answers = requests.map(() => deferred<MountStat>());
    keys.forEach((key, i) => this.inFlight.set(key, answers[i].promise));
    const deadline = Date.now() + this.timeoutMs;
    // Calls still to watch: not returned, and not yet given up as stuck.
    const watching = new Set(requests.keys());
    const stopWatching = (i: number): void => {
      watching.delete(i);
      if (this.inFlight.get(keys[i]) === answers[i].promise) this.inFlight.delete(keys[i]);
      if (watching.size === 0) clearInterval(ticker);
    };
    batch.results.forEach((result, i) =>
      result.then((outcome) => {
        answers[i].resolve(outcome.ok ? { kind: "ok", values: outcome.values } : { kind: "error", error: outcome.error });
        if (watching.has(i)) stopWatching(i);
      }),
    );
    const tick = (): void => {
      const now = Date.now();
      for (const i of watching) {
        const started = batch.startedAt(i);
        if (started === undefined || now - started < this.timeoutMs) continue;
        this.markStuck(requests[i].mountPoint, started, batch, i);
        answers[i].resolve(TIMEOUT);
        stopWatching(i);
      }
      if (now >= deadline) {
        batch.cancelWaiting();
        for (const answer of answers) answer.resolve(TIMEOUT);
      }
    };
    const ticker = setInterval(tick, Math.min(TICK_MS, Math.max(1, this.timeoutMs / 4)));
  }

  private markStuck(mountPoint: string, startedAt: number, batch: StatfsBatch, i: number): void {
    this.stuck.set(mountPoint, startedAt);
    batch.abandon(i);
    this.logger.warn(
      { mountpoint: mountPoint, timeout_seconds: this.timeoutMs / 1000, abandoned_stat_threads: this.backend.abandonedCount() },
      "mount point did not answer statfs in time; reporting it as stuck (device_error 1) until the call returns",
    );
    void batch.results[i].then(() => {
      this.stuck.delete(mountPoint);
      this.logger.info(
        { mountpoint: mountPoint, stuck_seconds: (Date.now() - startedAt) / 1000 },
        "stuck mount point answered statfs; monitoring resumes",
      );
    });
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  settled: boolean;
}

/** A promise with its resolver; resolving twice keeps the first value. */
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve: (value) => {
      if (d.settled) return;
      d.settled = true;
      resolve(value);
    },
  };
  return d;
}

/**
 * The text Go's syscall.Errno.Error() gives for the errors statfs can return, which
 * node_exporter puts in the device_error label (Node's own messages differ, e.g. "i/o error").
 */
const GO_ERRNO_TEXT: Record<number, string> = {
  1: "operation not permitted",
  2: "no such file or directory",
  4: "interrupted system call",
  5: "input/output error",
  6: "no such device or address",
  12: "cannot allocate memory",
  13: "permission denied",
  14: "bad address",
  16: "device or resource busy",
  19: "no such device",
  20: "not a directory",
  22: "invalid argument",
  36: "file name too long",
  38: "function not implemented",
  40: "too many levels of symbolic links",
  61: "no data available",
  67: "link has been severed",
  75: "value too large for defined data type",
  95: "operation not supported",
  103: "software caused connection abort",
  104: "connection reset by peer",
  107: "transport endpoint is not connected",
  110: "connection timed out",
  111: "connection refused",
  112: "host is down",
  113: "no route to host",
  116: "stale NFS file handle",
  117: "structure needs cleaning",
  121: "remote I/O error",
  122: "disk quota exceeded",
  123: "no medium found",
  126: "required key not available",
  127: "key has expired",
};

/** device_error text for a failed statfs: Go's words for its errno. */
export function statfsErrorText(err: unknown): string {
  const errno = (err as NodeJS.ErrnoException | undefined)?.errno;
  return typeof errno === "number" && errno !== 0 ? goErrnoText(errno) : "statfs failed";
}

/** Go's error text for an errno (positive, or Node's negative form). */
export function goErrnoText(errno: number): string {
  const n = Math.abs(errno);
  return GO_ERRNO_TEXT[n] ?? `errno ${n}`;
}
