import path from "node:path";
import type { Logger } from "pino";
import { ConfigError } from "../../config/errors.js";
import type { LogsConfig } from "../../config/sections/logs.js";
import { DeadLetterFile } from "./dead-letter.js";
import { FileTransport } from "./file.js";
import { HttpTransport } from "./http.js";
import { createElasticsearchSink } from "./elasticsearch.js";
import { createLokiSink } from "./loki.js";
import { createOtlpSink } from "./otlp.js";
import { createSyslogSink } from "./syslog.js";
import { NdjsonEncoder } from "./ndjson.js";
import type { SinkDefinition } from "./sink.js";
import { StdoutTransport } from "./stdout.js";

export const DEAD_LETTER_FILE = "dead-letter.ndjson";

/** The configured sink (encoder + transport) and its dead-letter file. */
export function createSink(
  config: LogsConfig["sink"],
  stateDir: string,
  logger: Logger,
): { sink: SinkDefinition; deadLetter: DeadLetterFile } {
  const encoder = new NdjsonEncoder();
  let sink: SinkDefinition;
  switch (config.type) {
    case "stdout":
      sink = { encoder, transport: new StdoutTransport(), lanes: 1 };
      break;
    case "file":
      if (config.file.path === "") throw new ConfigError("logs.sink.file.path", "is required when logs.sink.type is file");
      sink = { encoder, transport: new FileTransport(config.file.path, config.file.maxBytes, config.file.maxFiles), lanes: 1 };
      break;
    case "http":
      sink = { encoder, transport: new HttpTransport(config.http, encoder.contentType, logger), lanes: config.http.concurrency };
      break;
    case "loki":
      sink = createLokiSink(config.loki, logger);
      break;
    case "otlp":
      sink = createOtlpSink(config.otlp, logger);
      break;
    case "syslog":
      sink = createSyslogSink(config.syslog, logger);
      break;
    case "elasticsearch":
      sink = createElasticsearchSink(config.elasticsearch, logger);
      break;
  }
  const dl = config.deadLetter;
  const deadLetter = new DeadLetterFile(dl.path !== "" ? dl.path : path.join(stateDir, DEAD_LETTER_FILE), dl.maxBytes, dl.maxFiles);
  return { sink, deadLetter };
}
