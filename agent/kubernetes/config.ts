import { f, type Infer } from "../config/schema.js";

// Pod metadata from the Kubernetes API server, added to the records of pod logs (agent/kubernetes).

export const IN_CLUSTER_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token";
export const IN_CLUSTER_CA_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

export const kubernetesSchema = {
  metadata: f.enum(
    ["auto", "on", "off"] as const,
    "auto",
    "Add pod metadata from the API server (pod labels, selected annotations, owning workload, images, namespace labels, node labels) to pod log records. auto: on inside a cluster (KUBERNETES_SERVICE_HOST set) when the pods source is enabled. Without it records carry what the log path says (namespace, pod, uid, container).",
  ),
  apiServer: f.string(
    "",
    "The API server's URL; empty: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (the in-cluster address).",
  ),
  tokenFile: f.string(
    IN_CLUSTER_TOKEN_FILE,
    "Bearer token file (the ServiceAccount's projected token). Re-read when it changes and after a 401, so the kubelet's token rotation needs no restart. Never logged.",
  ),
  caFile: f.string(IN_CLUSTER_CA_FILE, "CA bundle (PEM) that signs the API server's certificate."),
  nodeName: f.string("", "This node's name (only its pods are watched); empty: $NODE_NAME, which the chart sets from spec.nodeName."),
  annotations: f.stringList(
    [],
    "Pod annotations to add to records, by key; a key ending in * is a prefix (e.g. example.com/*). None by default: annotations can be large.",
  ),
  nodeLabels: f.stringList(
    [
      "topology.kubernetes.io/region",
      "topology.kubernetes.io/zone",
      "node.kubernetes.io/instance-type",
      "kubernetes.io/arch",
      "kubernetes.io/os",
    ],
    "Labels of this node to add to records, by key; a key ending in * is a prefix.",
  ),
  excludeNamespaces: f.stringList(
    [],
    "Namespaces whose pod logs are not shipped. Their records are counted (nodetap_kubernetes_records_excluded_total) and their checkpoints advance.",
  ),
  waitForMetadata: f.duration(
    2,
    "How long lines of a pod the agent has no metadata for yet (a pod just created) wait for it before they go out with path metadata only (counted in nodetap_kubernetes_records_without_metadata_total). 0: never wait.",
    { min: 0 },
  ),
  deletedPodRetention: f.duration(
    60,
    "How long a deleted pod's metadata is kept, so its last lines (still being read after the deletion) carry it.",
    { min: 0 },
  ),
  backoff: {
    initial: f.duration(1, "First wait before a failed list or watch is retried; doubles up to backoff.max.", { min: 0.01 }),
    max: f.duration(30, "Longest wait between retries of a failed list or watch.", { min: 0.01 }),
  },
};

export type KubernetesConfig = Infer<typeof kubernetesSchema>;
