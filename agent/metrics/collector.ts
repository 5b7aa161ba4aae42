import type { Logger } from "pino";
import type { HostPaths } from "../host/paths.js";
import type { MetricSink } from "./model.js";
import type { MetricsConfig } from "../config/sections/metrics.js";
import type { XidSource } from "./collectors/gpu/collector.js";

/**
 * The collector contract, after node_exporter's: a named unit that, on each scrape, reads the
 * host and emits samples. Parsing lives in a pure function next to it (text -> values), tested
 * on recorded fixtures; `update` does the I/O and the naming.
 *
 * A collector may throw: the registry records success=0 for that scrape, logs once per state
 * change, and keeps serving the other collectors. A collector that finds nothing to report (no
 * such device on this host) should emit nothing and return normally, like node_exporter's
 * ErrNoData.
 */
export interface Collector {
  readonly name: string;
  update(out: MetricSink, ctx: ScrapeContext): Promise<void> | void;
  /** Releases resources (pending calls, watchers) at shutdown. */
  close?(): Promise<void> | void;
}

export interface ScrapeContext {
  /** Aborted when the collector's timeout passes; long async work should check it. */
  readonly signal: AbortSignal;
}

export interface CollectorDeps {
  readonly paths: HostPaths;
  readonly config: MetricsConfig;
  readonly logger: Logger;
  /** The Kubernetes node's name (NODE_NAME), for collectors whose series name their host (gpu). */
  readonly nodeName?: string;
  /** XID errors the log pipeline found in the kernel's log, for the gpu collector. */
  readonly xid?: XidSource;
}

/** What the agent gives collectors beyond paths, config and logger. */
export type CollectorExtras = Pick<CollectorDeps, "nodeName" | "xid">;

export interface CollectorDefinition {
  readonly name: string;
  /** On unless --no-collector.<name> or --collector.disable-defaults (as in node_exporter 1.12). */
  readonly defaultEnabled: boolean;
  /** Its work runs off the main thread (libuv's thread pool); the registry starts it before the others. */
  readonly offThread?: boolean;
  create(deps: CollectorDeps): Collector;
}

/** Thrown by collectors for data that cannot be parsed; the message names the file and the problem. */
export class CollectorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CollectorError";
  }
}
