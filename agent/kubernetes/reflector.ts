import { RetryPolicy, sleep as abortableSleep } from "../logs/delivery/retry-policy.js";
import { AbortedError, type ApiClient, type Query } from "./api-client.js";
import { asApiError, type ApiError } from "./api-error.js";
import type { HealthLog, Verb } from "./health-log.js";
import type { KubeList, KubeObject, WatchEvent } from "./kube-types.js";
import type { KubernetesMetrics, Resource } from "./metrics.js";
import type { StoreSink } from "./store.js";

export interface ReflectorOptions<T> {
  readonly resource: Resource;
  /** Collection path, e.g. /api/v1/pods. */
  readonly path: string;
  readonly fieldSelector?: string;
  /** The slim copy of an API object; undefined skips it (no uid or name). */
  readonly convert: (obj: KubeObject) => T | undefined;
  readonly sink: StoreSink<T>;
  readonly client: ApiClient;
  readonly metrics: KubernetesMetrics;
  readonly health: HealthLog;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** LIST page size (`limit`). */
  readonly pageSize?: number;
  /** Range the watch's timeoutSeconds is drawn from, so the agents of a cluster do not re-watch in step. */
  readonly watchTimeoutSeconds?: readonly [number, number];
  /** How much longer than timeoutSeconds a silent watch is waited for before it counts as dead. */
  readonly watchIdleMarginMs?: number;
  readonly random?: () => number;
  readonly now?: () => number;
  /** The wait between retries; tests record it. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called once, when the first LIST completed. */
  readonly onSynced?: () => void;
}

/** A reflector's state for /status (the store adds the object count). */
export interface ReflectorStatus {
  synced: boolean;
  /** False while LIST/watch fail and are retried with backoff. */
  up: boolean;
  resourceVersion: string;
  relists: number;
  /** The last failure, e.g. `HTTP 403 Forbidden: pods is forbidden: ...`, and when; kept after recovery. */
  lastError: string | undefined;
  lastErrorAt: string | undefined;
  /** Failed tries since the last success (the backoff's exponent). */
  failures: number;
  lastListAt: string | undefined;
  lastEventAt: string | undefined;
}

type ListReason = "initial" | "410" | "error";

/**
 * LIST then WATCH of one resource, kept going until stopped (client-go's reflector, reduced):
 *
 * - LIST in pages (`limit`, `continue`), then replace the store with the result (what is gone is
 *   deleted), and WATCH from the list's resourceVersion with allowWatchBookmarks and a randomized
 *   timeoutSeconds.
 * - Every event (bookmarks included) advances the resourceVersion; when the server ends the watch
 *   normally, watch again from there.
 * - 410 Gone (HTTP status, or an ERROR event with code 410): LIST again at once; a second 410 in a
 *   row (no event in between) waits for the backoff first.
 * - A lost event (over-size or malformed line, or one the store failed on): LIST again after the
 *   backoff.
 * - Any other failure: back off (initial doubling to max, with jitter; reset by a success), then
 *   retry what failed (the LIST, or the watch from the last resourceVersion).
 */
/** A watch that ends normally sooner than this without any event counts as a failure. */
const SHORT_WATCH_MS = 1000;

export class Reflector<T> {
  private readonly backoff: RetryPolicy;
  private readonly pageSize: number;
  private readonly timeoutRange: readonly [number, number];
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly wait: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly state: ReflectorStatus = {
    synced: false,
    up: false,
    resourceVersion: "",
    relists: 0,
    lastError: undefined,
    lastErrorAt: undefined,
    failures: 0,
    lastListAt: undefined,
    lastEventAt: undefined,
  };
  private goneStreak = 0;
  private eventsSeen = 0;

  constructor(private readonly opts: ReflectorOptions<T>) {
    this.random = opts.random ?? Math.random;
    this.backoff = new RetryPolicy(opts.backoffInitialMs, opts.backoffMaxMs, 0, this.random);
    this.pageSize = opts.pageSize ?? 500;
    this.timeoutRange = opts.watchTimeoutSeconds ?? [300, 600];
    this.now = opts.now ?? Date.now;
    this.wait = opts.sleep ?? abortableSleep;
  }

  get resource(): Resource {
    return this.opts.resource;
  }

  get synced(): boolean {
    return this.state.synced;
  }

  get up(): boolean {
    return this.state.up;
  }

  /** Failed tries since the last success. */
  get failures(): number {
    return this.state.failures;
  }

  status(): ReflectorStatus {
    return { ...this.state };
  }

  /** Runs until `signal` aborts; never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    let listReason: ListReason | undefined = "initial";
    while (!signal.aborted) {
      let verb: Verb = "list";
      try {
        if (listReason !== undefined) {
          if (listReason !== "initial") {
            this.state.relists++;
            this.opts.metrics.relists.inc({ resource: this.resource, reason: listReason });
          }
          await this.list(signal, listReason);
          listReason = undefined;
        }
        verb = "watch";
        const opened = this.now();
        const events = this.eventsSeen;
        await this.watch(signal);
        this.opts.metrics.watchRestarts.inc({ resource: this.resource, reason: "end" });
        // A watch that ends at once without an event (a proxy answering 200 with nothing) is a
        // failure: without this it would be re-opened in a tight loop.
        if (this.now() - opened < SHORT_WATCH_MS && this.eventsSeen === events) {
          this.state.failures++;
          await this.wait(this.backoff.delayMs(this.state.failures), signal);
        }
      } catch (caught) {
        if (signal.aborted || caught instanceof AbortedError) break;
        const err = asApiError(caught);
        this.opts.metrics.errors.inc({ resource: this.resource, reason: err.reason });
        this.state.lastError = err.message;
        this.state.lastErrorAt = new Date(this.now()).toISOString();
        let delay: number;
        if (err.reason === "gone") {
          this.opts.health.gone(err);
          this.goneStreak++;
          listReason = "410";
          if (this.goneStreak === 1) continue;
          delay = this.backoff.delayMs(this.goneStreak - 1);
        } else {
          this.state.failures++;
          this.state.up = false;
          this.opts.metrics.up.set({ resource: this.resource }, 0);
          delay = this.backoff.delayMs(this.state.failures);
          if (verb === "watch" && (err.reason === "oversize" || err.reason === "decode" || err.reason === "internal")) {
            this.opts.health.lostEvent(err);
            listReason = "error";
          } else {
            this.opts.health.failed(err, verb, delay);
          }
        }
        await this.wait(delay, signal);
        if (listReason === undefined && !signal.aborted) this.opts.metrics.watchRestarts.inc({ resource: this.resource, reason: "error" });
      }
    }
  }

  /**
   * A LIST answered, or a watch opened. The backoff resets on a LIST, but for a watch only once it
   * delivers an event (apply()): a server that accepts every watch and fails it at once must
   * still see the retries slow down.
   */
  private succeeded(verb: Verb): void {
    if (verb === "list") this.state.failures = 0;
    this.state.up = true;
    this.opts.metrics.up.set({ resource: this.resource }, 1);
    this.opts.health.recovered(verb);
  }

  private touched(): void {
    this.opts.metrics.lastSync.set({ resource: this.resource }, this.now() / 1000);
  }

  private countRequest(verb: Verb, err: ApiError | undefined): void {
    const code = err === undefined ? "200" : err.status !== undefined && !err.watchEvent ? String(err.status) : err.reason;
    this.opts.metrics.requests.inc({ resource: this.resource, verb, code });
  }

  private selector(): Query {
    return this.opts.fieldSelector === undefined ? {} : { fieldSelector: this.opts.fieldSelector };
  }

  /**
   * LIST as client-go's reflector does: resourceVersion=0 (any version, served from the API
   * server's watch cache on every version: before 1.31 a LIST without it reads etcd, and with a
   * field selector scans every pod of the cluster), except after 410 Gone, where only a
   * consistent (paged) read is certain to be newer than what expired.
   */
  private async list(signal: AbortSignal, reason: ListReason): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = "";
    const fromCache = reason !== "410";
    do {
      let page: KubeList;
      try {
        page = await this.opts.client.getJson<KubeList>(
          this.opts.path,
          fromCache && cont === undefined
            ? { ...this.selector(), resourceVersion: "0", limit: this.pageSize }
            : { ...this.selector(), limit: this.pageSize, continue: cont },
          signal,
        );
      } catch (err) {
        if (!(err instanceof AbortedError)) this.countRequest("list", asApiError(err));
        throw err;
      }
      this.countRequest("list", undefined);
      for (const raw of Array.isArray(page?.items) ? page.items : []) {
        const item = this.opts.convert(raw);
        if (item !== undefined) items.push(item);
      }
      cont = typeof page?.metadata?.continue === "string" && page.metadata.continue !== "" ? page.metadata.continue : undefined;
      if (typeof page?.metadata?.resourceVersion === "string") resourceVersion = page.metadata.resourceVersion;
    } while (cont !== undefined);
    this.opts.sink.replace(items);
    this.state.resourceVersion = resourceVersion;
    this.state.lastListAt = new Date(this.now()).toISOString();
    this.succeeded("list");
    this.touched();
    if (!this.state.synced) {
      this.state.synced = true;
      this.opts.metrics.synced.set({ resource: this.resource }, 1);
      this.opts.onSynced?.();
    }
  }

  private async watch(signal: AbortSignal): Promise<void> {
    const [min, max] = this.timeoutRange;
    const timeoutSeconds = Math.round(min + this.random() * (max - min));
    const query: Query = {
      ...this.selector(),
      watch: "true",
      resourceVersion: this.state.resourceVersion,
      allowWatchBookmarks: "true",
      timeoutSeconds,
    };
    let opened = false;
    try {
      await this.opts.client.watch(
        this.opts.path,
        query,
        {
          onOpen: () => {
            opened = true;
            this.countRequest("watch", undefined);
            this.succeeded("watch");
          },
          onEvent: (event) => this.apply(event),
        },
        signal,
        timeoutSeconds * 1000 + (this.opts.watchIdleMarginMs ?? 30_000),
      );
    } catch (err) {
      const apiErr = err instanceof AbortedError ? undefined : asApiError(err);
      if (apiErr?.watchEvent) this.opts.metrics.watchEvents.inc({ resource: this.resource, type: "ERROR" });
      else if (!opened && apiErr !== undefined) this.countRequest("watch", apiErr);
      throw err;
    }
    this.goneStreak = 0;
    this.touched();
  }

  private apply(event: WatchEvent): void {
    this.opts.metrics.watchEvents.inc({ resource: this.resource, type: event.type });
    this.eventsSeen++;
    this.state.failures = 0;
    const rv = event.object.metadata?.resourceVersion;
    if (typeof rv === "string" && rv !== "") this.state.resourceVersion = rv;
    this.state.lastEventAt = new Date(this.now()).toISOString();
    this.goneStreak = 0;
    this.touched();
    if (event.type === "BOOKMARK") return;
    const item = this.opts.convert(event.object);
    if (item === undefined) return;
    if (event.type === "DELETED") this.opts.sink.remove(item);
    else this.opts.sink.upsert(item);
  }
}
