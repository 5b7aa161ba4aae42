import { f, type Infer } from "../../../config/schema.js";
import { compressionField, httpClientSection } from "../http-client/config.js";

/** logs.sink.loki */
export const lokiSinkSchema = {
  ...httpClientSection(
    "Loki",
    "Loki push endpoint (required for sink.type loki), e.g. http://loki:3100/loki/api/v1/push; a URL without a path gets /loki/api/v1/push.",
    4,
  ),
  encoding: f.enum(
    ["protobuf", "json"] as const,
    "protobuf",
    "Push API encoding: protobuf (snappy-compressed, Loki's default and the fastest) or json (gzip per compression).",
  ),
  compression: compressionField("gzip", "Body compression of the json encoding (protobuf is always snappy)."),
  compressionLevel: f.int(1, "gzip level (1 fastest .. 9 smallest).", { min: 1, max: 9 }),
  labels: f.stringList(
    ["namespace", "container", "node"],
    "Record fields that become stream labels (low cardinality!): namespace, pod, pod_uid, container, restart_count, node, stream, source, file. The others go into structured metadata.",
  ),
  staticLabels: f.stringMap({}, "Labels added to every stream, e.g. cluster: prod."),
  tenantId: f.string("", "Tenant (X-Scope-OrgID header) for multi-tenant Loki; `env:NAME` or `file:/path` reads it at start.", {
    secret: true,
  }),
};

export type LokiSinkConfig = Infer<typeof lokiSinkSchema>;
