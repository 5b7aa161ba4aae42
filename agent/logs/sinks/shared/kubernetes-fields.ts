import { f } from "../../../config/schema.js";
import type { KubernetesApiMetadata, LogOrigin } from "../../record.js";

/**
 * The groups of API-server metadata (agent/kubernetes) a sink can carry, chosen per sink with
 * logs.sink.kubernetesMetadata. Path metadata (namespace, pod, uid, container, restart) is always sent.
 */
export const KUBERNETES_METADATA_GROUPS = [
  "pod_labels",
  "pod_annotations",
  "workload",
  "container_image",
  "namespace_labels",
  "node_labels",
] as const;
export type KubernetesMetadataGroup = (typeof KUBERNETES_METADATA_GROUPS)[number];

export const kubernetesMetadataField = f.stringList(
  ["pod_labels", "pod_annotations", "workload", "container_image", "node_labels"],
  `API-server metadata this sink carries on pod records (when kubernetes.metadata is on): ${KUBERNETES_METADATA_GROUPS.join(", ")}. workload is the owner (e.g. ReplicaSet) and the workload behind it (e.g. Deployment). namespace_labels is off by default (the same for every pod of a namespace, and often large); [] sends path metadata only.`,
);

/** Which groups a sink carries, validated against KUBERNETES_METADATA_GROUPS (the caller names the key). */
export function metadataGroups(groups: readonly string[]): ReadonlySet<KubernetesMetadataGroup> | string {
  for (const g of groups) {
    if (!(KUBERNETES_METADATA_GROUPS as readonly string[]).includes(g))
      return `unknown group ${JSON.stringify(g)}; allowed: ${KUBERNETES_METADATA_GROUPS.join(", ")}`;
  }
  return new Set(groups as KubernetesMetadataGroup[]);
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The origin's API metadata with only the groups a sink carries (empty maps and undefined for the
 * rest), or undefined when the record has none. Encoders call it once per origin (they cache
 * per origin), so it allocates freely.
 */
export function apiMetadata(origin: LogOrigin, groups: ReadonlySet<KubernetesMetadataGroup>): KubernetesApiMetadata | undefined {
  const api = origin.kubernetes?.api;
  if (api === undefined || groups.size === 0) return undefined;
  return {
    podLabels: groups.has("pod_labels") ? api.podLabels : EMPTY,
    podAnnotations: groups.has("pod_annotations") ? api.podAnnotations : EMPTY,
    owner: groups.has("workload") ? api.owner : undefined,
    workload: groups.has("workload") ? api.workload : undefined,
    containerImage: groups.has("container_image") ? api.containerImage : undefined,
    namespaceLabels: groups.has("namespace_labels") ? api.namespaceLabels : EMPTY,
    nodeLabels: groups.has("node_labels") ? api.nodeLabels : EMPTY,
  };
}

export const ALL_GROUPS: ReadonlySet<KubernetesMetadataGroup> = new Set(KUBERNETES_METADATA_GROUPS);

/** True when the map has at least one key. */
export function nonEmpty(map: Readonly<Record<string, string>>): boolean {
  for (const _ in map) return true;
  return false;
}
