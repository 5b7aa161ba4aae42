import type { Logger } from "pino";
import type { SinkDefinition } from "../../delivery/sink.js";
import type { KubernetesMetadataGroup } from "../shared/kubernetes-fields.js";
import type { LokiSinkConfig } from "./config.js";
import { LokiEncoder } from "./encoder.js";
import { LokiTransport } from "./transport.js";

/** The loki sink: push API requests (protobuf or JSON) through the shared HTTP client; a 400 is split to isolate bad records. */
export function createLokiSink(config: LokiSinkConfig, logger: Logger, groups: ReadonlySet<KubernetesMetadataGroup>): SinkDefinition {
  const encoder = new LokiEncoder(config.encoding, config.labels, config.staticLabels, config.podLabels, groups);
  return { encoder, transport: new LokiTransport(config, encoder.contentType, logger), lanes: config.concurrency, splitRejected: true };
}
