import type { Logger } from "pino";
import type { SinkDefinition } from "../../delivery/sink.js";
import type { KubernetesMetadataGroup } from "../shared/kubernetes-fields.js";
import { NdjsonEncoder } from "../shared/ndjson.js";
import type { HttpSinkConfig } from "./config.js";
import { HttpTransport } from "./transport.js";

/** The http sink: NDJSON POSTs, one request slot (lane) per `concurrency`. */
export function createHttpSink(config: HttpSinkConfig, logger: Logger, groups: ReadonlySet<KubernetesMetadataGroup>): SinkDefinition {
  const encoder = new NdjsonEncoder(groups);
  return { encoder, transport: new HttpTransport(config, encoder.contentType, logger), lanes: config.concurrency };
}
