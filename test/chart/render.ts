/** Renders the chart with the real helm (see test/packaging/tools.ts) and gives typed access to the objects. */
import { readdirSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { CHART, run, tools } from "../packaging/tools.js";

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
};

export interface Rendered {
  yaml: string;
  objects: K8sObject[];
  get(kind: string, name?: string): K8sObject;
  all(kind: string): K8sObject[];
}

export const CI_VALUES = readdirSync(path.join(CHART, "ci"))
  .filter((f) => f.endsWith("-values.yaml"))
  .sort()
  .map((f) => path.join(CHART, "ci", f));

export const RELEASE = "agent";
export const NAMESPACE = "monitoring";

export function helmTemplate(
  opts: { values?: string[]; set?: string[]; setString?: string[]; kubeVersion?: string; namespace?: string } = {},
): { status: number | null; stdout: string; stderr: string } {
  const args = ["template", RELEASE, CHART, "--namespace", opts.namespace ?? NAMESPACE];
  for (const v of opts.values ?? []) args.push("--values", v);
  for (const s of opts.set ?? []) args.push("--set", s);
  for (const s of opts.setString ?? []) args.push("--set-string", s);
  if (opts.kubeVersion) args.push("--kube-version", opts.kubeVersion);
  return run(tools.helm, args);
}

export function render(opts: Parameters<typeof helmTemplate>[0] = {}): Rendered {
  const r = helmTemplate(opts);
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  const objects = parseAllDocuments(r.stdout)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === "object");
  const all = (kind: string) => objects.filter((o) => o.kind === kind);
  return {
    yaml: r.stdout,
    objects,
    all,
    get(kind, name) {
      const found = all(kind).filter((o) => name === undefined || o.metadata.name === name);
      if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
      return found[0];
    },
  };
}

// Typed views of the parts the tests read.
export interface Container {
  name: string;
  image: string;
  args: string[];
  env: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: unknown } }>;
  ports: Array<{ name: string; containerPort: number }>;
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }>;
  livenessProbe: { httpGet: { path: string; port: string | number } };
  readinessProbe: { httpGet: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
}
export interface PodSpec {
  runtimeClassName?: string;
  hostNetwork: boolean;
  hostPID: boolean;
  dnsPolicy: string;
  tolerations?: unknown[];
  nodeSelector?: Record<string, string>;
  affinity?: unknown;
  priorityClassName?: string;
  terminationGracePeriodSeconds: number;
  serviceAccountName: string;
  securityContext: { runAsUser?: number; runAsGroup?: number; runAsNonRoot?: boolean; supplementalGroups?: number[] };
  containers: Container[];
  volumes: Array<{ name: string; hostPath?: { path: string; type?: string }; configMap?: { name: string; items?: Array<{ key: string; path: string }> } }>;
}
export interface DaemonSet extends K8sObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    updateStrategy: { type: string; rollingUpdate?: { maxUnavailable: number | string; maxSurge: number | string } };
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
  };
}

/** The DaemonSet of one component: "agent" (the main one) or "gpu-agent" (gpu.enabled). */
function daemonSetOf(r: Rendered, component: string): DaemonSet {
  const found = (r.all("DaemonSet") as DaemonSet[]).filter((d) => d.spec.template.metadata.labels["app.kubernetes.io/component"] === component);
  if (found.length !== 1) throw new Error(`expected one DaemonSet of component ${component}, found ${found.length}`);
  return found[0];
}
const containerOf = (ds: DaemonSet) => ds.spec.template.spec.containers.find((c) => c.name === "nodetap")!;
export const daemonSet = (r: Rendered) => daemonSetOf(r, "agent");
export const agentContainer = (r: Rendered) => containerOf(daemonSet(r));
export const gpuDaemonSet = (r: Rendered) => daemonSetOf(r, "gpu-agent");
export const gpuContainer = (r: Rendered) => containerOf(gpuDaemonSet(r));
export const configYaml = (r: Rendered) => (r.get("ConfigMap", daemonSet(r).metadata.name) as K8sObject & { data: Record<string, string> }).data["config.yaml"];
