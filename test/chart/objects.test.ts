// Reads the objects the real helm renders and checks what the chart promises: where the agent
// runs, what it mounts and how, who it runs as, how it is probed, what rolls it, what it may read
// in the API, that its config is one the agent accepts and holds no secret, that it skips its own logs.
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PathFilter } from "../../agent/logs/sources/glob.js";
import { configSchema } from "../../agent/config-schema.js";
import { walkFields, type Section } from "../../agent/config/schema.js";
import { CHART, REPO, gate, helmPresent, requirePresent, run, tools } from "../packaging/tools.js";
import {
  CI_VALUES,
  NAMESPACE,
  RELEASE,
  agentContainer,
  configYaml,
  daemonSet,
  gpuContainer,
  gpuDaemonSet,
  render,
  type Container,
  type DaemonSet,
  type K8sObject,
  type PodSpec,
  type Rendered,
} from "./render.js";

const needs = "run scripts/testenv-helm.sh (.ci/run does)";
const ci = (name: string) => path.join(CHART, "ci", `${name}-values.yaml`);

describe.runIf(gate("chart objects (helm)", helmPresent(), needs))("chart objects", () => {
  let defaults: Rendered;
  beforeAll(() => {
    requirePresent(helmPresent(), `helm missing: ${needs}`);
    defaults = render();
  });

  it("runs one agent per Linux node, on every node whatever its taints", () => {
    expect(defaults.all("DaemonSet")).toHaveLength(1);
    const ds = daemonSet(defaults);
    expect(ds.kind).toBe("DaemonSet");
    const pod = ds.spec.template.spec;
    expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
    expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
    expect(pod.priorityClassName).toBe("system-node-critical");
    expect(ds.spec.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    // The selector selects the pods and nothing else of the chart.
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels)) expect(ds.spec.template.metadata.labels[k]).toBe(v);
  });

  it("takes custom tolerations, selector, affinity and update strategy", () => {
    const r = render({ values: [ci("custom-tolerations")] });
    const custom = parse(readFileSync(ci("custom-tolerations"), "utf8")) as Record<string, unknown>;
    const ds = daemonSet(r);
    expect(ds.spec.template.spec.tolerations).toEqual(custom.tolerations);
    expect(ds.spec.template.spec.nodeSelector).toEqual(custom.nodeSelector);
    expect(ds.spec.template.spec.affinity).toEqual(custom.affinity);
    expect(ds.spec.template.spec.priorityClassName).toBeUndefined();
    expect(ds.spec.updateStrategy).toEqual({ type: "OnDelete" });
  });

  it("waits longer than the agent's shutdown deadline before SIGKILL", () => {
    const main = readFileSync(path.join(REPO, "agent/main.ts"), "utf8");
    const m = /SHUTDOWN_DEADLINE_MS\s*=\s*([\d_]+)/.exec(main);
    expect(m, "agent/main.ts SHUTDOWN_DEADLINE_MS").not.toBeNull();
    const deadlineSeconds = Number(m![1].replaceAll("_", "")) / 1000;
    expect(daemonSet(defaults).spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(deadlineSeconds);
  });

  it("mounts the host read-only, except the checkpoint directory, and points the agent's flags at the mounts", () => {
    const pod = daemonSet(defaults).spec.template.spec;
    const c = agentContainer(defaults);
    const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
    const writable = c.volumeMounts.filter((m) => m.readOnly !== true);
    expect(writable.map((m) => m.name)).toEqual(["checkpoints"]);
    expect(volumes.get("checkpoints")!.hostPath).toEqual({ path: "/var/lib/nodetap", type: "DirectoryOrCreate" });
    const byPath = new Map(c.volumeMounts.map((m) => [m.mountPath, m]));
    const hostOf = (mountPath: string) => volumes.get(byPath.get(mountPath)!.name)!.hostPath!.path;
    expect(hostOf("/host/proc")).toBe("/proc");
    expect(hostOf("/host/sys")).toBe("/sys");
    expect(hostOf("/host/root")).toBe("/");
    expect(hostOf("/var/log")).toBe("/var/log");
    expect(byPath.get("/host/root")!.mountPropagation).toBe("HostToContainer");
    // Every --path.* flag and the checkpoint flag name a mounted directory.
    const flags = new Map(c.args.map((a) => a.split("=", 2) as [string, string]));
    expect(flags.get("--path.procfs")).toBe("/host/proc");
    expect(flags.get("--path.sysfs")).toBe("/host/sys");
    expect(flags.get("--path.rootfs")).toBe("/host/root");
    expect(flags.get("--path.udev.data")).toBe("/host/root/run/udev/data");
    expect(flags.get("--logs.checkpoint.dir")).toBe("/var/lib/nodetap");
    expect(flags.get("--config")).toBe("/etc/nodetap/config.yaml");
    for (const [flag, value] of flags) {
      if (!flag.startsWith("--path.") && flag !== "--logs.checkpoint.dir" && flag !== "--config") continue;
      expect(
        c.volumeMounts.some((m) => value === m.mountPath || value.startsWith(`${m.mountPath}/`)),
        `${flag}=${value} is inside a mount`,
      ).toBe(true);
    }
    // Host paths are mounted only through the declared volumes: no other hostPath than these.
    expect(pod.volumes.filter((v) => v.hostPath).map((v) => v.name).sort()).toEqual(["checkpoints", "logs", "proc", "root", "sys"]);
    // Root mount off: no rootfs flags and no / mount.
    const noRoot = agentContainer(render({ values: [ci("custom-tolerations")] }));
    expect(noRoot.args.some((a) => a.startsWith("--path.rootfs"))).toBe(false);
    expect(noRoot.volumeMounts.some((m) => m.mountPath === "/host/root")).toBe(false);
  });

  it("uses the node's network by default, and the pod's when asked (listening on the pod IP, surge allowed)", () => {
    const on = daemonSet(defaults).spec.template.spec;
    expect(on.hostNetwork).toBe(true);
    expect(on.dnsPolicy).toBe("ClusterFirstWithHostNet");
    expect(on.hostPID).toBe(false);
    expect(agentContainer(defaults).args).toContain("--web.listen-address=:9100");
    const offR = render({ values: [ci("hostnetwork-off")] });
    const off = daemonSet(offR);
    expect(off.spec.template.spec.hostNetwork).toBe(false);
    expect(off.spec.template.spec.dnsPolicy).toBe("ClusterFirst");
    expect(off.spec.updateStrategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: "10%" });
    const c = agentContainer(offR);
    expect(c.args).toContain("--web.listen-address=[$(POD_IP)]:9101");
    expect(c.env.find((e) => e.name === "POD_IP")?.valueFrom?.fieldRef?.fieldPath).toBe("status.podIP");
    expect(c.ports).toEqual([{ name: "metrics", containerPort: 9101, protocol: "TCP" }]);
  });

  it("runs as uid 0 with no capability, no privilege escalation and a read-only root filesystem", () => {
    const pod = daemonSet(defaults).spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsUser: 0, runAsGroup: 0, supplementalGroups: [4], seccompProfile: { type: "RuntimeDefault" } });
    const sc = agentContainer(defaults).securityContext;
    expect(sc).toEqual({ privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
  });

  it("probes /healthz (liveness) and /readyz (readiness) on the metrics port", () => {
    const c = agentContainer(defaults);
    expect(c.livenessProbe.httpGet).toMatchObject({ path: "/healthz", port: "metrics" });
    expect(c.readinessProbe.httpGet).toMatchObject({ path: "/readyz", port: "metrics" });
    expect(c.ports).toEqual([{ name: "metrics", containerPort: 9100, protocol: "TCP" }]);
  });

  it("gives the agent its node name (downward API)", () => {
    const env = agentContainer(defaults).env;
    expect(env.find((e) => e.name === "NODE_NAME")?.valueFrom?.fieldRef?.fieldPath).toBe("spec.nodeName");
    // Only NODETAP_* names the agent knows are allowed; the chart sets none it does not own.
    expect(env.filter((e) => e.name.startsWith("NODETAP_"))).toEqual([]);
  });

  it("rolls the pods when the config changes, and only then", () => {
    const checksum = (r: Rendered) => daemonSet(r).spec.template.metadata.annotations!["checksum/config"];
    const base = checksum(defaults);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    // The checksum is that of the ConfigMap's content.
    expect(base).toBe(createHash("sha256").update(configYaml(defaults).replace(/\n$/, "")).digest("hex"));
    expect(checksum(render({ setString: ["config.log.level=debug"] }))).not.toBe(base);
    expect(checksum(render({ setString: ["config.logs.sources.pods.exclude[0]=*.bak"] }))).not.toBe(base);
    expect(checksum(render({ setString: ["podLabels.team=a", "image.tag=9.9.9"] }))).toBe(base);
  });

  it("uses an existing ConfigMap without rendering one (and without a checksum it cannot know)", () => {
    const r = render({ values: [ci("existing-configmap")] });
    expect(r.all("ConfigMap")).toEqual([]);
    const ds = daemonSet(r);
    expect(ds.spec.template.metadata.annotations?.["checksum/config"]).toBeUndefined();
    const vol = ds.spec.template.spec.volumes.find((v) => v.name === "config")!;
    expect(vol.configMap).toEqual({ name: "nodetap-site-config", items: [{ key: "nodetap.yaml", path: "config.yaml" }] });
  });

  it("renders a config the agent itself accepts, with the chart's flags, for every ci values file", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "nodetap-chart-config-"));
    try {
      for (const file of CI_VALUES) {
        const r = render({ values: [file] });
        if (r.all("ConfigMap").length === 0) continue;
        const cfg = path.join(dir, `${path.basename(file)}.config.yaml`);
        writeFileSync(cfg, configYaml(r));
        // Every DaemonSet's flags (the GPU one has its own) with the one config.
        for (const ds of r.all("DaemonSet") as DaemonSet[]) {
          const container = ds.spec.template.spec.containers.find((c) => c.name === "nodetap")!;
          const args = container.args.map((a) => (a.startsWith("--config=") ? `--config=${cfg}` : a.replace("$(POD_IP)", "10.0.0.1")));
          // The agent refuses unknown NODETAP_* variables: run it with none of the test environment's.
          // --offline: the secrets and CA files the values refer to live in the pod, not on this machine.
          const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NODETAP_")));
          const res = run(process.execPath, ["--import", "tsx", path.join(REPO, "agent/main.ts"), "check-config", "--offline", ...args], { env });
          expect(res.status, `${path.basename(file)} ${ds.metadata.name}: ${res.stdout}${res.stderr}`).toBe(0);
          expect(res.stdout).toContain("config OK");
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps secrets out of the ConfigMap: secret keys hold only references, the secret comes from a Secret", () => {
    const r = render({ values: [ci("all-objects")] });
    const cfg = parse(configYaml(r)) as Record<string, unknown>;
    const secretPaths: string[][] = [];
    walkFields(configSchema as unknown as Section, (p, field) => {
      if (field.secret && field.kind === "stringMap") secretPaths.push(p);
    });
    expect(secretPaths.length).toBeGreaterThan(0);
    let checked = 0;
    for (const p of secretPaths) {
      let v: unknown = cfg;
      for (const k of p) v = v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
      if (v === undefined) continue;
      for (const value of Object.values(v as Record<string, string>)) {
        expect(value).toMatch(/^(env|file):/);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
    const env = agentContainer(r).env.find((e) => e.name === "SINK_AUTHORIZATION");
    expect(env?.valueFrom?.secretKeyRef).toEqual({ name: "nodetap-sink", key: "authorization" });
    expect(r.all("Secret")).toEqual([]);
  });

  it("excludes exactly the agent's own container logs (checked with the agent's glob matcher)", () => {
    for (const [values, ns, dsName] of [
      [[], NAMESPACE, `${RELEASE}-nodetap`],
      [[ci("names")], "observability", "nodetap-agent-with-a-very-long-name-for-truncation-checks-abcde"],
    ] as const) {
      const r = render({ values: [...values] });
      const ds = daemonSet(r);
      expect(ds.metadata.name).toBe(dsName);
      expect(ds.metadata.namespace).toBe(ns);
      const exclude = (parse(configYaml(r)) as { logs: { sources: { pods: { exclude: string[] } } } }).logs.sources.pods.exclude;
      expect(exclude).toEqual(expect.arrayContaining(["*.gz", "*.tmp"]));
      const filter = new PathFilter(exclude);
      // What the DaemonSet controller names pods: generateName "<ds>-" cut to 58 characters + 5 random.
      const podName = `${`${dsName}-`.slice(0, 58)}x7k2p`;
      const own = `/var/log/pods/${ns}_${podName}_0f4c6d1e-1111-2222-3333-444455556666/nodetap`;
      expect(filter.matches(`${own}/0.log`)).toBe(true);
      expect(filter.matches(`${own}/3.log.20261128-101010`)).toBe(true);
      const others = [
        `/var/log/pods/${ns}_${dsName}-test_0f4c6d1e/check/0.log`, // the helm test pod
        `/var/log/pods/${ns}_other-x7k2p_0f4c6d1e/nodetap/0.log`,
        `/var/log/pods/kube-system_${podName}_0f4c6d1e/nodetap/0.log`,
        `/var/log/pods/${ns}_${podName}_0f4c6d1e/sidecar/0.log`,
      ];
      for (const p of others) expect(filter.matches(p), p).toBe(false);
    }
    // With gpu.enabled, the GPU DaemonSet's pods (<fullname>-gpu-?????) read the same files: theirs are excluded too.
    for (const [values, ns] of [
      [[ci("gpu")], NAMESPACE],
      [[ci("names"), ci("gpu")], "observability"],
    ] as const) {
      const r = render({ values: [...values] });
      const exclude = (parse(configYaml(r)) as { logs: { sources: { pods: { exclude: string[] } } } }).logs.sources.pods.exclude;
      const filter = new PathFilter(exclude);
      for (const ds of [daemonSet(r), gpuDaemonSet(r)]) {
        const podName = `${`${ds.metadata.name}-`.slice(0, 58)}q9z4m`;
        expect(filter.matches(`/var/log/pods/${ns}_${podName}_0f4c6d1e-1111/nodetap/0.log`), podName).toBe(true);
        expect(filter.matches(`/var/log/pods/${ns}_${podName}_0f4c6d1e-1111/sidecar/0.log`), podName).toBe(false);
      }
      expect(filter.matches(`/var/log/pods/${ns}_${RELEASE}-nodetap-gpux-q9z4m_0f4c6d1e/nodetap/0.log`)).toBe(false);
    }
    // Off, or with an existing ConfigMap: nothing added.
    const off = parse(configYaml(render({ set: ["excludeOwnLogs=false"] }))) as { logs: { sources: { pods: { exclude: string[] } } } };
    expect(off.logs.sources.pods.exclude).toEqual(["*.gz", "*.tmp"]);
  });

  it("may only read pods, namespaces and nodes in the API", () => {
    const role = defaults.get("ClusterRole") as K8sObject & { rules: unknown[] };
    expect(role.rules).toEqual([{ apiGroups: [""], resources: ["pods", "namespaces", "nodes"], verbs: ["get", "list", "watch"] }]);
    const binding = defaults.get("ClusterRoleBinding") as K8sObject & { roleRef: { name: string }; subjects: unknown[] };
    expect(binding.roleRef.name).toBe(role.metadata.name);
    const sa = defaults.get("ServiceAccount");
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: sa.metadata.name, namespace: NAMESPACE }]);
    expect(daemonSet(defaults).spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
    const none = render({ values: [ci("podmonitor")] });
    expect(none.all("ClusterRole").length + none.all("ClusterRoleBinding").length + none.all("ServiceAccount").length).toBe(0);
    expect(daemonSet(none).spec.template.spec.serviceAccountName).toBe("nodetap-preexisting");
  });

  it("fronts the agents with a node-local Service that the ServiceMonitor selects", () => {
    const r = render({ values: [ci("all-objects")] });
    const svc = r.get("Service") as K8sObject & { spec: { internalTrafficPolicy: string; selector: Record<string, string>; ports: Array<{ name: string; targetPort: string }> } };
    expect(svc.spec.internalTrafficPolicy).toBe("Local");
    expect(svc.spec.ports).toEqual([{ name: "metrics", port: 9100, targetPort: "metrics", protocol: "TCP" }]);
    const podLabels = daemonSet(r).spec.template.metadata.labels;
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(podLabels[k]).toBe(v);
    const sm = r.get("ServiceMonitor") as K8sObject & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; relabelings: Array<Record<string, unknown>> }> };
    };
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels![k]).toBe(v);
    expect(sm.spec.endpoints[0].port).toBe(svc.spec.ports[0].name);
    expect(sm.spec.endpoints[0].relabelings).toEqual(
      expect.arrayContaining([
        { action: "replace", targetLabel: "job", replacement: "node-exporter" },
        { action: "replace", sourceLabels: ["__meta_kubernetes_pod_node_name"], targetLabel: "instance" },
        { action: "replace", sourceLabels: ["__meta_kubernetes_pod_node_name"], targetLabel: "node" },
      ]),
    );
    expect(sm.metadata.labels!.release).toBe("kube-prometheus-stack");
    const pm = render({ values: [ci("podmonitor")] }).get("PodMonitor") as K8sObject & { spec: { podMetricsEndpoints: Array<{ port: string }> } };
    expect(pm.spec.podMetricsEndpoints[0].port).toBe("metrics");
  });

  it("builds the image reference from registry, repository, tag and digest", () => {
    expect(agentContainer(defaults).image).toBe("ghcr.io/nodetap/nodetap:0.1.0");
    expect(agentContainer(render({ values: [ci("all-objects")] })).image).toBe(
      "registry.example.com/nodetap/nodetap:0.1.0-rc.1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    );
    const pull = daemonSet(render({ values: [ci("all-objects")] })).spec.template.spec as unknown as { imagePullSecrets: unknown };
    expect(pull.imagePullSecrets).toEqual([{ name: "global-pull" }, { name: "agent-pull" }]);
  });

  it("has a helm test pod that checks the agent through the Service, and that no agent selector picks up", () => {
    const pod = defaults.objects.find((o) => o.kind === "Pod")!;
    expect(pod.metadata.annotations!["helm.sh/hook"]).toBe("test");
    const script = JSON.stringify(pod);
    expect(script).toContain(`http://${RELEASE}-nodetap.${NAMESPACE}.svc:9100/readyz`);
    expect(script).toContain("node_memory_MemTotal_bytes");
    const selector = daemonSet(defaults).spec.selector.matchLabels;
    expect(Object.entries(selector).every(([k, v]) => pod.metadata.labels![k] === v)).toBe(false);
    // The NetworkPolicy lets it in when ingress is restricted.
    const np = render({ values: [ci("all-objects")] }).get("NetworkPolicy") as K8sObject & {
      spec: { ingress: Array<{ from: Array<{ podSelector?: { matchLabels: Record<string, string> } }> }>; policyTypes: string[] };
    };
    expect(np.spec.policyTypes).toEqual(["Ingress", "Egress"]);
    const testPeer = np.spec.ingress[0].from.find((f) => f.podSelector)!;
    for (const [k, v] of Object.entries(testPeer.podSelector!.matchLabels)) expect(pod.metadata.labels![k]).toBe(v);
  });

  it("renders NOTES.txt for every ci values file", () => {
    // helm prints NOTES only on install/upgrade (which need a cluster): render it as a template of a copy of the chart.
    const dir = mkdtempSync(path.join(os.tmpdir(), "nodetap-notes-"));
    try {
      cpSync(CHART, path.join(dir, "chart"), { recursive: true });
      copyFileSync(path.join(CHART, "templates/NOTES.txt"), path.join(dir, "chart/files/NOTES.txt"));
      writeFileSync(path.join(dir, "chart/templates/zz-notes.yaml"), 'notes: |\n{{ tpl (.Files.Get "files/NOTES.txt") . | indent 2 }}\n');
      for (const file of CI_VALUES) {
        const r = run(tools.helm, ["template", RELEASE, path.join(dir, "chart"), "-n", NAMESPACE, "-f", file, "--show-only", "templates/zz-notes.yaml"]);
        expect(r.status, `${path.basename(file)}: ${r.stderr}`).toBe(0);
        const notes = (parse(r.stdout) as { notes: string }).notes;
        expect(notes).toContain("rollout status daemonset/");
        expect(notes).toMatch(/Metrics: each agent listens/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("puts the objects in namespaceOverride", () => {
    const r = render({ values: [ci("names")] });
    const namespaced = r.objects.filter((o) => !o.kind.startsWith("Cluster"));
    expect(namespaced.length).toBeGreaterThan(3);
    for (const o of namespaced) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe("observability");
    expect(r.get("ClusterRoleBinding").subjects).toEqual([expect.objectContaining({ namespace: "observability" })]);
  });
});

// ---- gpu.enabled: a second DaemonSet on the GPU nodes -------------------------------------------

type Requirement = { key: string; operator: string; values?: string[] };
type NodeSelectorTerm = { matchExpressions?: Requirement[]; matchFields?: Requirement[] };
interface Node {
  name: string;
  labels: Record<string, string>;
}

/** Kubernetes' scheduling by node labels: nodeSelector and the required node affinity (taints aside). */
function schedulesOn(pod: PodSpec, node: Node): boolean {
  for (const [k, v] of Object.entries(pod.nodeSelector ?? {})) if (node.labels[k] !== v) return false;
  const affinity = pod.affinity as { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms: NodeSelectorTerm[] } } } | undefined;
  const terms = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms === undefined) return true;
  const matches = (r: Requirement, value: string | undefined) => {
    switch (r.operator) {
      case "In":
        return value !== undefined && r.values!.includes(value);
      case "NotIn":
        return value === undefined || !r.values!.includes(value);
      case "Exists":
        return value !== undefined;
      case "DoesNotExist":
        return value === undefined;
      default:
        throw new Error(`operator ${r.operator} not modelled`);
    }
  };
  // Terms are ORed, the requirements of a term ANDed (an empty term matches nothing).
  return terms.some(
    (t) =>
      (t.matchExpressions?.length ?? 0) + (t.matchFields?.length ?? 0) > 0 &&
      (t.matchExpressions ?? []).every((r) => matches(r, node.labels[r.key])) &&
      (t.matchFields ?? []).every((r) => matches(r, r.key === "metadata.name" ? node.name : undefined)),
  );
}

/** Every combination of the given label values (undefined: label absent). */
function nodes(dimensions: Record<string, Array<string | undefined>>, names: string[] = ["node-a"]): Node[] {
  let out: Node[] = names.map((name) => ({ name, labels: {} }));
  for (const [key, values] of Object.entries(dimensions)) {
    out = out.flatMap((n) => values.map((v) => ({ name: n.name, labels: v === undefined ? n.labels : { ...n.labels, [key]: v } })));
  }
  return out;
}

const NVIDIA_ENV = ["NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES"];
const POD_RESOURCES = "/var/lib/kubelet/pod-resources";

describe.runIf(gate("chart GPU DaemonSet (helm)", helmPresent(), needs))("chart GPU DaemonSet", () => {
  let gpu: Rendered;
  let custom: Rendered;
  beforeAll(() => {
    requirePresent(helmPresent(), `helm missing: ${needs}`);
    gpu = render({ values: [ci("gpu")] });
    custom = render({ values: [ci("gpu-custom")] });
  });

  it("renders nothing of it by default", () => {
    const r = render();
    expect(r.all("DaemonSet").map((d) => d.metadata.name)).toEqual([`${RELEASE}-nodetap`]);
    const pod = daemonSet(r).spec.template.spec;
    expect(pod.runtimeClassName).toBeUndefined();
    expect(pod.affinity).toBeUndefined();
    expect(pod.volumes.map((v) => v.name)).not.toContain("pod-resources");
    const c = agentContainer(r);
    expect(c.args.filter((a) => a.includes("collectors.gpu"))).toEqual([]);
    expect(c.env.filter((e) => NVIDIA_ENV.includes(e.name))).toEqual([]);
    expect(r.yaml).not.toMatch(/nvidia|gpu/i);
  });

  it("runs a second DaemonSet on the GPU nodes, with NVIDIA's runtime, and keeps the main one off them", () => {
    expect(gpu.all("DaemonSet").map((d) => d.metadata.name).sort()).toEqual([`${RELEASE}-nodetap`, `${RELEASE}-nodetap-gpu`]);
    const main = daemonSet(gpu).spec.template.spec;
    const g = gpuDaemonSet(gpu).spec.template.spec;
    expect(g.nodeSelector).toEqual({ "kubernetes.io/os": "linux", "nvidia.com/gpu.present": "true" });
    expect(g.runtimeClassName).toBe("nvidia");
    expect(g.affinity).toBeUndefined();
    expect(g.tolerations).toEqual([{ operator: "Exists" }, { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect(main.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
    expect(main.runtimeClassName).toBeUndefined();
    expect(main.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: "nvidia.com/gpu.present", operator: "NotIn", values: ["true"] }] }],
        },
      },
    });
    expect(main.tolerations).toEqual([{ operator: "Exists" }]);
    // Selectors: the GPU DaemonSet's selects only its pods; the main one's (immutable) matches both.
    const selects = (ds: DaemonSet, labels: Record<string, string>) => Object.entries(ds.spec.selector.matchLabels).every(([k, v]) => labels[k] === v);
    const [mainDs, gpuDs] = [daemonSet(gpu), gpuDaemonSet(gpu)];
    expect(selects(gpuDs, gpuDs.spec.template.metadata.labels)).toBe(true);
    expect(selects(gpuDs, mainDs.spec.template.metadata.labels)).toBe(false);
    expect(gpuDs.metadata.labels!["app.kubernetes.io/component"]).toBe("gpu-agent");
    // The Service and the NetworkPolicy front both.
    const svc = gpu.get("Service") as K8sObject & { spec: { selector: Record<string, string> } };
    for (const ds of [mainDs, gpuDs]) for (const [k, v] of Object.entries(svc.spec.selector)) expect(ds.spec.template.metadata.labels[k]).toBe(v);
  });

  it("leaves every node exactly one agent (the same nodes as without GPU DaemonSet)", () => {
    const check = (r: Rendered, base: PodSpec, candidates: Node[], isGpu: (n: Node) => boolean) => {
      const main = daemonSet(r).spec.template.spec;
      const g = gpuDaemonSet(r).spec.template.spec;
      let gpuNodes = 0;
      for (const node of candidates) {
        const expected = schedulesOn(base, node) ? 1 : 0;
        const where = `${node.name} ${JSON.stringify(node.labels)}`;
        expect(Number(schedulesOn(main, node)) + Number(schedulesOn(g, node)), where).toBe(expected);
        expect(schedulesOn(g, node), where).toBe(expected === 1 && isGpu(node));
        if (schedulesOn(g, node)) gpuNodes++;
      }
      expect(gpuNodes).toBeGreaterThan(0);
    };
    check(
      gpu,
      daemonSet(render()).spec.template.spec,
      nodes({ "kubernetes.io/os": ["linux", "windows", undefined], "nvidia.com/gpu.present": ["true", "false", undefined] }),
      (n) => n.labels["nvidia.com/gpu.present"] === "true",
    );
    // Two GPU labels of one's own, with an affinity of two terms (one with matchFields).
    const customBase = render({ values: [ci("gpu-custom")], set: ["gpu.enabled=false"] });
    check(
      custom,
      daemonSet(customBase).spec.template.spec,
      nodes(
        {
          "kubernetes.io/os": ["linux", "windows"],
          "kubernetes.io/arch": ["amd64", "arm64", "s390x", undefined],
          "example.com/accelerator": ["nvidia", "amd", undefined],
          "example.com/pool": ["training", "batch", undefined],
          "nvidia.com/gpu.present": ["true", undefined],
        },
        ["node-a", "node-excluded"],
      ),
      (n) => n.labels["example.com/accelerator"] === "nvidia" && n.labels["example.com/pool"] === "training",
    );
    // The custom GPU DaemonSet: the chart's default label dropped (null), the node's default runtime.
    const g = gpuDaemonSet(custom).spec.template.spec;
    expect(g.nodeSelector).toEqual({ "kubernetes.io/os": "linux", "example.com/accelerator": "nvidia", "example.com/pool": "training" });
    expect(g.runtimeClassName).toBeUndefined();
    expect(g.affinity).toEqual(daemonSet(customBase).spec.template.spec.affinity);
  });

  it("gives the GPU agent NVML through NVIDIA's runtime, and no GPU", () => {
    const env = gpuContainer(gpu).env;
    expect(env.filter((e) => NVIDIA_ENV.includes(e.name))).toEqual([
      { name: "NVIDIA_VISIBLE_DEVICES", value: "all" },
      { name: "NVIDIA_DRIVER_CAPABILITIES", value: "utility" },
    ]);
    expect(agentContainer(gpu).env.filter((e) => NVIDIA_ENV.includes(e.name))).toEqual([]);
    // No nvidia.com/gpu request: the device plugin allocates the agent nothing.
    for (const r of [gpu, custom]) expect(JSON.stringify(gpuContainer(r).resources ?? {})).not.toContain("nvidia.com");
    expect(gpuContainer(gpu).resources).toEqual(agentContainer(gpu).resources);
    expect(gpuContainer(custom).resources).toEqual({ requests: { cpu: "100m", memory: "160Mi" }, limits: { memory: "320Mi" } });
  });

  it("turns the gpu collector off in the main DaemonSet and on in the GPU one, with one config", () => {
    const flags = (c: Container) => c.args.filter((a) => a.startsWith("--metrics.collectors.gpu."));
    expect(flags(agentContainer(gpu))).toEqual(["--metrics.collectors.gpu.enabled=false"]);
    expect(flags(gpuContainer(gpu))).toEqual(["--metrics.collectors.gpu.enabled=true", `--metrics.collectors.gpu.podResourcesSocket=${POD_RESOURCES}/kubelet.sock`]);
    const checksum = (ds: DaemonSet) => ds.spec.template.metadata.annotations!["checksum/config"];
    expect(checksum(gpuDaemonSet(gpu))).toBe(checksum(daemonSet(gpu)));
    expect(gpu.all("ConfigMap")).toHaveLength(1);
    expect(configYaml(gpu)).not.toContain("gpu:");
    // With an existing ConfigMap the flags still tell the two apart.
    const existing = render({ values: [ci("existing-configmap"), ci("gpu")] });
    expect(existing.all("ConfigMap")).toEqual([]);
    expect(gpuDaemonSet(existing).spec.template.spec.volumes.find((v) => v.name === "config")!.configMap!.name).toBe("nodetap-site-config");
    expect(flags(gpuContainer(existing))[0]).toBe("--metrics.collectors.gpu.enabled=true");
    expect(flags(agentContainer(existing))).toEqual(["--metrics.collectors.gpu.enabled=false"]);
  });

  it("mounts the kubelet's pod-resources directory read-only where the agent looks for the socket; every host mount but the checkpoints read-only", () => {
    const socketPath = (c: Container) => {
      const flags = new Map(c.args.map((a) => a.split("=", 2) as [string, string]));
      const socket = flags.get("--metrics.collectors.gpu.podResourcesSocket")!;
      // The agent reads it under its rootfs (--path.rootfs, "/" by default).
      return path.posix.join(flags.get("--path.rootfs") ?? "/", socket);
    };
    for (const [r, mountPath, hostPath] of [
      [gpu, `/host/root${POD_RESOURCES}`, POD_RESOURCES],
      [custom, POD_RESOURCES, "/var/lib/k0s/kubelet/pod-resources"],
    ] as const) {
      const pod = gpuDaemonSet(r).spec.template.spec;
      const c = gpuContainer(r);
      const mount = c.volumeMounts.find((m) => m.name === "pod-resources")!;
      expect(mount).toEqual({ name: "pod-resources", mountPath, readOnly: true });
      expect(pod.volumes.find((v) => v.name === "pod-resources")!.hostPath).toEqual({ path: hostPath, type: "Directory" });
      expect(socketPath(c)).toBe(`${mountPath}/kubelet.sock`);
      // Read-only everywhere but the checkpoint directory, as in the main DaemonSet.
      expect(c.volumeMounts.filter((m) => m.readOnly !== true).map((m) => m.name)).toEqual(["checkpoints"]);
      const mainHostPaths = daemonSet(r).spec.template.spec.volumes.filter((v) => v.hostPath).map((v) => v.name);
      expect(pod.volumes.filter((v) => v.hostPath).map((v) => v.name).sort()).toEqual([...mainHostPaths, "pod-resources"].sort());
      expect(daemonSet(r).spec.template.spec.volumes.map((v) => v.name)).not.toContain("pod-resources");
    }
    // Off: no mount, and the agent is told not to ask.
    const off = render({ values: [ci("gpu")], set: ["gpu.podResources.enabled=false"] });
    expect(gpuDaemonSet(off).spec.template.spec.volumes.map((v) => v.name)).not.toContain("pod-resources");
    expect(gpuContainer(off).args).toContain("--metrics.collectors.gpu.podResourcesSocket=");
  });

  it("runs the GPU pods as uid 0 (the socket is root's) with no capability, whatever podSecurityContext says", () => {
    const sc = (r: Rendered, ds: (r: Rendered) => DaemonSet) => ds(r).spec.template.spec.securityContext;
    expect(sc(gpu, gpuDaemonSet)).toEqual(sc(gpu, daemonSet));
    expect(sc(gpu, gpuDaemonSet)).toMatchObject({ runAsUser: 0, runAsNonRoot: false });
    expect(gpuContainer(gpu).securityContext).toEqual({
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    const nonRoot = ["podSecurityContext.runAsUser=65532", "podSecurityContext.runAsGroup=65532", "podSecurityContext.runAsNonRoot=true"];
    const r = render({ values: [ci("gpu")], set: nonRoot });
    expect(sc(r, daemonSet)).toMatchObject({ runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true });
    expect(sc(r, gpuDaemonSet)).toMatchObject({ runAsUser: 0, runAsGroup: 65532, runAsNonRoot: false });
    // null keeps podSecurityContext; another uid replaces only the uid.
    expect(sc(render({ values: [ci("gpu")], set: [...nonRoot, "gpu.runAsUser=null", "gpu.podResources.enabled=false"] }), gpuDaemonSet)).toEqual(sc(r, daemonSet));
    expect(sc(render({ values: [ci("gpu")], set: [...nonRoot, "gpu.runAsUser=1000"] }), gpuDaemonSet)).toMatchObject({ runAsUser: 1000, runAsNonRoot: true });
  });

  it("is otherwise the main DaemonSet", () => {
    for (const r of [gpu, custom, render({ values: [ci("all-objects"), ci("gpu")] })]) {
      const strip = (ds: DaemonSet) => {
        const copy = structuredClone(ds);
        const pod = copy.spec.template.spec as PodSpec & Record<string, unknown>;
        for (const k of ["runtimeClassName", "nodeSelector", "affinity", "tolerations"]) delete pod[k];
        delete pod.securityContext.runAsUser;
        delete pod.securityContext.runAsNonRoot;
        pod.volumes = pod.volumes.filter((v) => v.name !== "pod-resources");
        const c = pod.containers[0];
        c.args = c.args.filter((a) => !a.startsWith("--metrics.collectors.gpu."));
        c.env = c.env.filter((e) => !NVIDIA_ENV.includes(e.name));
        c.volumeMounts = c.volumeMounts.filter((m) => m.name !== "pod-resources");
        delete c.resources;
        for (const labels of [copy.metadata.labels!, copy.spec.template.metadata.labels, copy.spec.selector.matchLabels]) delete labels["app.kubernetes.io/component"];
        delete (copy.metadata as Record<string, unknown>).name;
        return copy;
      };
      expect(strip(gpuDaemonSet(r))).toEqual(strip(daemonSet(r)));
    }
  });
});
