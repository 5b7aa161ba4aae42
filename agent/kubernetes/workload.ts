import type { OwnerReference } from "./kube-types.js";
import type { Workload } from "./metadata.js";

/** The label the Deployment controller puts on a ReplicaSet's pods: the hash that also ends the ReplicaSet's name. */
export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";

/** A controller owner reference, checked: kind and name set. */
export interface ControllerRef extends Workload {
  readonly apiVersion: string | undefined;
}

/** The pod's controller owner reference (the one with controller: true). */
export function controllerOf(refs: readonly OwnerReference[] | undefined): ControllerRef | undefined {
  if (!Array.isArray(refs)) return undefined;
  const ref = refs.find((r: OwnerReference) => r !== null && typeof r === "object" && r.controller === true);
  if (ref === undefined || typeof ref.kind !== "string" || typeof ref.name !== "string" || ref.kind === "" || ref.name === "") {
    return undefined;
  }
  return { kind: ref.kind, name: ref.name, apiVersion: typeof ref.apiVersion === "string" ? ref.apiVersion : undefined };
}

/**
 * The top workload of a pod, derived from its controller owner and its labels alone: the agent
 * watches no ReplicaSets or Jobs, so it needs no RBAC beyond pods, namespaces and its node.
 *
 * - ReplicaSet (group apps) → Deployment, when the pod's `pod-template-hash` label is the suffix
 *   of the ReplicaSet's name after '-' (the Deployment controller names its ReplicaSets
 *   `<deployment>-<hash>` and labels their pods with the hash). A ReplicaSet made by hand, or by
 *   another controller (Argo Rollouts labels `rollouts-pod-template-hash`), stays a ReplicaSet.
 * - Job stays Job. The CronJob controller names its Jobs `<cronjob>-<minutes since the epoch>`,
 *   but neither the Job's pods nor the Job carry a label naming the CronJob (Kubernetes 1.34: the
 *   pods get batch.kubernetes.io/job-name and controller-uid; the Job gets only the annotation
 *   batch.kubernetes.io/cronjob-scheduled-timestamp), and a name alone cannot tell `backup-29123456`
 *   made by a CronJob from a Job someone named so. Knowing it would take a watch on Jobs.
 * - StatefulSet, DaemonSet, Job, a static pod's Node and any other kind: the owner itself.
 * - No controller owner (a bare pod): undefined.
 */
export function workloadOf(owner: ControllerRef | undefined, labels: Readonly<Record<string, string>>): Workload | undefined {
  if (owner === undefined) return undefined;
  if (owner.kind === "ReplicaSet" && isAppsGroup(owner.apiVersion)) {
    const hash = labels[POD_TEMPLATE_HASH_LABEL];
    if (hash !== undefined && hash !== "" && owner.name.length > hash.length + 1 && owner.name.endsWith(`-${hash}`)) {
      return { kind: "Deployment", name: owner.name.slice(0, owner.name.length - hash.length - 1) };
    }
  }
  return { kind: owner.kind, name: owner.name };
}

/** ReplicaSets of the apps group (extensions/v1beta1 on very old clusters); an owner reference without apiVersion is taken as such. */
function isAppsGroup(apiVersion: string | undefined): boolean {
  return apiVersion === undefined || apiVersion.startsWith("apps/") || apiVersion === "extensions/v1beta1";
}
