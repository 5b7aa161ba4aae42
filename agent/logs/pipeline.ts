import { heapRoomWarning } from "./heap-room.js";
import os from "node:os";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { LogsConfig } from "../config/sections/logs.js";
import { ConfigError } from "../config/errors.js";
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
import { Delivery } from "./sinks/delivery.js";
import type { DeadLetterFile } from "./sinks/dead-letter.js";
import { createSink } from "./sinks/index.js";
import { RetryPolicy } from "./sinks/retry-policy.js";
import type { SinkDefinition } from "./sinks/sink.js";

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
}

/** Sees each record read (see LogPipelineOptions.recordObservers). */
export type RecordObserver = (record: LogRecord) => void;

interface Running {
  stateDir: string;
  checkpoints: CheckpointStore;
  sink: SinkDefinition;
  deadLetter: DeadLetterFile;
  delivery: Delivery;
  budget: InFlightBudget;
  files: FileTailManager;
  journald?: JournaldSource;
}

/**
 * sources (files, journald) -> decoders -> delivery (batch, send, retry, dead-letter) -> acks
 * -> checkpoints. Configuration problems surface as ConfigError from the constructor (sources)
 * or start() (state directory, sink), naming the key.
 */
export class LogPipelineRunner {
  private readonly metrics: LogMetrics;
  private readonly specs: FileSourceSpec[];
  private readonly logger: Logger;
  private readonly nodeName: string;
  private running?: Running;
  private stopping = false;
  private started = false;

  constructor(private readonly opts: LogPipelineOptions) {
    this.logger = opts.logger;
    this.specs = fileSourceSpecs(opts.config);
    checkSinkConfig(opts.config.sink);
    // Outside a cluster (no NODE_NAME from the chart) records still say which host they come from.
    this.nodeName = opts.nodeName || process.env.NODE_NAME || os.hostname();
    this.metrics = new LogMetrics(opts.registry);
  }

  async start(): Promise<void> {
    const config = this.opts.config;
    const stateDir = await resolveStateDir(config.checkpoint.dir, this.logger);
    const checkpoints = await CheckpointStore.open(stateDir, this.logger, this.metrics);
    const { sink, deadLetter } = createSink(config.sink, stateDir, this.logger);
    await sink.transport.start();
    const budget = new InFlightBudget(config.maxInFlightBytes, this.metrics);
    const heapWarning = heapRoomWarning(config.maxInFlightBytes);
    if (heapWarning !== undefined) this.logger.warn({ maxInFlightBytes: config.maxInFlightBytes }, heapWarning);
    const s = config.sink;
    const delivery = new Delivery({
      sink,
      limits: { maxBytes: s.batch.maxBytes, maxRecords: s.batch.maxRecords, maxWaitMs: s.batch.maxWait * 1000 },
      retry: new RetryPolicy(s.retry.initialBackoff * 1000, s.retry.maxBackoff * 1000, s.retry.maxAttempts),
      deadLetter,
      budget,
      metrics: this.metrics,
      logger: this.logger,
    });
    const submit = this.submitter(delivery);
    const files = new FileTailManager(this.specs, tailSettingsFrom(config), {
      metrics: this.metrics,
      logger: this.logger,
      checkpoints,
      budget,
      nodeName: this.nodeName,
      submit,
      skipPod: s.type === "stdout" ? ownPodFilter(this.logger) : undefined,
    });
    const journald = config.sources.journald.enabled
      ? new JournaldSource(config.sources.journald, {
          metrics: this.metrics,
          logger: this.logger,
          checkpoints,
          budget,
          nodeName: this.nodeName,
          submit,
        })
      : undefined;
    this.running = { stateDir, checkpoints, sink, deadLetter, delivery, budget, files, journald };
    await files.start();
    journald?.start();
    checkpoints.startPeriodicFlush(config.checkpoint.interval * 1000);
    await checkpoints.flush(true);
    this.started = true;
    this.logger.info(
      {
        sources: [...this.specs.map((x) => x.name), ...(journald ? ["journald"] : [])],
        sink: s.type,
        stateDir,
        firstStart: checkpoints.firstStart,
        checkpointedFiles: checkpoints.fileCount,
      },
      "log pipeline started",
    );
  }

  /** Hands records to delivery, showing each to the record observers first (if any). */
  private submitter(delivery: Delivery): (records: LogRecord[], ticket: Acknowledgeable, lane: string) => void {
    const observers = this.opts.recordObservers ?? [];
    if (observers.length === 0) return (records, ticket, lane) => delivery.submit(records, ticket, lane);
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
      delivery.submit(records, ticket, lane);
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
    const delivered = await r.delivery.drain(deadlineAt);
    if (!delivered) {
      r.delivery.abort();
      this.logger.warn(
        { inFlightBytes: r.budget.bytes },
        "shutdown deadline reached with records unacknowledged; they will be read again after restart",
      );
    }
    r.checkpoints.stopPeriodicFlush();
    await r.checkpoints.flush(true);
    await r.files.closeAll();
    await r.sink.transport.close();
    await r.deadLetter.close();
    this.logger.info({ delivered }, "log pipeline stopped");
  }

  ready(): boolean {
    return this.started && !this.stopping;
  }

  status(): unknown {
    const r = this.running;
    if (r === undefined) return { started: false };
    return {
      started: this.started,
      stopping: this.stopping,
      stateDir: r.stateDir,
      paused: r.budget.paused,
      inFlightBytes: r.budget.bytes,
      inFlightLimitBytes: r.budget.limit,
      sink: r.delivery.status(),
      deadLetterFile: r.deadLetter.file,
      journald: r.journald?.status(),
      ...r.files.status(),
    };
  }
}

function checkSinkConfig(sink: LogsConfig["sink"]): void {
  if (sink.type === "http" && sink.http.url === "") throw new ConfigError("logs.sink.http.url", "is required when logs.sink.type is http");
  if (sink.type === "file" && sink.file.path === "")
    throw new ConfigError("logs.sink.file.path", "is required when logs.sink.type is file");
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
