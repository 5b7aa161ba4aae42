import type { Registry } from "prom-client";
import type { Logger } from "pino";
import type { LogsConfig } from "./config.js";
import { LogPipelineRunner, type KubernetesStage, type RecordObserver } from "./pipeline.js";

export interface LogPipeline {
  start(): Promise<void>;
  /** Stops reading and waits up to `deadlineMs` milliseconds for in-flight records to be acknowledged. */
  stop(deadlineMs: number): Promise<void>;
  ready(): boolean;
  /** JSON for /status: each file with offsets, size and lag; sink state; whether reading is paused. */
  status(): unknown;
}

/**
 * Builds the log pipeline. Throws ConfigError for invalid source settings; start() throws
 * ConfigError for an unusable checkpoint directory or sink settings.
 */
export function createLogPipeline(opts: {
  config: LogsConfig;
  registry: Registry;
  logger: Logger;
  nodeName?: string;
  /** Called with every record read, before it is batched (see LogPipelineOptions). */
  recordObservers?: readonly RecordObserver[];
  /** Pod metadata from the API server and the exclusions (see LogPipelineOptions). */
  kubernetes?: KubernetesStage;
  /** Encoded batches reuse buffers (see LogPipelineOptions). */
  reuseBatchBuffers?: boolean;
}): LogPipeline {
  return new LogPipelineRunner(opts);
}

export type { LogRecord, LogOrigin, KubernetesMetadata } from "./record.js";
export type { RecordObserver } from "./pipeline.js";
