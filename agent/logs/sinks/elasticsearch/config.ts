import { f, type Infer } from "../../../config/schema.js";
import { SECRET, authSection, compressionField, httpClientSection } from "../http-client/config.js";

/** logs.sink.elasticsearch */
export const elasticsearchSinkSchema = {
  ...httpClientSection(
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
  compression: compressionField("gzip", "Request body compression."),
  compressionLevel: f.int(1, "gzip level (1 fastest .. 9 smallest).", { min: 1, max: 9 }),
  maxResponseBytes: f.int(64 * 1024 * 1024, "Largest _bulk response read (one item result per record).", { min: 64 * 1024 }),
};

export type ElasticsearchSinkConfig = Infer<typeof elasticsearchSinkSchema>;
