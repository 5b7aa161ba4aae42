import type { SinkDefinition } from "../../delivery/sink.js";
import type { KubernetesMetadataGroup } from "../shared/kubernetes-fields.js";
import { NdjsonEncoder } from "../shared/ndjson.js";
import { StdoutTransport } from "./transport.js";

/** The stdout sink: NDJSON lines on the process's stdout, one lane. */
export function createStdoutSink(groups: ReadonlySet<KubernetesMetadataGroup>): SinkDefinition {
  return { encoder: new NdjsonEncoder(groups), transport: new StdoutTransport(), lanes: 1 };
}
