import { f, type Infer } from "../../config/schema.js";

// Config sections of the network sinks (logs.sink.loki, .elasticsearch, .otlp, .syslog), kept
// beside the sinks and spliced into agent/config/sections/logs.ts, so they share the loader,
// env names (NODETAP_LOGS_SINK_LOKI_URL, ...), flags (--logs.sink.loki.url) and docs.

function tlsSection(what: string) {
  return {
    caFile: f.string("", `PEM CA bundle to verify ${what} with (instead of the system roots).`),
    certFile: f.string("", "PEM client certificate (mTLS)."),
    keyFile: f.string("", "PEM private key of certFile."),
    serverName: f.string(
      "",
      "Name to verify the server certificate against (and send as SNI) when it differs from the host in the address.",
    ),
    insecureSkipVerify: f.bool(false, "Do not verify the server certificate (testing only; logged as a warning at start)."),
  };
}

const SECRET = "; `env:NAME` or `file:/path` reads it from that variable or file at start";

function authSection() {
  return {
    username: f.string("", `Basic auth user${SECRET}.`, { secret: true }),
    password: f.string("", `Basic auth password${SECRET}.`, { secret: true }),
    bearerToken: f.string("", `Bearer token (Authorization: Bearer ...)${SECRET}.`, { secret: true }),
  };
}

function httpClient(what: string, urlDoc: string, concurrency: number) {
  return {
    url: f.string("", urlDoc),
    headers: f.stringMap({}, "Extra request headers; a value `env:NAME` or `file:/path` is read from that variable or file at start.", {
      secret: true,
    }),
    timeout: f.duration(30, "Time limit for one request, response included.", { min: 0.01 }),
    concurrency: f.int(
      concurrency,
      "Requests in flight at once; a file's records always use the same request slot, so each file's records arrive in order.",
      {
        min: 1,
        max: 64,
      },
    ),
    auth: authSection(),
    tls: tlsSection(what),
  };
}

const compression = (def: "gzip" | "none", doc: string) => f.enum(["gzip", "none"] as const, def, doc);

export const lokiSinkSchema = {
  ...httpClient(
    "Loki",
    "Loki push endpoint (required for sink.type loki), e.g. http://loki:3100/loki/api/v1/push; a URL without a path gets /loki/api/v1/push.",
    4,
  ),
  encoding: f.enum(
    ["protobuf", "json"] as const,
    "protobuf",
    "Push API encoding: protobuf (snappy-compressed, Loki's default and the fastest) or json (gzip per compression).",
  ),
  compression: compression("gzip", "Body compression of the json encoding (protobuf is always snappy)."),
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

export const elasticsearchSinkSchema = {
  ...httpClient(
    "Elasticsearch",
    "Elasticsearch / OpenSearch base URL (required for sink.type elasticsearch), e.g. https://es:9200; the _bulk path is appended.",
    4,
  ),
  auth: {
    ...authSection(),
    apiKey: f.string("", `Elasticsearch API key, the base64 \`id:api_key\` (Authorization: ApiKey ...)${SECRET}.`, { secret: true }),
  },
  mode: f.enum(
    ["datastream", "index"] as const,
    "datastream",
    "datastream: `create` actions into the data stream `index` (needs a matching index template); index: `create` actions into dated indices.",
  ),
  index: f.string(
    "logs-nodetap-default",
    "Data stream name (mode datastream) or index name pattern (mode index) with %Y, %m, %d, %H (UTC, from the record time), e.g. nodetap-%Y.%m.%d.",
  ),
  documentId: f.enum(
    ["none", "hash"] as const,
    "none",
    "none: the server picks ids. hash: a hash of the record's origin (pod uid + container + restart, or file) and its time, stream and message, so a batch re-sent after a crash or timeout is answered 409 (counted as already stored) instead of stored twice.",
  ),
  pipeline: f.string("", "Ingest pipeline to run on each document (the _bulk pipeline parameter)."),
  compression: compression("gzip", "Request body compression."),
  compressionLevel: f.int(1, "gzip level (1 fastest .. 9 smallest).", { min: 1, max: 9 }),
  maxResponseBytes: f.int(64 * 1024 * 1024, "Largest _bulk response read (one item result per record).", { min: 64 * 1024 }),
};

export const otlpSinkSchema = {
  ...httpClient(
    "the collector",
    "OTLP/HTTP logs endpoint (required for sink.type otlp), e.g. http://otel-collector:4318/v1/logs; a URL without a path gets /v1/logs.",
    4,
  ),
  encoding: f.enum(
    ["protobuf", "json"] as const,
    "protobuf",
    "OTLP/HTTP encoding: protobuf (application/x-protobuf) or json (application/json).",
  ),
  compression: compression("gzip", "Request body compression."),
  compressionLevel: f.int(1, "gzip level (1 fastest .. 9 smallest).", { min: 1, max: 9 }),
  resourceAttributes: f.stringMap({}, "Attributes added to every resource, e.g. k8s.cluster.name: prod."),
};

export const syslogSinkSchema = {
  address: f.string("", "Syslog receiver host:port (required for sink.type syslog)."),
  transport: f.enum(
    ["tcp", "tls", "udp"] as const,
    "tcp",
    "tcp or tls: RFC 6587/5425 octet-counted frames on one connection (so records stay in order); udp: one datagram per message (RFC 5426).",
  ),
  maxMessageBytes: f.int(0, "Longest message; longer ones are cut (counted). 0 means 2048 for udp and 65536 for tcp/tls.", {
    min: 0,
    max: 16 * 1024 * 1024,
  }),
  facility: f.enum(
    [
      "kern",
      "user",
      "mail",
      "daemon",
      "auth",
      "syslog",
      "lpr",
      "news",
      "uucp",
      "cron",
      "authpriv",
      "ftp",
      "local0",
      "local1",
      "local2",
      "local3",
      "local4",
      "local5",
      "local6",
      "local7",
    ] as const,
    "user",
    "Syslog facility of every message.",
  ),
  appName: f.string("", "APP-NAME of every message; empty means the container name (pod logs), the journald unit, or nodetap."),
  hostname: f.string("", "HOSTNAME of every message; empty means the node name, else this machine's host name."),
  structuredData: f.bool(
    true,
    "Add a [k8s@32473 namespace=... pod=... container=... ...] structured-data element with the record's metadata.",
  ),
  timeout: f.duration(10, "Time limit to connect and to write one batch.", { min: 0.01 }),
  tls: tlsSection("the syslog server"),
};

export type TlsClientConfig = Infer<ReturnType<typeof tlsSection>>;
export type HttpClientConfig = Infer<ReturnType<typeof httpClient>>;
export type LokiSinkConfig = Infer<typeof lokiSinkSchema>;
export type ElasticsearchSinkConfig = Infer<typeof elasticsearchSinkSchema>;
export type OtlpSinkConfig = Infer<typeof otlpSinkSchema>;
export type SyslogSinkConfig = Infer<typeof syslogSinkSchema>;
