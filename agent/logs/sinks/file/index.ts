import { ConfigError } from "../../../config/errors.js";
import type { SinkDefinition } from "../../delivery/sink.js";
import type { KubernetesMetadataGroup } from "../shared/kubernetes-fields.js";
import { NdjsonEncoder } from "../shared/ndjson.js";
import type { FileSinkConfig } from "./config.js";
import { FileTransport } from "./transport.js";

/** The file sink: NDJSON lines appended to a file rotated by size, one lane. */
export function createFileSink(config: FileSinkConfig, groups: ReadonlySet<KubernetesMetadataGroup>): SinkDefinition {
  if (config.path === "") throw new ConfigError("logs.sink.file.path", "is required when logs.sink.type is file");
  return { encoder: new NdjsonEncoder(groups), transport: new FileTransport(config.path, config.maxBytes, config.maxFiles), lanes: 1 };
}
