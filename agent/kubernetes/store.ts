import type { NamespaceMetadata, NodeMetadata, PodMetadata } from "./metadata.js";
import { estimateBytes, sameSlim } from "./slim.js";

/** What a reflector feeds: a whole LIST (replace), then the watch's changes. */
export interface StoreSink<T> {
  /** The full set after a (re-)LIST: what is not in it is gone. */
  replace(items: readonly T[]): void;
  upsert(item: T): void;
  remove(item: T): void;
}

interface Sized<T> {
  readonly value: T;
  readonly bytes: number;
}

/**
 * The slim objects the agent knows: this node's pods by uid, every namespace by name, and the
 * node. `generation` goes up on every change (an update that changes nothing kept, such as a pod's
 * status, is not a change), so callers can cache what they derive per generation.
 *
 * A deleted pod is kept `retentionMs` with deletedAt set (its last lines are still being read),
 * then removed; a pod that comes back with the same uid (seen in a re-LIST) loses deletedAt.
 */
export class MetadataStore {
  private readonly pods = new Map<string, Sized<PodMetadata>>();
  private readonly namespaces = new Map<string, Sized<NamespaceMetadata>>();
  private nodeEntry: Sized<NodeMetadata> | undefined;
  private readonly podListeners = new Set<(uid: string) => void>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private totalBytes = 0;
  private deleted = 0;
  private gen = 0;

  constructor(
    private readonly retentionMs: number,
    private readonly now: () => number = Date.now,
    private readonly onListenerError: (err: unknown) => void = () => {},
  ) {}

  get generation(): number {
    return this.gen;
  }

  pod(uid: string): PodMetadata | undefined {
    return this.pods.get(uid)?.value;
  }

  namespace(name: string): NamespaceMetadata | undefined {
    return this.namespaces.get(name)?.value;
  }

  node(): NodeMetadata | undefined {
    return this.nodeEntry?.value;
  }

  /** Calls `listener` with a pod's uid whenever the pod is added, changed or brought back; returns the unsubscribe function. */
  onPodKnown(listener: (uid: string) => void): () => void {
    this.podListeners.add(listener);
    return () => this.podListeners.delete(listener);
  }

  counts(): { pods: number; deletedPods: number; namespaces: number; nodes: number; bytes: number } {
    return {
      pods: this.pods.size,
      deletedPods: this.deleted,
      namespaces: this.namespaces.size,
      nodes: this.nodeEntry ? 1 : 0,
      bytes: this.totalBytes,
    };
  }

  readonly podSink: StoreSink<PodMetadata> = {
    replace: (items) => {
      const seen = new Set<string>();
      for (const pod of items) {
        seen.add(pod.uid);
        this.upsertPod(pod);
      }
      for (const [uid, entry] of this.pods) if (!seen.has(uid) && entry.value.deletedAt === undefined) this.markDeleted(entry.value);
    },
    upsert: (pod) => this.upsertPod(pod),
    remove: (pod) => this.markDeleted(this.pods.get(pod.uid)?.value ?? pod),
  };

  readonly namespaceSink: StoreSink<NamespaceMetadata> = {
    replace: (items) => {
      const seen = new Set(items.map((ns) => ns.name));
      for (const name of [...this.namespaces.keys()]) if (!seen.has(name)) this.removeNamespace(name);
      for (const ns of items) this.upsertNamespace(ns);
    },
    upsert: (ns) => this.upsertNamespace(ns),
    remove: (ns) => this.removeNamespace(ns.name),
  };

  readonly nodeSink: StoreSink<NodeMetadata> = {
    replace: (items) => {
      if (items.length === 0) this.setNode(undefined);
      else for (const node of items) this.setNode(node);
    },
    upsert: (node) => this.setNode(node),
    remove: () => this.setNode(undefined),
  };

  /** Stops the retention timer. */
  close(): void {
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private upsertPod(pod: PodMetadata): void {
    const old = this.pods.get(pod.uid);
    const value = pod.deletedAt === undefined ? pod : { ...pod, deletedAt: undefined };
    if (old !== undefined && sameSlim(old.value, value)) return;
    if (old?.value.deletedAt !== undefined) this.deleted--;
    this.putPod(value);
    for (const listener of this.podListeners) {
      try {
        listener(pod.uid);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  private markDeleted(pod: PodMetadata): void {
    const old = this.pods.get(pod.uid);
    if (old?.value.deletedAt !== undefined) return;
    if (this.retentionMs <= 0) {
      if (old !== undefined) this.dropPod(pod.uid);
      return;
    }
    this.putPod({ ...(old?.value ?? pod), deletedAt: this.now() });
    this.deleted++;
    this.scheduleSweep(this.retentionMs);
  }

  private putPod(pod: PodMetadata): void {
    const bytes = estimateBytes(pod);
    this.totalBytes += bytes - (this.pods.get(pod.uid)?.bytes ?? 0);
    this.pods.set(pod.uid, { value: pod, bytes });
    this.gen++;
  }

  private dropPod(uid: string): void {
    const old = this.pods.get(uid);
    if (old === undefined) return;
    if (old.value.deletedAt !== undefined) this.deleted--;
    this.totalBytes -= old.bytes;
    this.pods.delete(uid);
    this.gen++;
  }

  private scheduleSweep(inMs: number): void {
    if (this.sweepTimer !== undefined) return;
    this.sweepTimer = setTimeout(() => this.sweep(), Math.max(1, inMs));
    this.sweepTimer.unref();
  }

  /** Removes the deleted pods whose retention ran out, and waits for the next one to. */
  private sweep(): void {
    this.sweepTimer = undefined;
    const now = this.now();
    let next = Infinity;
    for (const [uid, { value }] of [...this.pods]) {
      if (value.deletedAt === undefined) continue;
      const expires = value.deletedAt + this.retentionMs;
      if (expires <= now) this.dropPod(uid);
      else next = Math.min(next, expires);
    }
    if (next !== Infinity) this.scheduleSweep(next - now);
  }

  private upsertNamespace(ns: NamespaceMetadata): void {
    const old = this.namespaces.get(ns.name);
    if (old !== undefined && sameSlim(old.value, ns)) return;
    const bytes = estimateBytes(ns);
    this.totalBytes += bytes - (old?.bytes ?? 0);
    this.namespaces.set(ns.name, { value: ns, bytes });
    this.gen++;
  }

  private removeNamespace(name: string): void {
    const old = this.namespaces.get(name);
    if (old === undefined) return;
    this.totalBytes -= old.bytes;
    this.namespaces.delete(name);
    this.gen++;
  }

  private setNode(node: NodeMetadata | undefined): void {
    if (sameSlim(this.nodeEntry?.value, node)) return;
    this.totalBytes -= this.nodeEntry?.bytes ?? 0;
    this.nodeEntry = node === undefined ? undefined : { value: node, bytes: estimateBytes(node) };
    this.totalBytes += this.nodeEntry?.bytes ?? 0;
    this.gen++;
  }
}
