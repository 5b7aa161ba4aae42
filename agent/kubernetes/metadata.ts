/**
 * What the agent keeps of the Kubernetes API objects it watches: a slim copy, only the fields
 * log records carry (pod labels, selected annotations, owner workload, images; namespace labels;
 * the node's selected labels). Full objects are never kept.
 */

/** The workload that owns a pod, e.g. { kind: "Deployment", name: "web" } behind a ReplicaSet. */
export interface Workload {
  readonly kind: string;
  readonly name: string;
}

export interface PodMetadata {
  /** The uid the pod's log directory is named by: metadata.uid, or for a mirror pod the static pod's (its kubernetes.io/config.mirror annotation). */
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Only the annotations selected by kubernetes.annotations, plus nodetap's own exclusion annotations. */
  readonly annotations: Readonly<Record<string, string>>;
  /** The pod's controller owner reference as is (kind, name), e.g. ReplicaSet web-7d9f8. */
  readonly owner: Workload | undefined;
  /** The top workload: the Deployment behind a ReplicaSet, else the owner (a Job stays a Job: see workload.ts). */
  readonly workload: Workload | undefined;
  /** Container name (init, regular and ephemeral) to image. */
  readonly images: Readonly<Record<string, string>>;
  readonly nodeName: string;
  /** Set once the pod was deleted; the entry is kept for kubernetes.deletedPodRetention. */
  readonly deletedAt: number | undefined;
}

export interface NamespaceMetadata {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface NodeMetadata {
  readonly name: string;
  /** Only the labels selected by kubernetes.nodeLabels. */
  readonly labels: Readonly<Record<string, string>>;
}
