import { Counter, Gauge, type Registry } from "prom-client";

/** The watched resources, as the API names them; the `resource` label of every metric below. */
export type Resource = "pods" | "namespaces" | "nodes";
export const RESOURCES: readonly Resource[] = ["pods", "namespaces", "nodes"];

/** What the gauges read at scrape time. */
export interface StoreFigures {
  objects(resource: Resource): number;
  bytes(): number;
}

/**
 * The metadata client's self-metrics (nodetap_kubernetes_*). Labels are bounded: resource (3),
 * verb (list, watch), code (HTTP status or an error reason), event type (5), reason (api-error.ts).
 * The enrichment's nodetap_kubernetes_records_* counters are registered elsewhere.
 */
export class KubernetesMetrics {
  readonly requests: Counter<"resource" | "verb" | "code">;
  readonly watchEvents: Counter<"resource" | "type">;
  readonly relists: Counter<"resource" | "reason">;
  readonly errors: Counter<"resource" | "reason">;
  readonly watchRestarts: Counter<"resource" | "reason">;
  readonly up: Gauge<"resource">;
  readonly synced: Gauge<"resource">;
  readonly lastSync: Gauge<"resource">;

  constructor(registry: Registry, store: StoreFigures) {
    const registers = [registry];
    this.requests = new Counter({
      name: "nodetap_kubernetes_requests_total",
      help: "Requests to the Kubernetes API server, by resource, verb (list, watch) and code: the HTTP status, or an error reason (connection, tls, timeout, token) when none came back. A request retried at once with a rotated token counts once, by its final answer.",
      labelNames: ["resource", "verb", "code"],
      registers,
    });
    this.watchEvents = new Counter({
      name: "nodetap_kubernetes_watch_events_total",
      help: "Watch events received, by resource and type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR).",
      labelNames: ["resource", "type"],
      registers,
    });
    this.relists = new Counter({
      name: "nodetap_kubernetes_relists_total",
      help: "LISTs made again after the first, by resource and reason: 410 (the watch's resourceVersion expired), error (the watch stream lost an event: an over-size or malformed line).",
      labelNames: ["resource", "reason"],
      registers,
    });
    this.errors = new Counter({
      name: "nodetap_kubernetes_errors_total",
      help: "Failed LISTs and watches, by resource and reason: unauthorized, forbidden, gone, client_error, server_error, connection, tls, timeout, decode, oversize, token, internal.",
      labelNames: ["resource", "reason"],
      registers,
    });
    this.watchRestarts = new Counter({
      name: "nodetap_kubernetes_watch_restarts_total",
      help: "Watches started again from the last resourceVersion, by resource and reason: end (the server closed it at its timeoutSeconds), error (it failed; started again after the backoff).",
      labelNames: ["resource", "reason"],
      registers,
    });
    this.up = new Gauge({
      name: "nodetap_kubernetes_up",
      help: "1 while the resource's LIST/watch works, 0 while it fails and is retried with backoff.",
      labelNames: ["resource"],
      registers,
    });
    this.synced = new Gauge({
      name: "nodetap_kubernetes_synced",
      help: "1 once the resource's first LIST completed (before that, unknown pods are expected).",
      labelNames: ["resource"],
      registers,
    });
    this.lastSync = new Gauge({
      name: "nodetap_kubernetes_last_sync_timestamp_seconds",
      help: "When the resource's view was last confirmed current: a LIST completed, a watch event or bookmark came, or a watch ended normally (Unix seconds).",
      labelNames: ["resource"],
      registers,
    });
    new Gauge({
      name: "nodetap_kubernetes_objects",
      help: "Objects in the metadata store, by resource (pods include deleted ones kept for kubernetes.deletedPodRetention).",
      labelNames: ["resource"],
      registers,
      collect() {
        for (const resource of RESOURCES) this.set({ resource }, store.objects(resource));
      },
    });
    new Gauge({
      name: "nodetap_kubernetes_store_bytes",
      help: "Approximate heap bytes of the metadata store's slim objects, estimated from their string lengths.",
      registers,
      collect() {
        this.set(store.bytes());
      },
    });
    for (const resource of RESOURCES) {
      this.up.set({ resource }, 0);
      this.synced.set({ resource }, 0);
    }
  }
}
