import fs from "node:fs";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { ConfigError } from "../config/errors.js";
import { ApiClient } from "./api-client.js";
import type { KubernetesConfig } from "./config.js";
import { HealthLog } from "./health-log.js";
import type { KubeObject } from "./kube-types.js";
import type { NamespaceMetadata, NodeMetadata, PodMetadata } from "./metadata.js";
import { KubernetesMetrics, type Resource } from "./metrics.js";
import { Reflector, type ReflectorStatus } from "./reflector.js";
import { resolveSettings, type KubernetesSettings } from "./settings.js";
import { slimNamespace, slimNode, slimPod } from "./slim.js";
import { MetadataStore, type StoreSink } from "./store.js";
import { TokenSource } from "./token.js";

export type { NamespaceMetadata, NodeMetadata, PodMetadata, Workload } from "./metadata.js";
export { metadataWanted, resolveSettings, EXCLUDE_ANNOTATION, EXCLUDE_CONTAINERS_ANNOTATION } from "./settings.js";

/** Knobs the configuration does not expose; tests shorten them. */
export interface KubernetesTuning {
  /** LIST page size (default 500). */
  readonly pageSize?: number;
  /** Range of the watches' timeoutSeconds (default 300–600). */
  readonly watchTimeoutSeconds?: readonly [number, number];
  /** Silence beyond timeoutSeconds after which a watch counts as dead (default 30 s). */
  readonly watchIdleMarginMs?: number;
  /** Connect + response headers, and the longest silence in a LIST body (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** How often at most the token file's identity is checked (default 5 s). */
  readonly tokenCheckIntervalMs?: number;
  /** Cap on one watch event line (default 16 MiB). */
  readonly maxEventLineBytes?: number;
  readonly random?: () => number;
  readonly now?: () => number;
  /** The wait between retries (default: a timer that stop() cuts short). */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface KubernetesMetadataDeps {
  readonly registry: Registry;
  readonly logger: Logger;
  /** Default process.env: KUBERNETES_SERVICE_HOST/PORT, NODE_NAME. */
  readonly env?: NodeJS.ProcessEnv;
  readonly tuning?: KubernetesTuning;
}

/** /status of the metadata client; never holds the token. */
export interface KubernetesMetadataStatus {
  readonly apiServer: string;
  readonly nodeName: string;
  readonly tokenFile: string;
  readonly started: boolean;
  readonly generation: number;
  readonly store: { pods: number; deletedPods: number; namespaces: number; nodes: number; approxBytes: number };
  readonly resources: Record<Resource, ReflectorStatus & { objects: number }>;
}

/**
 * Pod, namespace and node metadata from the Kubernetes API server, for the records of pod logs:
 * three reflectors (this node's pods, all namespaces, this node) keep a slim store current. Needs
 * RBAC get/list/watch on pods, namespaces and nodes, nothing else.
 *
 * The constructor checks the settings (ConfigError naming the key); start() begins listing and
 * watching in the background and never throws: failures are retried with backoff and show in
 * status(), the metrics and the log.
 */
export class KubernetesMetadata {
  readonly settings: KubernetesSettings;
  private readonly client: ApiClient;
  private readonly store: MetadataStore;
  private readonly reflectors: readonly Reflector<unknown>[];
  private readonly pods: Reflector<PodMetadata>;
  private controller: AbortController | undefined;
  private runs: Promise<void>[] = [];

  constructor(config: KubernetesConfig, deps: KubernetesMetadataDeps) {
    const tuning = deps.tuning ?? {};
    const settings = resolveSettings(config, deps.env ?? process.env);
    this.settings = settings;
    let ca: Buffer | undefined;
    if (settings.caFile !== "") {
      try {
        ca = fs.readFileSync(settings.caFile);
      } catch (err) {
        throw new ConfigError("kubernetes.caFile", `${settings.caFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      }
    }
    const now = tuning.now ?? Date.now;
    this.client = new ApiClient({
      apiServer: settings.apiServer,
      token: new TokenSource(settings.tokenFile, tuning.tokenCheckIntervalMs ?? 5_000, now),
      ca,
      requestTimeoutMs: tuning.requestTimeoutMs,
      maxEventLineBytes: tuning.maxEventLineBytes,
    });
    this.store = new MetadataStore(settings.deletedPodRetentionMs, now, (err) =>
      deps.logger.error({ err }, "kubernetes: an onPodKnown listener threw"),
    );
    const metrics = new KubernetesMetrics(deps.registry, {
      objects: (resource) => {
        const c = this.store.counts();
        return resource === "pods" ? c.pods : resource === "namespaces" ? c.namespaces : c.nodes;
      },
      bytes: () => this.store.counts().bytes,
    });
    const make = <T>(
      resource: Resource,
      scope: string,
      fieldSelector: string | undefined,
      convert: (obj: KubeObject) => T | undefined,
      sink: StoreSink<T>,
    ): Reflector<T> =>
      new Reflector<T>({
        resource,
        path: `/api/v1/${resource}`,
        fieldSelector,
        convert,
        sink,
        client: this.client,
        metrics,
        health: new HealthLog(deps.logger, resource, {
          apiServer: settings.apiServer,
          tokenFile: settings.tokenFile,
          scope,
          backoffMaxMs: settings.backoffMaxMs,
        }),
        backoffInitialMs: settings.backoffInitialMs,
        backoffMaxMs: settings.backoffMaxMs,
        pageSize: tuning.pageSize,
        watchTimeoutSeconds: tuning.watchTimeoutSeconds,
        watchIdleMarginMs: tuning.watchIdleMarginMs,
        random: tuning.random,
        now,
        sleep: tuning.sleep,
      });
    const node = settings.nodeName;
    this.pods = make(
      "pods",
      `(cluster scope, fieldSelector spec.nodeName=${node})`,
      `spec.nodeName=${node}`,
      (o) => slimPod(o, settings.annotations),
      this.store.podSink,
    );
    this.reflectors = [
      this.pods,
      make("namespaces", "(cluster scope)", undefined, slimNamespace, this.store.namespaceSink),
      make("nodes", `(node ${node})`, `metadata.name=${node}`, (o) => slimNode(o, settings.nodeLabels), this.store.nodeSink),
    ] as Reflector<unknown>[];
  }

  /** Starts listing and watching in the background; a second call does nothing. */
  start(): void {
    if (this.controller !== undefined) return;
    const controller = new AbortController();
    this.controller = controller;
    this.runs = this.reflectors.map((r) => r.run(controller.signal));
  }

  /** Ends the watches and waits for the reflectors to stop; closes the connections. */
  async stop(): Promise<void> {
    this.controller?.abort();
    await Promise.all(this.runs);
    this.client.close();
    this.store.close();
  }

  pod(uid: string): PodMetadata | undefined {
    return this.store.pod(uid);
  }

  namespace(name: string): NamespaceMetadata | undefined {
    return this.store.namespace(name);
  }

  node(): NodeMetadata | undefined {
    return this.store.node();
  }

  /** The first pod LIST is done: from here on, a pod the store does not know is new (or not on this node). */
  /** Every resource listed at least once (pods, namespaces, this node). */
  synced(): boolean {
    return this.reflectors.every((r) => r.synced);
  }

  podsSynced(): boolean {
    return this.pods.synced;
  }

  /** Goes up on every change of a stored object; callers cache what they derive from the store per generation. */
  get generation(): number {
    return this.store.generation;
  }

  /** Calls `listener` with the uid of a pod added to the store or changed in it; returns the unsubscribe function. */
  onPodKnown(listener: (uid: string) => void): () => void {
    return this.store.onPodKnown(listener);
  }

  /**
   * The pods watch works, or is making its first list without a failure yet: a pod not known
   * now is worth waiting for (the log enricher does; it does not while this is false).
   */
  podsAvailable(): boolean {
    return this.pods.up || (!this.pods.synced && this.pods.failures === 0);
  }

  /** Every resource listed at least once and its LIST/watch working now. */
  healthy(): boolean {
    return this.reflectors.every((r) => r.synced && r.up);
  }

  status(): KubernetesMetadataStatus {
    const c = this.store.counts();
    const objects: Record<Resource, number> = { pods: c.pods, namespaces: c.namespaces, nodes: c.nodes };
    const resources = Object.fromEntries(this.reflectors.map((r) => [r.resource, { ...r.status(), objects: objects[r.resource] }]));
    return {
      apiServer: this.settings.apiServer,
      nodeName: this.settings.nodeName,
      tokenFile: this.settings.tokenFile,
      started: this.controller !== undefined,
      generation: this.store.generation,
      store: { pods: c.pods, deletedPods: c.deletedPods, namespaces: c.namespaces, nodes: c.nodes, approxBytes: c.bytes },
      resources: resources as KubernetesMetadataStatus["resources"],
    };
  }
}
