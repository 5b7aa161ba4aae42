import type { Logger } from "pino";
import { ConfigError } from "../../../config/errors.js";
import type { SinkDefinition } from "../../delivery/sink.js";
import type { KubernetesMetadataGroup } from "../shared/kubernetes-fields.js";
import type { ElasticsearchSinkConfig } from "./config.js";
import { BulkEncoder } from "./encoder.js";
import { ElasticsearchTransport } from "./transport.js";

/** The elasticsearch sink: _bulk requests through the shared HTTP client, per-item results. */
export function createElasticsearchSink(
  config: ElasticsearchSinkConfig,
  logger: Logger,
  groups: ReadonlySet<KubernetesMetadataGroup>,
): SinkDefinition {
  if (config.mode === "datastream" && config.index.includes("%")) {
    throw new ConfigError(
      "logs.sink.elasticsearch.index",
      "a data stream name has no date pattern (the data stream rolls over by itself); use mode index for dated indices",
    );
  }
  const encoder = new BulkEncoder(config.index, config.documentId === "hash", groups);
  return { encoder, transport: new ElasticsearchTransport(config, logger), lanes: config.concurrency };
}
