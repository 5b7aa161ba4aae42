import { f, type Infer } from "../../../config/schema.js";
import { compressionField, httpClientSection } from "../http-client/config.js";

/** logs.sink.otlp */
export const otlpSinkSchema = {
  ...httpClientSection(
    "the collector",
    "OTLP/HTTP logs endpoint (required for sink.type otlp), e.g. http://otel-collector:4318/v1/logs; a URL without a path gets /v1/logs.",
    4,
  ),
  encoding: f.enum(
    ["protobuf", "json"] as const,
    "protobuf",
    "OTLP/HTTP encoding: protobuf (application/x-protobuf) or json (application/json).",
  ),
  compression: compressionField("gzip", "Request body compression."),
  compressionLevel: f.int(1, "gzip level (1 fastest .. 9 smallest).", { min: 1, max: 9 }),
  resourceAttributes: f.stringMap({}, "Attributes added to every resource, e.g. k8s.cluster.name: prod."),
};

export type OtlpSinkConfig = Infer<typeof otlpSinkSchema>;
