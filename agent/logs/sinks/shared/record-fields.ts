import type { LogOrigin, LogRecord } from "../../record.js";
import { ALL_GROUPS, apiMetadata, type KubernetesMetadataGroup } from "./kubernetes-fields.js";

/**
 * The named metadata fields of a record, as the Loki sink (labels / structured metadata) and
 * the syslog sink (structured data) name them. Per-origin fields are computed once per origin.
 */
export const ORIGIN_FIELDS = [
  "namespace",
  "pod",
  "pod_uid",
  "container",
  "restart_count",
  "node",
  "source",
  "file",
  // From the API server (agent/kubernetes), when the sink carries the group.
  "workload_kind",
  "workload_name",
  "container_image",
] as const;
export const RECORD_FIELDS = ["stream"] as const;
export type RecordField = (typeof ORIGIN_FIELDS)[number] | (typeof RECORD_FIELDS)[number];
export const ALL_FIELDS: readonly RecordField[] = [...ORIGIN_FIELDS, ...RECORD_FIELDS];

/** The origin's fields that have a value, in ORIGIN_FIELDS order. */
export function originFields(origin: LogOrigin, groups: ReadonlySet<KubernetesMetadataGroup> = ALL_GROUPS): Array<[RecordField, string]> {
  const k = origin.kubernetes;
  const out: Array<[RecordField, string]> = [];
  const add = (name: RecordField, value: string | undefined) => {
    if (value !== undefined && value !== "") out.push([name, value]);
  };
  add("namespace", k?.namespace);
  add("pod", k?.podName);
  add("pod_uid", k?.podUid);
  add("container", k?.containerName);
  add("restart_count", k === undefined ? undefined : String(k.restartCount));
  add("node", origin.node);
  add("source", origin.source);
  add("file", origin.file);
  const api = apiMetadata(origin, groups);
  add("workload_kind", api?.workload?.kind);
  add("workload_name", api?.workload?.name);
  add("container_image", api?.containerImage);
  return out;
}

/** A record's own field value (stream), or undefined when empty. */
export function recordField(record: LogRecord, name: RecordField): string | undefined {
  if (name === "stream") return record.stream === "" ? undefined : record.stream;
  return undefined;
}
