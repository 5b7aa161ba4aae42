import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Acknowledgeable } from "../ack-tracker.js";
import type { KubernetesApiMetadata, KubernetesMetadata, LogOrigin, LogRecord } from "../record.js";
import type { NamespaceMetadata, NodeMetadata, PodMetadata } from "../../kubernetes/metadata.js";
import { EXCLUDE_ANNOTATION, EXCLUDE_CONTAINERS_ANNOTATION } from "../../kubernetes/settings.js";

/** What the enricher needs of the API metadata service (agent/kubernetes). */
export interface PodMetadataSource {
  pod(uid: string): PodMetadata | undefined;
  namespace(name: string): NamespaceMetadata | undefined;
  node(): NodeMetadata | undefined;
  /** The first pod list is done: an unknown pod from then on is one created since. */
  podsSynced(): boolean;
  /** Every first list is done (pods, namespaces, this node). */
  synced(): boolean;
  /** False while the pods watch fails (API server unreachable, RBAC): unknown pods are not waited for. */
  podsAvailable(): boolean;
  /** Called when a pod is added or updated; returns the unsubscribe function. */
  onPodKnown(listener: (uid: string) => void): () => void;
}

type Submit = (records: LogRecord[], ticket: Acknowledgeable, lane: string) => void;

interface Held {
  records: LogRecord[];
  ticket: Acknowledgeable;
  lane: string;
}

interface Waiting {
  /** When the first held emission of this pod gives up waiting. */
  until: number;
  held: Held[];
}

interface Enriched {
  pod: PodMetadata;
  namespace: NamespaceMetadata | undefined;
  node: NodeMetadata | undefined;
  origin: LogOrigin;
}

export interface KubernetesEnricherOptions {
  registry: Registry;
  logger: Logger;
  /** kubernetes.waitForMetadata, in milliseconds (0: never wait). */
  waitMs: number;
  excludeNamespaces: readonly string[];
  now?: () => number;
}

/** Pods remembered as "waited for and still unknown" at most; past it the oldest are forgotten. */
const MAX_GAVE_UP = 10_000;

/**
 * Adds the API server's pod metadata to pod records on their way to the sinks (between the
 * sources and the router), and applies the exclusions.
 *
 * - A record's origin is replaced by an enriched copy, made once per (file origin, pod,
 *   namespace, node objects) and reused, so encoders, which cache per origin, encode it once.
 * - Lines of a pod not known yet (created after the last list, its watch event not in yet) are
 *   held, in order, until the pod is known or kubernetes.waitForMetadata passes; then they go on
 *   with path metadata only, counted, and later lines of that pod do not wait again. Nothing
 *   waits while the API server is unhealthy.
 * - Excluded records (namespace list, pod annotation nodetap.io/exclude: "true", container
 *   listed in nodetap.io/exclude-containers) are counted and acknowledged, so their
 *   checkpoints advance; they are never sent.
 */
export class KubernetesEnricher {
  private readonly enriched = new WeakMap<LogOrigin, Enriched>();
  private readonly waiting = new Map<string, Waiting>();
  private readonly gaveUp = new Set<string>();
  private readonly excludedNamespaces: ReadonlySet<string>;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;
  private next: Submit = () => undefined;
  private readonly startupUntil: number;
  private startupOver = false;
  private startupTimer: NodeJS.Timeout | undefined;
  /** Files (lanes) with records held: not read on until they are released. */
  private readonly heldLanes = new Map<string, number>();
  private readonly roomListeners: Array<() => void> = [];
  private stopped = false;

  private readonly recordsEnriched: Counter<"state">;
  private readonly recordsWithoutMetadata: Counter<"reason">;
  private readonly recordsExcluded: Counter<"reason">;
  private readonly recordsDelayed: Counter;

  constructor(
    private readonly source: PodMetadataSource,
    private readonly opts: KubernetesEnricherOptions,
  ) {
    this.excludedNamespaces = new Set(opts.excludeNamespaces);
    // Monotonic: a wall clock stepped back must not hold a file's lines for as long as the step.
    this.now = opts.now ?? (() => performance.now());
    const m = new EnrichmentMetrics(opts.registry, () => this.heldRecords());
    this.recordsEnriched = m.recordsEnriched;
    this.recordsWithoutMetadata = m.recordsWithoutMetadata;
    this.recordsExcluded = m.recordsExcluded;
    this.recordsDelayed = m.recordsDelayed;
    this.unsubscribe = source.onPodKnown((uid) => this.podKnown(uid));
    this.startupUntil = this.now() + opts.waitMs;
    if (opts.waitMs <= 0) this.startupOver = true;
    else {
      // Looks again every 50 ms whether the start-up wait is over, and wakes the readers then.
      this.startupTimer = setInterval(() => this.startingUp(), 50);
      this.startupTimer.unref();
    }
  }

  /** Wraps the pipeline's submit: records pass through this stage first. */
  wrap(next: Submit): Submit {
    this.next = next;
    return (records, ticket, lane) => this.submit(records, ticket, lane);
  }

  /**
   * The read gate of this stage: a file whose records wait for their pod's metadata is not read
   * on meanwhile, so what is held stays one read's worth per file (the in-flight budget counts
   * records only once a sink has them).
   */
  blocked(lane: string): boolean {
    return this.heldLanes.has(lane) || this.startingUp();
  }

  /**
   * Until the first lists are done (pods, namespaces, this node), for at most waitForMetadata
   * after the start and only while the API server answers, no file is read: at a restart with a
   * backlog, hundreds of files would otherwise each read a buffer and hold it in memory waiting
   * for the pods list, outside the in-flight budget. Lines wait on disk instead.
   */
  private startingUp(): boolean {
    if (this.startupOver) return false;
    if (this.stopped || this.source.synced() || !this.source.podsAvailable() || this.now() >= this.startupUntil) {
      this.startupOver = true;
      if (this.startupTimer !== undefined) clearInterval(this.startupTimer);
      this.startupTimer = undefined;
      this.wake();
      return false;
    }
    return true;
  }

  /** Tells the readers there is room, never from inside a call of theirs (blocked() is one). */
  private wake(): void {
    setImmediate(() => {
      for (const listener of this.roomListeners) listener();
    });
  }

  onRoom(listener: () => void): void {
    this.roomListeners.push(listener);
  }

  /** Releases everything held (path metadata only) and stops waiting: for shutdown. */
  stop(): void {
    this.stopped = true;
    if (this.startupTimer !== undefined) clearInterval(this.startupTimer);
    this.startupTimer = undefined;
    this.startupOver = true;
    this.unsubscribe();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [uid, w] of [...this.waiting]) this.release(uid, w, "shutdown");
  }

  status(): { waitingPods: number; waitingRecords: number; podsGivenUp: number } {
    return { waitingPods: this.waiting.size, waitingRecords: this.heldRecords(), podsGivenUp: this.gaveUp.size };
  }

  private submit(records: LogRecord[], ticket: Acknowledgeable, lane: string): void {
    // An emission is one file's records: one origin, checked once. Mixed origins are handled
    // record by record.
    const first = records[0]?.origin.kubernetes;
    if (first === undefined) return this.next(records, ticket, lane);
    const uid = first.podUid;
    const queue = this.waiting.get(uid);
    if (queue !== undefined) {
      // Keeps the file's order: nothing of this pod overtakes what is held.
      queue.held.push({ records, ticket, lane });
      this.recordsDelayed.inc(records.length);
      this.heldLanes.set(lane, (this.heldLanes.get(lane) ?? 0) + 1);
      return;
    }
    if (this.shouldWait(uid, first)) {
      this.hold(uid, { records, ticket, lane });
      return;
    }
    this.forward(records, ticket, lane, "unknown_pod");
  }

  private shouldWait(uid: string, k: KubernetesMetadata): boolean {
    if (this.stopped || this.opts.waitMs <= 0) return false;
    if (this.excludedNamespaces.has(k.namespace)) return false;
    if (this.source.pod(uid) !== undefined) return false;
    if (this.gaveUp.has(uid)) return false;
    return this.source.podsAvailable();
  }

  private hold(uid: string, held: Held): void {
    this.waiting.set(uid, { until: this.now() + this.opts.waitMs, held: [held] });
    this.heldLanes.set(held.lane, (this.heldLanes.get(held.lane) ?? 0) + 1);
    this.recordsDelayed.inc(held.records.length);
    this.arm();
  }

  /** Enriches, excludes and hands on; `reason` says why a pod still unknown goes without. */
  private forward(records: LogRecord[], ticket: Acknowledgeable, lane: string, reason: string): void {
    // Records kept, made only once one is excluded (the common case passes `records` on as is).
    let kept: LogRecord[] | undefined;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const k = r.origin.kubernetes;
      const verdict = k === undefined ? r.origin : this.verdict(r.origin, k, reason);
      if (typeof verdict === "string") {
        this.recordsExcluded.inc({ reason: verdict });
        kept ??= records.slice(0, i);
        continue;
      }
      // Records are the source's fresh objects for this emission: re-pointing the origin is safe.
      r.origin = verdict;
      kept?.push(r);
    }
    if (kept === undefined) return this.next(records, ticket, lane);
    ticket.ack(records.length - kept.length);
    if (kept.length > 0) this.next(kept, ticket, lane);
  }

  /** The origin to send the record with, or the exclusion reason. */
  private verdict(origin: LogOrigin, k: KubernetesMetadata, reason: string): LogOrigin | string {
    if (this.excludedNamespaces.has(k.namespace)) return "namespace";
    const pod = this.source.pod(k.podUid);
    if (pod === undefined) {
      this.recordsWithoutMetadata.inc({ reason: this.source.podsAvailable() ? reason : "api_unavailable" });
      return origin;
    }
    if (pod.annotations[EXCLUDE_ANNOTATION] === "true") return "pod";
    const containers = pod.annotations[EXCLUDE_CONTAINERS_ANNOTATION];
    if (containers !== undefined && containers.split(",").some((c) => c.trim() === k.containerName)) return "container";
    this.recordsEnriched.inc({ state: pod.deletedAt === undefined ? "running" : "deleted" });
    const namespace = this.source.namespace(k.namespace);
    const node = this.source.node();
    const cached = this.enriched.get(origin);
    if (cached !== undefined && cached.pod === pod && cached.namespace === namespace && cached.node === node) return cached.origin;
    const api: KubernetesApiMetadata = {
      podLabels: pod.labels,
      podAnnotations: withoutOwn(pod.annotations),
      owner: pod.owner,
      workload: pod.workload,
      containerImage: pod.images[k.containerName],
      namespaceLabels: namespace?.labels ?? {},
      nodeLabels: node?.labels ?? {},
    };
    const enriched: LogOrigin = { ...origin, kubernetes: { ...k, api } };
    this.enriched.set(origin, { pod, namespace, node, origin: enriched });
    return enriched;
  }

  private podKnown(uid: string): void {
    this.gaveUp.delete(uid);
    const w = this.waiting.get(uid);
    if (w !== undefined) this.release(uid, w, "wait_expired");
  }

  private release(uid: string, w: Waiting, reason: string): void {
    this.waiting.delete(uid);
    if (this.source.pod(uid) === undefined && reason !== "shutdown") this.rememberGaveUp(uid);
    for (const h of w.held) {
      const left = (this.heldLanes.get(h.lane) ?? 1) - 1;
      if (left > 0) this.heldLanes.set(h.lane, left);
      else this.heldLanes.delete(h.lane);
      try {
        this.forward(h.records, h.ticket, h.lane, reason);
      } catch (err) {
        // The next stage never throws today; if it did, the other held emissions still go on.
        this.opts.logger.error(
          { err: err instanceof Error ? err.message : String(err) },
          "handing on records held for pod metadata failed",
        );
      }
    }
    this.wake();
  }

  private rememberGaveUp(uid: string): void {
    if (this.gaveUp.size >= MAX_GAVE_UP) this.gaveUp.delete(this.gaveUp.values().next().value as string);
    this.gaveUp.add(uid);
  }

  /** One timer for the earliest deadline. */
  private arm(): void {
    if (this.timer !== undefined || this.waiting.size === 0) return;
    let earliest = Infinity;
    for (const w of this.waiting.values()) earliest = Math.min(earliest, w.until);
    this.timer = setTimeout(() => this.expire(), Math.max(0, earliest - this.now()));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    const now = this.now();
    for (const [uid, w] of [...this.waiting]) if (w.until <= now) this.release(uid, w, "wait_expired");
    this.arm();
  }

  private heldRecords(): number {
    let n = 0;
    for (const w of this.waiting.values()) for (const h of w.held) n += h.records.length;
    return n;
  }
}

/** nodetap's own exclusion annotations steer the agent; they are not shipped unless selected. */
function withoutOwn(annotations: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  if (!(EXCLUDE_ANNOTATION in annotations) && !(EXCLUDE_CONTAINERS_ANNOTATION in annotations)) return annotations;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(annotations)) {
    if (key !== EXCLUDE_ANNOTATION && key !== EXCLUDE_CONTAINERS_ANNOTATION) out[key] = value;
  }
  return out;
}

/** The enricher's nodetap_kubernetes_records_* families. */
export class EnrichmentMetrics {
  readonly recordsEnriched: Counter<"state">;
  readonly recordsWithoutMetadata: Counter<"reason">;
  readonly recordsExcluded: Counter<"reason">;
  readonly recordsDelayed: Counter;
  readonly recordsWaiting: Gauge;

  constructor(registry: Registry, waiting: () => number) {
    const registers = [registry];
    this.recordsEnriched = new Counter({
      name: "nodetap_kubernetes_records_enriched_total",
      help: "Pod records that got API-server metadata, by pod state (running, or deleted: its metadata kept for kubernetes.deletedPodRetention).",
      labelNames: ["state"],
      registers,
    });
    this.recordsWithoutMetadata = new Counter({
      name: "nodetap_kubernetes_records_without_metadata_total",
      help: "Pod records sent with path metadata only, by reason: wait_expired (pod still unknown after kubernetes.waitForMetadata), unknown_pod (not waited for: waited once already, or waitForMetadata 0), api_unavailable (the pods watch failing: API server unreachable or refusing), shutdown (released at stop).",
      labelNames: ["reason"],
      registers,
    });
    this.recordsExcluded = new Counter({
      name: "nodetap_kubernetes_records_excluded_total",
      help: "Pod records not shipped by an exclusion, by reason: namespace (kubernetes.excludeNamespaces), pod (annotation nodetap.io/exclude), container (annotation nodetap.io/exclude-containers). Their checkpoints advance.",
      labelNames: ["reason"],
      registers,
    });
    this.recordsDelayed = new Counter({
      name: "nodetap_kubernetes_records_delayed_total",
      help: "Pod records held waiting for their pod's metadata (kubernetes.waitForMetadata), whatever came of it.",
      registers,
    });
    this.recordsWaiting = new Gauge({
      name: "nodetap_kubernetes_records_waiting",
      help: "Pod records held now, waiting for their pod's metadata.",
      registers,
      collect: () => this.recordsWaiting.set(waiting()),
    });
  }
}
