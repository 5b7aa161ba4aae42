import type { KubernetesMetadata } from "../record.js";

// /var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log, and the kubelet's rotated
// <restart>.log.<timestamp>. The prefix before /pods/ is free, so the same rule works when the
// host's /var/log is mounted elsewhere in the container.
const POD_LOG_PATH = /\/pods\/([^/]+)\/([^/]+)\/(\d+)\.log(?:\.[^/]*)?$/;

/**
 * Kubernetes metadata from a pod log path. Namespace and pod names are DNS names and cannot
 * contain '_', so the directory splits at its first and last '_'. Returns undefined for paths
 * outside that layout.
 */
export function kubernetesMetadataFromPath(filePath: string): KubernetesMetadata | undefined {
  const m = POD_LOG_PATH.exec(filePath);
  if (m === null) return undefined;
  const dir = m[1];
  const first = dir.indexOf("_");
  const last = dir.lastIndexOf("_");
  if (first <= 0 || last <= first + 1 || last === dir.length - 1) return undefined;
  return {
    namespace: dir.slice(0, first),
    podName: dir.slice(first + 1, last),
    podUid: dir.slice(last + 1),
    containerName: m[2],
    restartCount: Number(m[3]),
  };
}
