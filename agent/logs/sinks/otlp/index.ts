import type { Logger } from "pino";
import type { SinkDefinition } from "../../delivery/sink.js";
import type { KubernetesMetadataGroup } from "../shared/kubernetes-fields.js";
import type { OtlpSinkConfig } from "./config.js";
import { OtlpEncoder } from "./encoder.js";
import { OtlpTransport } from "./transport.js";

/** The otlp sink: OTLP/HTTP logs requests through the shared HTTP client; a 400 is split to isolate bad records. */
export function createOtlpSink(config: OtlpSinkConfig, logger: Logger, groups: ReadonlySet<KubernetesMetadataGroup>): SinkDefinition {
  const encoder = new OtlpEncoder(config.encoding, config.resourceAttributes, groups);
  return { encoder, transport: new OtlpTransport(config, encoder.contentType, logger), lanes: config.concurrency, splitRejected: true };
}
