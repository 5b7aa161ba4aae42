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
    "Record fields that become stream labels (low cardinality!): namespace, pod, pod_uid, container, restart_count, node, stream, source, file, and from the API server workload_kind, workload_name, container_image. The others go into structured metadata.",
  ),
  staticLabels: f.stringMap({}, "Labels added to every stream, e.g. cluster: prod."),
  podLabels: f.stringMap(
    {},
    "Pod labels (from the API server, kubernetes.metadata) that become stream labels: pod label key -> Loki label name, e.g. app.kubernetes.io/name: app. Keep it to low-cardinality labels; the other API metadata the sink carries (logs.sink.kubernetesMetadata) goes into structured metadata as k8s_pod_label_<key>, k8s_node_label_<key>, ...",
  ),
  tenantId: f.string("", "Tenant (X-Scope-OrgID header) for multi-tenant Loki; `env:NAME` or `file:/path` reads it at start.", {
    secret: true,
  }),
};

export type LokiSinkConfig = Infer<typeof lokiSinkSchema>;
