import type crypto from "node:crypto";
import { ConfigError } from "../../../config/errors.js";
import type { RecordEncoder } from "../../delivery/sink.js";
import type { LogOrigin, LogRecord } from "../../record.js";
import { splitImage } from "../shared/image-name.js";
import { ALL_GROUPS, apiMetadata, nonEmpty, type KubernetesMetadataGroup } from "../shared/kubernetes-fields.js";

/**
 * The document of a record (ECS-style names, as Filebeat/Elastic Agent write Kubernetes logs):
 *
 *   {"@timestamp":"2024-05-01T10:00:00.123456789Z","message":"...","stream":"stdout",
 *    "log":{"file":{"path":"/var/log/pods/..."}},"kubernetes":{"namespace":"prod",
 *    "pod":{"name":"api-7d9f","uid":"..."},"container":{"name":"api","restart_count":0},
 *    "node":{"name":"node-1"}},"nodetap":{"source":"pods"}}
 *
 * plus "host":{"name":...} for records without Kubernetes metadata, "attributes":{...}
 * (journald fields) and "nodetap":{"truncated":true}. API-server metadata, when the sink carries
 * it, is named as Filebeat's add_kubernetes_metadata names it: kubernetes.labels.*,
 * kubernetes.annotations.*, kubernetes.namespace_labels.*, kubernetes.node.labels.* (label keys
 * "dedotted": '.' -> '_', so app and app.kubernetes.io/name cannot collide as objects),
 * kubernetes.deployment.name (and replicaset, statefulset, daemonset, job, cronjob) and
 * container.image.name / container.image.tag (ECS). @timestamp keeps nanoseconds; a `date`
 * field stores milliseconds, a `date_nanos` field all of them (see docs/sinks.md).
 */
export function originJson(origin: LogOrigin, groups: ReadonlySet<KubernetesMetadataGroup> = ALL_GROUPS): string {
  const k = origin.kubernetes;
  let s = "";
  if (origin.file !== undefined) s += `,"log":{"file":{"path":${JSON.stringify(origin.file)}}}`;
  if (k !== undefined) {
    const api = apiMetadata(origin, groups);
    const workloads: Record<string, { name: string }> = {};
    for (const w of [api?.owner, api?.workload]) {
      if (w !== undefined && ECS_WORKLOADS.has(w.kind)) workloads[w.kind.toLowerCase()] = { name: w.name };
    }
    const nodeLabels = api !== undefined && nonEmpty(api.nodeLabels) ? dedot(api.nodeLabels) : undefined;
    s += `,"kubernetes":${JSON.stringify({
      namespace: k.namespace,
      pod: { name: k.podName, uid: k.podUid },
      container: { name: k.containerName, restart_count: k.restartCount },
      ...(origin.node ? { node: { name: origin.node, ...(nodeLabels ? { labels: nodeLabels } : {}) } } : {}),
      ...(api !== undefined && nonEmpty(api.podLabels) ? { labels: dedot(api.podLabels) } : {}),
      ...(api !== undefined && nonEmpty(api.podAnnotations) ? { annotations: dedot(api.podAnnotations) } : {}),
      ...(api !== undefined && nonEmpty(api.namespaceLabels) ? { namespace_labels: dedot(api.namespaceLabels) } : {}),
      ...workloads,
    })}`;
    if (api?.containerImage !== undefined) {
      const image = splitImage(api.containerImage);
      s += `,"container":{"image":${JSON.stringify({ name: image.name, ...(image.tag !== undefined ? { tag: image.tag } : {}) })}}`;
    }
  } else if (origin.node) {
    s += `,"host":{"name":${JSON.stringify(origin.node)}}`;
  }
  return s;
}

const ECS_WORKLOADS = new Set(["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"]);

/** Label keys with '.' replaced by '_' (Filebeat's labels.dedot), so nested objects cannot collide. */
function dedot(map: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map)) out[key.replaceAll(".", "_")] = value;
  return out;
}

/** strftime-like %Y %m %d %H (UTC, from the record time) in an index name pattern. */
export function expandIndex(pattern: string, time: string): string {
  if (!pattern.includes("%")) return pattern;
  return pattern.replace(/%([YmdH%])/g, (_, c: string) => {
    switch (c) {
      case "Y":
        return time.slice(0, 4);
      case "m":
        return time.slice(5, 7);
      case "d":
        return time.slice(8, 10);
      case "H":
        return time.slice(11, 13);
      default:
        return "%";
    }
  });
}

/** node:crypto's hash, loaded with the first document (the default config does not load node:crypto). */
let cryptoHash: typeof crypto.hash | undefined;

/**
 * Deterministic document id: the same record read twice (after a crash, or a batch re-sent after
 * a timeout) gets the same id, so `create` answers 409 instead of storing it twice. Container
 * records are identified by pod uid, container, restart count, stream and their runtime
 * timestamp (nanoseconds) plus the message; other records by file path, time and message (their
 * time is the read time for plain files, so only re-sends, not re-reads, are caught).
 */
export function documentId(r: LogRecord): string {
  const k = r.origin.kubernetes;
  const who =
    k !== undefined ? `k8s\0${k.podUid}\0${k.containerName}\0${k.restartCount}` : `file\0${r.origin.source}\0${r.origin.file ?? ""}`;
  return (cryptoHash ??= process.getBuiltinModule("node:crypto").hash)(
    "sha256",
    `${who}\0${r.stream}\0${r.time}\0${r.message}`,
    "base64url",
  ).slice(0, 32);
}

/** _bulk NDJSON: one `create` action and one document per record, in record order (item i = record i). */
export class BulkEncoder implements RecordEncoder {
  readonly contentType = "application/x-ndjson";
  private readonly originCache = new WeakMap<LogOrigin, string>();
  private lastTimeKey = "";
  private lastIndex = "";

  constructor(
    private readonly index: string,
    private readonly withIds: boolean,
    private readonly groups: ReadonlySet<KubernetesMetadataGroup> = ALL_GROUPS,
  ) {
    if (index === "") throw new ConfigError("logs.sink.elasticsearch.index", "must not be empty");
    if (/[A-Z\\/*?"<>| ,#]/.test(index.replace(/%[YmdH%]/g, "")))
      throw new ConfigError(
        "logs.sink.elasticsearch.index",
        `${JSON.stringify(index)} is not a valid index name (lowercase, no \\ / * ? " < > | space , #)`,
      );
  }

  encode(records: readonly LogRecord[]): Buffer {
    let out = "";
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const index = this.indexFor(r.time);
      out += `{"create":{"_index":${JSON.stringify(index)}${this.withIds ? `,"_id":"${documentId(r)}"` : ""}}}\n`;
      out += `{"@timestamp":"${r.time}","message":${JSON.stringify(r.message)}`;
      if (r.stream !== "") out += `,"stream":"${r.stream}"`;
      out += this.origin(r.origin);
      if (r.attributes !== undefined) out += `,"attributes":${JSON.stringify(r.attributes)}`;
      out += `,"nodetap":{"source":${JSON.stringify(r.origin.source)}${r.truncated ? ',"truncated":true' : ""}}}\n`;
    }
    return Buffer.from(out, "utf8");
  }

  private indexFor(time: string): string {
    const key = time.slice(0, 13);
    if (key !== this.lastTimeKey) {
      this.lastTimeKey = key;
      this.lastIndex = expandIndex(this.index, time);
    }
    return this.lastIndex;
  }

  private origin(origin: LogOrigin): string {
    let s = this.originCache.get(origin);
    if (s === undefined) {
      s = originJson(origin, this.groups);
      this.originCache.set(origin, s);
    }
    return s;
  }
}
