import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { AgentConfig } from "./config-schema.js";
import { redactConfig } from "./config/docs.js";
import { HostPaths } from "./host/paths.js";
import { checkHostPaths } from "./host/check.js";
import { keepProcfsDescriptors, stopKeepingProcfsDescriptors } from "./host/kept-procfs-files.js";
import { applyHeapGrowingPercent } from "./heap-growing.js";
import { gatherInventory, type HostInventory } from "./host/inventory.js";
import { COLLECTORS } from "./metrics/collectors/index.js";
import { CollectorRegistry } from "./metrics/registry.js";
import { registerKeptFilesGauge } from "./metrics/kept-files-metric.js";
import { filesystemStatus } from "./metrics/collectors/filesystem.js";
import { XidTracker, xidRecordObserver } from "./metrics/collectors/gpu/xid.js";
import { createSelfRegistry } from "./self-metrics.js";
import { HeapTrimmer } from "./heap-trim.js";
import { buildApp, parseListenAddress } from "./server/app.js";
import { createLogPipeline, type LogPipeline } from "./logs/index.js";
import { KubernetesMetadata, metadataWanted } from "./kubernetes/index.js";
import { ConfigError } from "./config/errors.js";
import { VERSION, REVISION } from "./version.js";

/** Thrown when the HTTP listener cannot be opened (address in use, permission); main() exits with EXIT_LISTEN. */
export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ListenError";
  }
}

export const EXIT_LISTEN = 4;

/** How long /status waits for the host inventory it starts gathering (about 50 ms on a VM). */
const INVENTORY_WAIT_MS = 5000;

/**
 * The composition root: host paths, collectors, the log pipeline and the HTTP server, started
 * and stopped together. The metrics and logs paths meet only here and in the server.
 */
export class Agent {
  private readonly paths: HostPaths;
  private readonly selfRegistry: Registry;
  private readonly collectors: CollectorRegistry;
  private readonly logs?: LogPipeline;
  private readonly kubernetes?: KubernetesMetadata;
  private readonly app: FastifyInstance;
  private readonly heapTrimmer: HeapTrimmer;
  /** Gathered on the first /status (see host/inventory.ts). */
  private inventory?: Promise<HostInventory>;
  private readonly startedAt = new Date();
  private started = false;
  private stopping?: Promise<void>;
  address?: string;

  constructor(
    private readonly config: AgentConfig,
    private readonly logger: Logger,
  ) {
    this.paths = new HostPaths(config.paths);
    checkHostPaths(this.paths);
    if (keepProcfsDescriptors(this.paths.procfs)) logger.debug({ procfs: this.paths.procfs }, "procfs files stay open between scrapes");
    this.selfRegistry = createSelfRegistry({ runtimeMetrics: !config.metrics.disableExporterMetrics });
    registerKeptFilesGauge(this.selfRegistry);
    const heapGrowthCapped = applyHeapGrowingPercent(config.runtime.heapGrowingPercent);
    if (heapGrowthCapped)
      logger.debug({ percent: config.runtime.heapGrowingPercent }, "V8's old-generation growth capped (runtime.heapGrowingPercent)");
    this.heapTrimmer = new HeapTrimmer({ intervalSeconds: config.runtime.heapTrimInterval, logger, registry: this.selfRegistry });
    // GPU XID errors: the log pipeline shows every record to the tracker, the gpu collector reads it.
    const xid = config.metrics.collectors.gpu.enabled && config.logs.enabled ? new XidTracker() : undefined;
    this.collectors = new CollectorRegistry(COLLECTORS, config.metrics, this.paths, logger, { xid });
    const podLogs = config.logs.enabled && config.logs.sources.pods.enabled;
    if (podLogs && metadataWanted(config.kubernetes, podLogs)) this.kubernetes = this.kubernetesMetadata(config, logger);
    if (config.logs.enabled) {
      const k8s = this.kubernetes;
      this.logs = createLogPipeline({
        config: config.logs,
        registry: this.selfRegistry,
        logger: logger.child({ component: "logs" }),
        nodeName: process.env.NODE_NAME,
        recordObservers: xid ? [xidRecordObserver(xid)] : [],
        kubernetes:
          k8s === undefined
            ? undefined
            : {
                source: k8s,
                waitForMetadata: config.kubernetes.waitForMetadata,
                excludeNamespaces: config.kubernetes.excludeNamespaces,
              },
      });
    }
    this.app = buildApp({
      web: config.web,
      logger,
      metrics: { collectors: this.collectors, selfRegistry: this.selfRegistry },
      ready: () => this.started && (this.logs?.ready() ?? true),
      status: () => this.status(),
    });
  }

  /**
   * The API-server metadata service. With kubernetes.metadata auto, settings that cannot work
   * (no NODE_NAME, no token file: e.g. automountServiceAccountToken false) turn it off with a
   * warning, so an agent that shipped logs before keeps doing so; with on they are a config error.
   */
  private kubernetesMetadata(config: AgentConfig, logger: Logger): KubernetesMetadata | undefined {
    try {
      return new KubernetesMetadata(config.kubernetes, { registry: this.selfRegistry, logger: logger.child({ component: "kubernetes" }) });
    } catch (err) {
      if (config.kubernetes.metadata !== "auto" || !(err instanceof ConfigError)) throw err;
      logger.warn(
        { key: err.key, problem: err.problem },
        "kubernetes.metadata is auto and cannot work here: pod records carry path metadata only (set kubernetes.metadata: off to silence this, or fix the key)",
      );
      return undefined;
    }
  }

  async start(): Promise<void> {
    const { host, port } = parseListenAddress(this.config.web.listenAddress);
    await this.listen(host, port);
    // Watches start first, so the pods of existing files are (mostly) known when reading starts.
    this.kubernetes?.start();
    await this.logs?.start();
    this.started = true;
    this.logger.info(
      {
        address: this.address,
        collectors: this.collectors.enabledNames(),
        logs: this.config.logs.enabled,
        kubernetesMetadata: this.kubernetes !== undefined ? this.kubernetes.settings.apiServer : false,
        version: VERSION,
      },
      "nodetap started",
    );
    this.heapTrimmer.start();
  }

  private async listen(host: string, port: number): Promise<void> {
    try {
      this.address = await this.app.listen({ host, port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // "::" means any address; on hosts without IPv6 fall back to any IPv4 address.
      if (host === "::" && (code === "EAFNOSUPPORT" || code === "EADDRNOTAVAIL")) return this.listen("0.0.0.0", port);
      const reason = code === "EADDRINUSE" ? "address already in use" : code === "EACCES" ? "permission denied" : (err as Error).message;
      throw new ListenError(`cannot listen on ${this.config.web.listenAddress}: ${reason}`);
    }
  }

  /** The host inventory, gathered on the first call; a call waits for it at most `waitMs`. */
  private async hostInventory(waitMs = INVENTORY_WAIT_MS): Promise<HostInventory> {
    const gathering = (this.inventory ??= gatherInventory(this.logger));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<HostInventory>((resolve) => {
      timer = setTimeout(() => resolve({ pending: `still being gathered after ${waitMs} ms; ask again` }), waitMs);
      timer.unref();
    });
    try {
      return await Promise.race([gathering, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async status(): Promise<unknown> {
    return {
      version: VERSION,
      revision: REVISION,
      node: process.version,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      ready: this.started && (this.logs?.ready() ?? true),
      config: redactConfig(this.config),
      host: await this.hostInventory(),
      collectors: this.collectors.collectorStates(),
      filesystem: filesystemStatus(),
      logs: this.logs?.status(),
      kubernetes: this.kubernetes?.status(),
    };
  }

  /** Stops reading logs, flushes within the deadline, then closes the server. Idempotent. */
  stop(deadlineMs: number): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info({ deadline_ms: deadlineMs }, "nodetap stopping");
      this.heapTrimmer.stop();
      await this.logs?.stop(deadlineMs);
      await this.kubernetes?.stop();
      await this.app.close();
      await this.collectors.close();
      stopKeepingProcfsDescriptors();
      this.logger.info("nodetap stopped");
    })();
    return this.stopping;
  }
}
