import pino from "pino";
import { Registry } from "prom-client";
import { defaultsOf } from "../../../../agent/config/schema.js";
import { logsSchema, type LogsConfig } from "../../../../agent/logs/config.js";
import { createLogPipeline, type LogPipeline } from "../../../../agent/logs/index.js";

/** The logs defaults with sources off, fast timings, and `patch` applied (deep). */
export function logsConfig(patch: (c: LogsConfig) => void): LogsConfig {
  const c = defaultsOf(logsSchema);
  c.sources.pods.enabled = false;
  c.sources.host.enabled = false;
  c.tail.scanInterval = 0.1;
  c.tail.pollInterval = 0.1;
  c.tail.rotateWait = 0.5;
  c.tail.partialLineFlushAfter = 0.5;
  c.checkpoint.interval = 0.05;
  c.sink.batch.maxWait = 0.05;
  c.sink.retry.initialBackoff = 0.02;
  c.sink.retry.maxBackoff = 0.2;
  patch(c);
  return c;
}

export interface InProcessPipeline {
  pipeline: LogPipeline;
  registry: Registry;
  logs: Array<Record<string, unknown>>;
}

/** The real pipeline in this process, its log lines captured. */
export function inProcessPipeline(config: LogsConfig): InProcessPipeline {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const registry = new Registry();
  return { pipeline: createLogPipeline({ config, registry, logger, nodeName: "node-a" }), registry, logs };
}
