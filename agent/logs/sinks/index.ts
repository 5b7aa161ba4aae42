import path from "node:path";
import type { Logger } from "pino";
import { DeadLetterFile } from "../delivery/dead-letter.js";
import type { SinkDefinition } from "../delivery/sink.js";
import { ConfigError } from "../../config/errors.js";
import type { SinkConfig } from "./config.js";
import { metadataGroups } from "./shared/kubernetes-fields.js";
import { createElasticsearchSink } from "./elasticsearch/index.js";
import { createFileSink } from "./file/index.js";
import { createHttpSink } from "./http/index.js";
import { createLokiSink } from "./loki/index.js";
import { createOtlpSink } from "./otlp/index.js";
import { createStdoutSink } from "./stdout/index.js";
import { createSyslogSink } from "./syslog/index.js";

export const DEAD_LETTER_FILE = "dead-letter.ndjson";

/**
 * The configured sink (encoder + transport) and its dead-letter file: by default
 * dead-letter.ndjson in the state directory, dead-letter.<name>.ndjson for a named sink (logs.sinks).
 */
export function createSink(
  config: SinkConfig,
  stateDir: string,
  logger: Logger,
  name?: string,
): { sink: SinkDefinition; deadLetter: DeadLetterFile } {
  const groups = metadataGroups(config.kubernetesMetadata);
  if (typeof groups === "string") throw new ConfigError("logs.sink.kubernetesMetadata", groups);
  let sink: SinkDefinition;
  switch (config.type) {
    case "stdout":
      sink = createStdoutSink(groups);
      break;
    case "file":
      sink = createFileSink(config.file, groups);
      break;
    case "http":
      sink = createHttpSink(config.http, logger, groups);
      break;
    case "loki":
      sink = createLokiSink(config.loki, logger, groups);
      break;
    case "otlp":
      sink = createOtlpSink(config.otlp, logger, groups);
      break;
    case "syslog":
      sink = createSyslogSink(config.syslog, logger, groups);
      break;
    case "elasticsearch":
      sink = createElasticsearchSink(config.elasticsearch, logger, groups);
      break;
  }
  const dl = config.deadLetter;
  const defaultFile = name === undefined ? DEAD_LETTER_FILE : `dead-letter.${name}.ndjson`;
  const deadLetter = new DeadLetterFile(dl.path !== "" ? dl.path : path.join(stateDir, defaultFile), dl.maxBytes, dl.maxFiles);
  return { sink, deadLetter };
}
