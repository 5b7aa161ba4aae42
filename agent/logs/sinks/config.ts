import { f, type Infer } from "../../config/schema.js";
import { deliverySchema } from "../delivery/config.js";
import { elasticsearchSinkSchema } from "./elasticsearch/config.js";
import { fileSinkSchema } from "./file/config.js";
import { httpSinkSchema } from "./http/config.js";
import { lokiSinkSchema } from "./loki/config.js";
import { otlpSinkSchema } from "./otlp/config.js";
import { kubernetesMetadataField } from "./shared/kubernetes-fields.js";
import { syslogSinkSchema } from "./syslog/config.js";

// One sink's settings (logs.sink, and each entry of logs.sinks): its type, delivery's settings
// (batch, retry, deadLetter) and each sink type's own section, composed from the sinks' config.ts.

export const sinkSchema = {
  type: f.enum(
    ["stdout", "file", "http", "loki", "elasticsearch", "otlp", "syslog"] as const,
    "stdout",
    "Where records go: stdout (NDJSON), file (NDJSON with size-based rotation), http (NDJSON POST), loki (push API), elasticsearch (_bulk, also OpenSearch), otlp (OTLP/HTTP logs) or syslog (RFC 5424 over tcp, tls or udp).",
  ),
  ...deliverySchema,
  kubernetesMetadata: kubernetesMetadataField,
  file: fileSinkSchema,
  http: httpSinkSchema,
  loki: lokiSinkSchema,
  elasticsearch: elasticsearchSinkSchema,
  otlp: otlpSinkSchema,
  syslog: syslogSinkSchema,
};

export type SinkConfig = Infer<typeof sinkSchema>;
