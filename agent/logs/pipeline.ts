import { heapRoomWarning } from "./heap-room.js";
import os from "node:os";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { LogsConfig } from "./config.js";
import { ConfigError, withKeyPrefix } from "../config/errors.js";
import { CheckpointStore } from "./checkpoint.js";
import { settlesBy } from "./deadline.js";
import { InFlightBudget } from "./in-flight-budget.js";
import { LogMetrics } from "./metrics.js";
import type { KubernetesMetadata, LogRecord } from "./record.js";
import { resolveStateDir } from "./state-dir.js";
import { FileTailManager } from "./sources/file-tail-manager.js";
import { fileSourceSpecs, tailSettingsFrom, type FileSourceSpec } from "./sources/file-source-spec.js";
import { JournaldSource } from "./sources/journald.js";
import type { Acknowledgeable } from "./ack-tracker.js";
import { Delivery } from "./delivery/delivery.js";
import type { DeadLetterFile } from "./delivery/dead-letter.js";
import { createSink } from "./sinks/index.js";
import { RetryPolicy } from "./delivery/retry-policy.js";
import type { SinkDefinition } from "./delivery/sink.js";
import { FilterChain } from "./filters/chain.js";
import { RoutingMetrics } from "./routing/metrics.js";
import { Router, type RoutedSink } from "./routing/router.js";
import { compileRoutes, type CompiledRoute } from "./routing/routes.js";
import { SinkBudget, type ByteBudget } from "./routing/sink-budget.js";
import type { ReadGate } from "./sources/read-order.js";
import { KubernetesEnricher, type PodMetadataSource } from "./transforms/kubernetes-enricher.js";

export interface LogPipelineOptions {
  config: LogsConfig;
  registry: Registry;
  logger: Logger;
  nodeName?: string;
  /**
   * Called with every record a source hands on, before it is batched (e.g. the gpu collector's
   * XID tracker). They run on the read path for every record: they must be cheap and must not
   * keep the record; one that throws is logged once and the record goes on.
   */
  recordObservers?: readonly RecordObserver[];
  /** API-server pod metadata for pod records, and the exclusions (agent/kubernetes). */
  kubernetes?: KubernetesStage;
  /**
   * Encoded batches reuse the buffers of batches already compressed (delivery/buffer-pool.ts);
   * default true. With a pod's heap (V8 grows it by 1.3) and 8 MiB semi-spaces the pool adds
   * about 1 MiB to the draining peak for a third more lines per CPU second (docs/benchmarks.md).
   */
  reuseBatchBuffers?: boolean;
}

/** What the pipeline needs to enrich pod records (transforms/kubernetes-enricher.ts). */
export interface KubernetesStage {
  source: PodMetadataSource;
  /** kubernetes.waitForMetadata in seconds. */
  waitForMetadata: number;
  excludeNamespaces: readonly string[];
}

/** Sees each record read (see LogPipelineOptions.recordObservers). */
export type RecordObserver = (record: LogRecord) => void;

/** One configured sink: logs.sink (named by its type), or an entry of logs.sinks. */
interface SinkSpec {
  name: string;
  /** Where its keys are in the config, for errors: logs.sink or logs.sinks.<name>. */
  key: string;
  config: LogsConfig["sink"];
  /** Its own in-flight limit (0: a share of logs.maxInFlightBytes). */
  maxInFlightBytes: number;
}

interface RunningSink {
  name: string;
  definition: SinkDefinition;
  deadLetter: DeadLetterFile;
  delivery: Delivery;
  budget: SinkBudget | undefined;
}

interface Running {
  stateDir: string;
  checkpoints: CheckpointStore;
  sinks: RunningSink[];
  router: Router | undefined;
  budget: InFlightBudget;
  files: FileTailManager;
  journald?: JournaldSource;
  enricher: KubernetesEnricher | undefined;
}

type Submit = (records: LogRecord[], ticket: Acknowledgeable, lane: string) => void;

/**
 * sources (files, journald) -> decoders -> [filters -> routes] -> one delivery per sink (batch,
 * send, retry, dead-letter) -> acks -> checkpoints. With one sink and no filters or routes the
 * records go straight to its delivery. Configuration problems surface as ConfigError from the
 * constructor (sources, sinks, routes, filters) or start() (state directory, sink), naming the key.
 */
export class LogPipelineRunner {
  private readonly metrics: LogMetrics;
  private readonly specs: FileSourceSpec[];
  private readonly sinkSpecs: SinkSpec[];
  private readonly filters: FilterChain | undefined;
  private readonly routes: CompiledRoute[] | undefined;
  private readonly logger: Logger;
  private readonly nodeName: string;
  private running?: Running;
  private stopping = false;
  private started = false;

  constructor(private readonly opts: LogPipelineOptions) {
    this.logger = opts.logger;
    this.specs = fileSourceSpecs(opts.config);
    this.sinkSpecs = sinkSpecsOf(opts.config);
    for (const sink of this.sinkSpecs) checkSinkConfig(sink);
    // Compiled here for its config errors (the sink count included); start() routes with it.
    const routes = compileRoutes(opts.config.routes, this.sinkNames);
    this.routes = routes.length > 0 ? routes : undefined;
    this.filters =
      opts.config.filters.length > 0 ? new FilterChain(opts.config.filters, { registry: opts.registry, logger: opts.logger }) : undefined;
    // Outside a cluster (no NODE_NAME from the chart) records still say which host they come from.
    this.nodeName = opts.nodeName || process.env.NODE_NAME || os.hostname();
    this.metrics = new LogMetrics(opts.registry);
  }

  private get sinkNames(): string[] {
    return this.sinkSpecs.map((s) => s.name);
  }

  async start(): Promise<void> {
    const config = this.opts.config;
    const stateDir = await resolveStateDir(config.checkpoint.dir, this.logger);
    const checkpoints = await CheckpointStore.open(stateDir, this.logger, this.metrics);
    const budget = new InFlightBudget(config.maxInFlightBytes, this.metrics);
    const heapWarning = heapRoomWarning(config.maxInFlightBytes);
    if (heapWarning !== undefined) this.logger.warn({ maxInFlightBytes: config.maxInFlightBytes }, heapWarning);
    const direct = this.sinkSpecs.length === 1 && this.filters === undefined && config.routes.length === 0;
    let router: Router | undefined;
    const routingMetrics = direct ? undefined : new RoutingMetrics(this.opts.registry, () => router?.blockedBySink() ?? new Map());
    const sinks: RunningSink[] = [];
    for (const spec of this.sinkSpecs) {
      const named = spec.key !== "logs.sink" ? spec.name : undefined;
      const { sink: definition, deadLetter } = await withKeyPrefix("logs.sink", spec.key, async () => {
        const created = createSink(spec.config, stateDir, this.logger, named);
        await created.sink.transport.start();
        return created;
      });
      const share = spec.maxInFlightBytes || Math.floor(config.maxInFlightBytes / this.sinkSpecs.length);
      const sinkBudget =
        routingMetrics === undefined
          ? undefined
          : new SinkBudget(spec.name, share, budget, {
              bytes: routingMetrics.sinkInFlightBytes,
              limit: routingMetrics.sinkInFlightLimitBytes,
            });
      const delivery = this.deliveryFor(spec, definition, deadLetter, sinkBudget ?? budget);
      sinks.push({ name: spec.name, definition, deadLetter, budget: sinkBudget, delivery });
    }
    let submit: Submit;
    let gate: ReadGate | undefined;
    if (routingMetrics === undefined) {
      const delivery = sinks[0].delivery;
      submit = (records, ticket, lane) => delivery.submit(records, ticket, lane);
    } else {
      const routed: RoutedSink[] = sinks.map((s) => ({
        name: s.name,
        budget: s.budget!,
        submit: (records, ticket, lane) => s.delivery.submit(records, ticket, lane),
      }));
      const r = new Router(routed, this.routes, this.filters, { routed: routingMetrics.routed, unrouted: routingMetrics.unrouted });
      router = r;
      submit = (records, ticket, lane) => r.submit(records, ticket, lane);
      // One sink's share is the whole budget: the node-wide pause is enough.
      if (sinks.length > 1) gate = r;
    }
    const k8s = this.opts.kubernetes;
    const enricher =
      k8s === undefined
        ? undefined
        : new KubernetesEnricher(k8s.source, {
            registry: this.opts.registry,
            logger: this.logger,
            waitMs: k8s.waitForMetadata * 1000,
            excludeNamespaces: k8s.excludeNamespaces,
          });
    if (enricher !== undefined) {
      submit = enricher.wrap(submit);
      gate = gate === undefined ? enricher : bothGates(gate, enricher);
    }
    submit = this.observed(submit);
    const hasStdout = this.sinkSpecs.some((s) => s.config.type === "stdout");
    const files = new FileTailManager(this.specs, tailSettingsFrom(config), {
      metrics: this.metrics,
      logger: this.logger,
      checkpoints,
      budget,
      nodeName: this.nodeName,
      submit,
      gate,
      skipPod: hasStdout ? ownPodFilter(this.logger) : undefined,
    });
    const journald = config.sources.journald.enabled
      ? new JournaldSource(config.sources.journald, {
          metrics: this.metrics,
          logger: this.logger,
          checkpoints,
          budget,
          nodeName: this.nodeName,
          submit,
          gate,
        })
      : undefined;
    this.running = { stateDir, checkpoints, sinks, router, budget, files, journald, enricher };
    await files.start();
    journald?.start();
    checkpoints.startPeriodicFlush(config.checkpoint.interval * 1000);
    await checkpoints.flush(true);
    this.started = true;
    this.logger.info(
      {
        sources: [...this.specs.map((x) => x.name), ...(journald ? ["journald"] : [])],
        sinks: this.sinkSpecs.map((s) => (s.name === s.config.type ? s.name : `${s.name} (${s.config.type})`)),
        routes: config.routes.length,
        filters: this.filters?.length ?? 0,
        stateDir,
        firstStart: checkpoints.firstStart,
        checkpointedFiles: checkpoints.fileCount,
      },
      "log pipeline started",
    );
  }

  private deliveryFor(spec: SinkSpec, sink: SinkDefinition, deadLetter: DeadLetterFile, budget: ByteBudget): Delivery {
    const s = spec.config;
    return new Delivery({
      name: spec.name,
      sink,
      limits: { maxBytes: s.batch.maxBytes, maxRecords: s.batch.maxRecords, maxWaitMs: s.batch.maxWait * 1000 },
      retry: new RetryPolicy(s.retry.initialBackoff * 1000, s.retry.maxBackoff * 1000, s.retry.maxAttempts),
      deadLetter,
      budget,
      metrics: this.metrics,
      logger: this.logger,
      reuseBuffers: this.opts.reuseBatchBuffers ?? true,
    });
  }

  /** Shows each record read to the record observers (if any) before it goes on. */
  private observed(submit: Submit): Submit {
    const observers = this.opts.recordObservers ?? [];
    if (observers.length === 0) return submit;
    let failureLogged = false;
    return (records, ticket, lane) => {
      for (let i = 0; i < records.length; i++) {
        for (const observer of observers) {
          try {
            observer(records[i]);
          } catch (err) {
            if (!failureLogged)
              this.logger.error(
                { err: err instanceof Error ? err.message : String(err) },
                "a log record observer failed; records are delivered regardless",
              );
            failureLogged = true;
          }
        }
      }
      submit(records, ticket, lane);
    };
  }

  /**
   * Stops reading, lets records in flight be delivered for up to `deadlineMs` milliseconds,
   * writes the checkpoints and closes everything. What was not acknowledged by then is read
   * again after a restart (duplicates, never loss).
   */
  async stop(deadlineMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const r = this.running;
    if (r === undefined) return;
    const deadlineAt = Date.now() + Math.max(0, deadlineMs);
    // Reading stops within the same deadline: a scan or read stuck on a slow file system, or a
    // journalctl that ignores SIGTERM (killed past the deadline), must not hold shutdown.
    if (!(await settlesBy(r.files.stop(), deadlineAt))) {
      this.logger.warn("log file sources did not stop by the shutdown deadline; going on");
    }
    await r.journald?.stop(deadlineAt);
    // Records still waiting for pod metadata go on with path metadata, to be delivered in time.
    r.enricher?.stop();
    const drained = await Promise.all(r.sinks.map((sink) => sink.delivery.drain(deadlineAt)));
    const delivered = drained.every(Boolean);
    if (!delivered) {
      for (const sink of r.sinks) sink.delivery.abort();
      this.logger.warn(
        { inFlightBytes: r.budget.bytes, sinks: r.sinks.filter((_, i) => !drained[i]).map((s) => s.name) },
        "shutdown deadline reached with records unacknowledged; they will be read again after restart",
      );
    }
    r.checkpoints.stopPeriodicFlush();
    await r.checkpoints.flush(true);
    await r.files.closeAll();
    for (const sink of r.sinks) {
      await sink.definition.transport.close();
      await sink.deadLetter.close();
    }
    this.filters?.close();
    this.logger.info({ delivered }, "log pipeline stopped");
  }

  ready(): boolean {
    return this.started && !this.stopping;
  }

  status(): unknown {
    const r = this.running;
    if (r === undefined) return { started: false };
    const sinks = r.sinks.map((s) => ({
      name: s.name,
      ...s.delivery.status(),
      ...(s.budget !== undefined ? { inFlightBytes: s.budget.bytes, inFlightLimitBytes: s.budget.limit } : {}),
      deadLetterFile: s.deadLetter.file,
    }));
    return {
      started: this.started,
      stopping: this.stopping,
      stateDir: r.stateDir,
      paused: r.budget.paused,
      inFlightBytes: r.budget.bytes,
      inFlightLimitBytes: r.budget.limit,
      sink: sinks.length === 1 ? sinks[0] : undefined,
      sinks,
      blockedFiles: r.router?.blockedLanes(),
      deadLetterFile: sinks.length === 1 ? sinks[0].deadLetterFile : undefined,
      journald: r.journald?.status(),
      kubernetesMetadataWait: r.enricher?.status(),
      ...r.files.status(),
    };
  }
}

/** A file is read on only when neither gate holds it back. */
function bothGates(a: ReadGate, b: ReadGate): ReadGate {
  return {
    blocked: (lane) => a.blocked(lane) || b.blocked(lane),
    onRoom: (listener) => {
      a.onRoom(listener);
      b.onRoom(listener);
    },
  };
}

/** logs.sinks when given (each by its name), else logs.sink, named by its type. */
function sinkSpecsOf(config: LogsConfig): SinkSpec[] {
  const named = Object.entries(config.sinks);
  if (named.length === 0) return [{ name: config.sink.type, key: "logs.sink", config: config.sink, maxInFlightBytes: 0 }];
  return named.map(([name, { maxInFlightBytes, ...sink }]) => ({ name, key: `logs.sinks.${name}`, config: sink, maxInFlightBytes }));
}

function checkSinkConfig({ key, config: sink }: SinkSpec): void {
  if (sink.type === "http" && sink.http.url === "") throw new ConfigError(`${key}.http.url`, `is required when ${key}.type is http`);
  if (sink.type === "file" && sink.file.path === "") throw new ConfigError(`${key}.file.path`, `is required when ${key}.type is file`);
}

/**
 * With the stdout sink inside a cluster, the agent's own container log is a file it would tail:
 * every record printed would be read back and printed again. POD_NAMESPACE and POD_NAME (set by
 * the chart from the downward API) identify that pod so its files are skipped.
 */
function ownPodFilter(logger: Logger, env: NodeJS.ProcessEnv = process.env): ((meta: KubernetesMetadata) => boolean) | undefined {
  const ns = env.POD_NAMESPACE;
  const pod = env.POD_NAME;
  if (!ns || !pod) return undefined;
  logger.info({ namespace: ns, pod }, "stdout sink: the agent's own pod logs are not tailed (they would loop)");
  return (meta) => meta.namespace === ns && meta.podName === pod;
}
