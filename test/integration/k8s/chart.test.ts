// The chart on a real control plane (issue 8): kube-apiserver, kube-controller-manager and
// kube-scheduler v1.34 with etcd, and kwok playing the kubelet of 52+ simulated nodes (see
// harness/control-plane.ts; built by scripts/testenv-k8s.sh). Everything the chart renders is
// admitted by the real API server (CRD schemas included), placed by the real DaemonSet controller
// and scheduler, rolled by the real rolling update, and resolved by the real EndpointSlice
// controller. kwok runs no container: pods become Ready as soon as they are bound.
//
// One control plane serves the whole file; the tests build on each other in order.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireProgram } from "../../helpers/test-programs.js";
import { CHART } from "../../packaging/tools.js";
import {
  ControlPlane,
  haveControlPlane,
  k8sTestenvDir,
  runAsync,
  waitFor,
  type KubeObject,
  type KwokNodeOptions,
} from "./harness/control-plane.js";

const SUITE = "the chart on a real control plane (test/integration/k8s)";

// Release "nodetap" (default values) in namespace nodetap: objects are named "nodetap".
const DEF = { release: "nodetap", namespace: "nodetap", ds: "nodetap", service: "nodetap", port: 9100 };
// Release "full": every optional object (chart/ci/all-objects-values.yaml: ServiceMonitor,
// PrometheusRule, NetworkPolicy, dashboard ConfigMap in namespace grafana, ...) plus the GPU
// DaemonSet, on port 9101 (both releases use the host network: the scheduler refuses two pods
// with the same host port on a node).
const FULL = {
  release: "full",
  namespace: "nodetap-full",
  ds: "full-nodetap",
  gpuDs: "full-nodetap-gpu",
  service: "full-nodetap",
  port: 9101,
};

type NodeSpec = KwokNodeOptions & { name: string };
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const pad = (i: number) => String(i).padStart(2, "0");
const gpuNode = {
  labels: { "nvidia.com/gpu.present": "true" },
  taints: [{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" as const }],
};

/** 52 nodes: every kind of node the chart's placement rules distinguish. */
const NODES: NodeSpec[] = [
  ...range(3).map((i) => ({
    name: `cp-${i}`,
    labels: { "node-role.kubernetes.io/control-plane": "" },
    taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" as const }],
  })),
  ...range(30).map((i) => ({ name: `worker-${pad(i)}` })),
  ...range(4).map((i) => ({
    name: `batch-${i}`,
    taints: [{ key: "example.com/dedicated", value: "batch", effect: "NoExecute" as const }],
  })),
  ...range(4).map((i) => ({ name: `gpu-${i}`, ...gpuNode })),
  { name: "gpu-arm-1", arch: "arm64", ...gpuNode },
  { name: "cordoned-1", unschedulable: true },
  ...range(5).map((i) => ({ name: `arm-${i}`, arch: "arm64" })),
  ...range(3).map((i) => ({ name: `win-${i}`, os: "windows" })),
  { name: "win-tainted-1", os: "windows", taints: [{ key: "os", value: "windows", effect: "NoSchedule" as const }] },
];
/** Added later: 10 Linux nodes of assorted kinds, and a Windows node that must get nothing. */
const ADDED: NodeSpec[] = [
  ...range(6).map((i) => ({ name: `new-${pad(i)}` })),
  { name: "new-07", arch: "arm64" },
  { name: "new-08", arch: "arm64" },
  { name: "new-09", taints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" as const }] },
  { name: "new-10", taints: [{ key: "example.com/dedicated", value: "batch", effect: "NoExecute" as const }] },
  { name: "new-win-1", os: "windows" },
];
const DELETED = ["new-01", "new-02", "new-07", "worker-30", "arm-5", "cordoned-1", "win-3"];

/**
 * Where the chart's agents belong, from its defaults (values.yaml): nodeSelector
 * kubernetes.io/os: linux (Windows nodes get none: the image is a Linux one), tolerations
 * [{operator: Exists}] (every taint: control-plane, NoExecute, nvidia.com/gpu; a cordoned node's
 * node.kubernetes.io/unschedulable too, which every DaemonSet tolerates anyway), no affinity and no
 * architecture constraint (the image is built for amd64 and arm64). With gpu.enabled the main
 * DaemonSet gets a required affinity nvidia.com/gpu.present NotIn [true] and the GPU DaemonSet
 * the nodeSelector nvidia.com/gpu.present: "true" (plus kubernetes.io/os: linux) with the
 * nvidia.com/gpu toleration: each Linux node runs exactly one agent of the release.
 */
const isLinux = (n: NodeSpec) => (n.os ?? "linux") === "linux";
const isGpu = (n: NodeSpec) => n.labels?.["nvidia.com/gpu.present"] === "true";
const expectedMain = (nodes: NodeSpec[], gpuEnabled: boolean) =>
  nodes
    .filter((n) => isLinux(n) && !(gpuEnabled && isGpu(n)))
    .map((n) => n.name)
    .sort();
const expectedGpu = (nodes: NodeSpec[]) =>
  nodes
    .filter((n) => isLinux(n) && isGpu(n))
    .map((n) => n.name)
    .sort();

let cp: ControlPlane;
let helmBin: string;
let nodes: NodeSpec[] = [...NODES];

async function helm(args: string[], timeoutMs = 300_000): Promise<string> {
  const r = await runAsync(helmBin, [...args, `--kubeconfig=${cp.kubeconfig}`], { timeoutMs });
  if (r.code !== 0) throw new Error(`helm ${args.join(" ")} exited ${r.code}: ${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Retries an assertion block until it passes; on timeout, throws its last failure. */
async function eventually(what: string, fn: () => Promise<void>, timeoutMs: number, everyMs = 300): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fn();
      return;
    } catch (e) {
      if (Date.now() > until) {
        (e as Error).message = `${what} (not within ${timeoutMs} ms): ${(e as Error).message}`;
        throw e;
      }
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const isReady = (pod: KubeObject) =>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (pod.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True");

async function daemonSet(namespace: string, name: string): Promise<KubeObject> {
  return cp.get(`/apis/apps/v1/namespaces/${namespace}/daemonsets/${name}`);
}

/** The live (not terminating) pods a DaemonSet owns. */
async function podsOf(namespace: string, dsName: string): Promise<KubeObject[]> {
  const ds = await daemonSet(namespace, dsName);
  const pods = await cp.get<{ items: KubeObject[] }>(`/api/v1/namespaces/${namespace}/pods`);
  return pods.items.filter((p) => !p.metadata.deletionTimestamp && p.metadata.ownerReferences?.some((o) => o.uid === ds.metadata.uid));
}

/** Node name -> number of the DaemonSet's pods there (all must be Ready). */
async function placement(namespace: string, dsName: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of await podsOf(namespace, dsName)) {
    expect(isReady(p), `${p.metadata.name} on ${p.spec.nodeName} is Ready`).toBe(true);
    out[p.spec.nodeName] = (out[p.spec.nodeName] ?? 0) + 1;
  }
  return out;
}

const onePerNode = (names: string[]) => Object.fromEntries(names.map((n) => [n, 1]));

async function expectPlacement(timeoutMs = 30_000): Promise<void> {
  await eventually(
    "one agent per eligible node",
    async () => {
      expect(await placement(DEF.namespace, DEF.ds)).toEqual(onePerNode(expectedMain(nodes, false)));
      expect(await placement(FULL.namespace, FULL.ds)).toEqual(onePerNode(expectedMain(nodes, true)));
      expect(await placement(FULL.namespace, FULL.gpuDs)).toEqual(onePerNode(expectedGpu(nodes)));
    },
    timeoutMs,
  );
}

/** Every object, namespaced or cluster-wide, of every listable kind, with the release's instance label. */
async function objectsOfRelease(release: string): Promise<string[]> {
  const kinds = (await cp.kubectl(["api-resources", "--verbs=list", "-o", "name"])).stdout.split("\n").filter(Boolean);
  const r = await cp.kubectl(["get", kinds.join(","), "-A", "-l", `app.kubernetes.io/instance=${release}`, "-o", "name"], {
    allowFailure: true,
  });
  if (r.code !== 0 && !/No resources found/.test(r.stderr)) throw new Error(`kubectl get all kinds: ${r.stderr}`);
  const helmSecrets = await cp.kubectl(["get", "secrets", "-A", "-l", `owner=helm,name=${release}`, "-o", "name"]);
  return [...r.stdout.split("\n"), ...helmSecrets.stdout.split("\n")].filter(Boolean).sort();
}

/**
 * Follows a DaemonSet's pods through a watch and records, after every event, how many of the
 * expected nodes lack an available pod (Ready, not terminating): what maxUnavailable bounds.
 */
class RolloutRecorder {
  readonly pods = new Map<string, KubeObject>();
  readonly initialUids: Set<string>;
  maxUnavailable = 0;
  events = 0;
  private watch?: { stop: () => void; done: Promise<void> };

  private constructor(
    private readonly expectedNodes: Set<string>,
    initial: KubeObject[],
  ) {
    for (const p of initial) this.pods.set(p.metadata.uid!, p);
    this.initialUids = new Set(this.pods.keys());
  }

  static async start(namespace: string, dsName: string, expectedNodes: string[]): Promise<RolloutRecorder> {
    const ds = await daemonSet(namespace, dsName);
    const selector = Object.entries(ds.spec.selector.matchLabels as Record<string, string>)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const collection = `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`;
    const list = await cp.get<{ items: KubeObject[]; metadata: { resourceVersion: string } }>(collection);
    const owned = (p: KubeObject) => p.metadata.ownerReferences?.some((o) => o.uid === ds.metadata.uid) ?? false;
    const rec = new RolloutRecorder(new Set(expectedNodes), list.items.filter(owned));
    expect(rec.unavailable(), "no agent is unavailable before the rollout").toBe(0);
    rec.watch = cp.watch(collection, list.metadata.resourceVersion, (e) => {
      if (e.type === "BOOKMARK" || e.type === "ERROR" || !owned(e.object)) return;
      rec.events++;
      if (e.type === "DELETED") rec.pods.delete(e.object.metadata.uid!);
      else rec.pods.set(e.object.metadata.uid!, e.object);
      rec.maxUnavailable = Math.max(rec.maxUnavailable, rec.unavailable());
    });
    return rec;
  }

  unavailable(): number {
    const available = new Set<string>();
    for (const p of this.pods.values()) if (!p.metadata.deletionTimestamp && isReady(p) && p.spec.nodeName) available.add(p.spec.nodeName);
    return [...this.expectedNodes].filter((n) => !available.has(n)).length;
  }

  stop(): void {
    this.watch?.stop();
  }
}

describe.runIf(haveControlPlane(SUITE, "helm"))(SUITE, () => {
  beforeAll(async () => {
    helmBin = requireProgram("helm");
    const t0 = Date.now();
    cp = await ControlPlane.start();
    const started = Date.now() - t0;
    // prometheus-operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule, ...), the RuntimeClass
    // the GPU operator would create, the dashboard's namespace; then the nodes.
    await cp.kubectl(["apply", "--server-side", "-f", path.join(k8sTestenvDir(), "crds")]);
    // Polled rather than `kubectl wait`: right after the apply a CRD can have no status yet, and
    // kubectl wait then fails at once ("status.conditions accessor error").
    for (const crd of ["servicemonitors", "podmonitors", "prometheusrules"]) {
      await waitFor(
        `CRD ${crd} Established`,
        async () => {
          const obj = await cp.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd}.monitoring.coreos.com`);
          const conditions = (obj.status?.conditions ?? []) as { type: string; status: string }[];
          return conditions.some((c) => c.type === "Established" && c.status === "True") || undefined;
        },
        60_000,
      );
    }
    await cp.apply(
      "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: { name: nvidia }\nhandler: nvidia\n---\napiVersion: v1\nkind: Namespace\nmetadata: { name: grafana }\n",
    );
    await cp.createKwokNodes(NODES);
    process.stderr.write(
      `[k8s e2e] control plane up in ${started} ms, ${NODES.length} kwok nodes Ready after ${Date.now() - t0} ms (${cp.dir})\n`,
    );
  }, 180_000);

  afterAll(async () => {
    await cp?.stop();
  }, 60_000);

  it("admits helm install of the chart with default values; --wait returns once the DaemonSet is ready", async () => {
    const t0 = Date.now();
    await helm(["install", DEF.release, CHART, "-n", DEF.namespace, "--create-namespace", "--wait", "--timeout=3m"]);
    const ds = await daemonSet(DEF.namespace, DEF.ds);
    // helm returned: every scheduled pod is Ready already (kwok marks them so on binding).
    expect(ds.status.desiredNumberScheduled).toBe(expectedMain(nodes, false).length);
    expect(ds.status.numberReady).toBe(ds.status.desiredNumberScheduled);
    expect(ds.status.updatedNumberScheduled).toBe(ds.status.desiredNumberScheduled);
    const status = JSON.parse(await helm(["status", DEF.release, "-n", DEF.namespace, "-o", "json"]));
    expect(status.info.status).toBe("deployed");
    process.stderr.write(`[k8s e2e] helm install --wait (default values): ${Date.now() - t0} ms\n`);
  }, 240_000);

  it("admits helm install with every optional object (ServiceMonitor, PrometheusRule, NetworkPolicy, dashboard, GPU DaemonSet)", async () => {
    await helm([
      "install",
      FULL.release,
      CHART,
      "-n",
      FULL.namespace,
      "--create-namespace",
      "-f",
      path.join(CHART, "ci/all-objects-values.yaml"),
      "--set",
      `gpu.enabled=true,port=${FULL.port},service.port=${FULL.port}`,
      "--wait",
      "--timeout=3m",
    ]);
    // Every object helm rendered exists, as rendered (kind, namespace, name).
    const manifest = await helm(["get", "manifest", FULL.release, "-n", FULL.namespace]);
    const rendered = [...manifest.matchAll(/^kind: (\S+)\nmetadata:\n {2}name: (\S+)(?:\n {2}namespace: (\S+))?/gm)].map((m) => ({
      kind: m[1],
      name: m[2],
      namespace: m[3],
    }));
    expect(rendered.map((o) => o.kind).sort()).toEqual(
      expect.arrayContaining([
        "ServiceMonitor",
        "PrometheusRule",
        "NetworkPolicy",
        "ConfigMap",
        "DaemonSet",
        "Service",
        "ClusterRole",
        "ClusterRoleBinding",
        "ServiceAccount",
      ]),
    );
    expect(
      rendered
        .filter((o) => o.kind === "DaemonSet")
        .map((o) => o.name)
        .sort(),
    ).toEqual([FULL.ds, FULL.gpuDs]);
    for (const o of rendered) {
      const args = ["get", o.kind, o.name, "-o", "name"];
      if (o.namespace) args.push("-n", o.namespace);
      expect((await cp.kubectl(args)).stdout.trim()).not.toBe("");
    }
    expect(rendered.find((o) => o.kind === "ConfigMap" && o.name.endsWith("-dashboard"))?.namespace).toBe("grafana");
    for (const ds of [FULL.ds, FULL.gpuDs]) {
      const s = (await daemonSet(FULL.namespace, ds)).status;
      expect(s.numberReady, ds).toBe(s.desiredNumberScheduled);
    }
  }, 240_000);

  it("places exactly one agent on every Linux node, whatever its taints, cordon or architecture, and none on Windows", async () => {
    // The expectation rests on these defaults; if they change, change expectedMain too.
    const def = (await daemonSet(DEF.namespace, DEF.ds)).spec.template.spec;
    expect(def.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
    expect(def.tolerations).toEqual([{ operator: "Exists" }]);
    expect(def.affinity).toBeUndefined();
    const full = (await daemonSet(FULL.namespace, FULL.ds)).spec.template.spec;
    expect(full.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: "nvidia.com/gpu.present", operator: "NotIn", values: ["true"] }] },
    ]);
    expect((await daemonSet(FULL.namespace, FULL.gpuDs)).spec.template.spec.nodeSelector).toEqual({
      "kubernetes.io/os": "linux",
      "nvidia.com/gpu.present": "true",
    });

    expect(expectedMain(nodes, false)).toHaveLength(48);
    expect(expectedMain(nodes, false)).toEqual(expect.arrayContaining(["cp-1", "batch-1", "gpu-1", "gpu-arm-1", "cordoned-1", "arm-1"]));
    expect(expectedMain(nodes, false).filter((n) => n.startsWith("win-"))).toEqual([]);
    await expectPlacement();
  }, 60_000);

  it("resolves the Service (and the ServiceMonitor's selection of it) to every agent pod through EndpointSlices", async () => {
    const endpointsOf = async (namespace: string, service: string) => {
      const slices = await cp.get<{ items: KubeObject[] }>(
        `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${service}`)}`,
      );
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return slices.items.flatMap((s) => (s.endpoints ?? []).map((e: any) => ({ ...e, ports: s.ports, addressType: s.addressType })));
    };
    const nodeIps = new Map<string, string>();
    for (const n of (await cp.get<{ items: KubeObject[] }>("/api/v1/nodes")).items)
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      nodeIps.set(n.metadata.name, n.status.addresses.find((a: any) => a.type === "InternalIP").address);

    const check = async (namespace: string, service: string, port: number, dsNames: string[]) => {
      const pods = (await Promise.all(dsNames.map((d) => podsOf(namespace, d)))).flat();
      const eps = await endpointsOf(namespace, service);
      // One endpoint per agent pod, on that pod's node, at the node's address (host network), ready.
      expect(eps.map((e) => `${e.nodeName}/${e.targetRef?.name}`).sort()).toEqual(
        pods.map((p) => `${p.spec.nodeName}/${p.metadata.name}`).sort(),
      );
      for (const e of eps) {
        expect(e.addresses).toEqual([nodeIps.get(e.nodeName)]);
        expect(e.conditions.ready).toBe(true);
        expect(e.ports).toEqual([{ name: "metrics", port, protocol: "TCP" }]);
      }
      return pods.length;
    };
    await eventually(
      "EndpointSlices of the default release",
      async () => void (await check(DEF.namespace, DEF.service, DEF.port, [DEF.ds])),
      30_000,
    );

    // The ServiceMonitor selects exactly the chart's Service, by labels and a port name it has.
    const sm = await cp.get(`/apis/monitoring.coreos.com/v1/namespaces/${FULL.namespace}/servicemonitors/${FULL.service}`);
    expect(sm.spec.namespaceSelector.matchNames).toEqual([FULL.namespace]);
    const selector = Object.entries(sm.spec.selector.matchLabels as Record<string, string>)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    const selected = await cp.get<{ items: KubeObject[] }>(
      `/api/v1/namespaces/${FULL.namespace}/services?labelSelector=${encodeURIComponent(selector)}`,
    );
    expect(selected.items.map((s) => s.metadata.name)).toEqual([FULL.service]);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expect(selected.items[0].spec.ports.map((p: any) => p.name)).toContain(sm.spec.endpoints[0].port);
    // ... and that Service's endpoints are the agents of both DaemonSets (GPU nodes included).
    await eventually(
      "EndpointSlices of the full release",
      async () =>
        expect(await check(FULL.namespace, FULL.service, FULL.port, [FULL.ds, FULL.gpuDs])).toBe(expectedMain(nodes, false).length),
      30_000,
    );
  }, 90_000);

  it("adds one agent per added Linux node, and removes the agents of deleted nodes", async () => {
    const before = (await podsOf(DEF.namespace, DEF.ds)).length;
    await cp.createKwokNodes(ADDED);
    nodes = [...nodes, ...ADDED];
    await expectPlacement();
    expect((await podsOf(DEF.namespace, DEF.ds)).length).toBe(before + 10);

    // Pods of a deleted node are removed by the pod garbage collector (orphaned pods: checked
    // every 20 s, after a 40 s quarantine), not by the DaemonSet controller.
    const t0 = Date.now();
    await cp.deleteNode(...DELETED);
    nodes = nodes.filter((n) => !DELETED.includes(n.name));
    await expectPlacement(150_000);
    expect((await podsOf(DEF.namespace, DEF.ds)).length).toBe(before + 10 - 6); // win-3 had none
    process.stderr.write(`[k8s e2e] pods of ${DELETED.length} deleted nodes gone after ${Date.now() - t0} ms\n`);
  }, 240_000);

  it("helm upgrade with a changed config rolls every pod, never more than maxUnavailable at once; helm rollback restores it", async () => {
    const expected = expectedMain(nodes, false);
    const ds0 = await daemonSet(DEF.namespace, DEF.ds);
    expect(ds0.spec.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    const checksum0 = ds0.spec.template.metadata.annotations["checksum/config"];
    const config0 = (await cp.get(`/api/v1/namespaces/${DEF.namespace}/configmaps/${DEF.ds}`)).data;
    const hash0 = new Set((await podsOf(DEF.namespace, DEF.ds)).map((p) => p.metadata.labels!["controller-revision-hash"]));
    expect(hash0.size).toBe(1);

    // Rolls to a template; resolves when every expected node runs a Ready pod of it.
    const rollout = async (what: string, action: () => Promise<unknown>, checksum: () => Promise<string>) => {
      const rec = await RolloutRecorder.start(DEF.namespace, DEF.ds, expected);
      const t0 = Date.now();
      try {
        await action();
        const want = await checksum();
        await eventually(
          `${what}: every agent replaced`,
          async () => {
            const pods = await podsOf(DEF.namespace, DEF.ds);
            expect(pods.map((p) => p.spec.nodeName).sort()).toEqual(expected);
            for (const p of pods) {
              expect(p.metadata.annotations!["checksum/config"]).toBe(want);
              expect(isReady(p)).toBe(true);
              expect(rec.initialUids.has(p.metadata.uid!), `${p.metadata.name} was replaced`).toBe(false);
            }
            const s = (await daemonSet(DEF.namespace, DEF.ds)).status;
            expect([s.updatedNumberScheduled, s.numberAvailable]).toEqual([expected.length, expected.length]);
          },
          180_000,
          500,
        );
      } finally {
        rec.stop();
      }
      process.stderr.write(
        `[k8s e2e] ${what}: ${expected.length} pods rolled in ${Date.now() - t0} ms, max unavailable ${rec.maxUnavailable}, ${rec.events} pod events\n`,
      );
      return rec;
    };

    const up = await rollout(
      "helm upgrade",
      () => helm(["upgrade", DEF.release, CHART, "-n", DEF.namespace, "--set", "config.log.level=debug", "--wait", "--timeout=5m"]),
      async () => (await daemonSet(DEF.namespace, DEF.ds)).spec.template.metadata.annotations["checksum/config"],
    );
    expect(up.maxUnavailable).toBeLessThanOrEqual(1);
    expect(up.maxUnavailable, "the rollout was seen taking pods down").toBe(1);
    const config1 = (await cp.get(`/api/v1/namespaces/${DEF.namespace}/configmaps/${DEF.ds}`)).data;
    expect(config1["config.yaml"]).toMatch(/level: debug/);
    expect((await daemonSet(DEF.namespace, DEF.ds)).spec.template.metadata.annotations["checksum/config"]).not.toBe(checksum0);

    const back = await rollout(
      "helm rollback",
      () => helm(["rollback", DEF.release, "1", "-n", DEF.namespace, "--wait", "--timeout=5m"]),
      async () => checksum0,
    );
    expect(back.maxUnavailable).toBeLessThanOrEqual(1);
    expect((await cp.get(`/api/v1/namespaces/${DEF.namespace}/configmaps/${DEF.ds}`)).data).toEqual(config0);
    // The DaemonSet went back to revision 1's template: the same ControllerRevision hash as at first.
    expect(new Set((await podsOf(DEF.namespace, DEF.ds)).map((p) => p.metadata.labels!["controller-revision-hash"]))).toEqual(hash0);
    const history = JSON.parse(await helm(["history", DEF.release, "-n", DEF.namespace, "-o", "json"])) as {
      revision: number;
      status: string;
      description: string;
    }[];
    expect(history.map((h) => [h.revision, h.status])).toEqual([
      [1, "superseded"],
      [2, "superseded"],
      [3, "deployed"],
    ]);
    expect(history[2].description).toBe("Rollback to 1");
  }, 480_000);

  it("grants the agent's ServiceAccount read access to pods, namespaces and nodes only (token, RBAC, audit log)", async () => {
    const token = await cp.createToken(DEF.namespace, DEF.ds, 600);
    for (const p of ["/api/v1/pods", "/api/v1/namespaces", "/api/v1/nodes", `/api/v1/namespaces/${DEF.namespace}/pods?watch=0`])
      expect((await cp.request("GET", p, undefined, { token })).status, p).toBe(200);
    for (const p of ["/api/v1/secrets", `/api/v1/namespaces/${DEF.namespace}/configmaps`, "/apis/apps/v1/daemonsets"])
      expect((await cp.request("GET", p, undefined, { token })).status, p).toBe(403);
    expect((await cp.request("DELETE", `/api/v1/nodes/worker-01`, undefined, { token })).status).toBe(403);
    const user = `system:serviceaccount:${DEF.namespace}:${DEF.ds}`;
    await waitFor(
      "the agent's requests in the audit log",
      async () => cp.auditEvents().filter((e) => e.user.username === user).length === 8,
      10_000,
    );
    const denied = cp.auditEvents().filter((e) => e.user.username === user && e.responseStatus?.code === 403);
    expect(denied.map((e) => `${e.verb} ${e.objectRef?.resource}`).sort()).toEqual([
      "delete nodes",
      "list configmaps",
      "list daemonsets",
      "list secrets",
    ]);

    // The token still works after an API server restart (same signing key, same etcd).
    await cp.restartApiServer();
    expect((await cp.request("GET", "/api/v1/nodes", undefined, { token })).status).toBe(200);
  }, 120_000);

  it("helm uninstall leaves no object of either release behind", async () => {
    expect(await objectsOfRelease(DEF.release)).not.toEqual([]);
    await helm(["uninstall", DEF.release, "-n", DEF.namespace, "--wait", "--timeout=3m"]);
    await helm(["uninstall", FULL.release, "-n", FULL.namespace, "--wait", "--timeout=3m"]);
    // The DaemonSets' pods, ControllerRevisions and EndpointSlices go with their owners (garbage
    // collector); the dashboard ConfigMap in namespace grafana and the cluster-wide ClusterRole /
    // ClusterRoleBinding with the release. (The checkpoint hostPath, /var/lib/nodetap on each
    // node, is the node's, not an API object: it stays, as intended, for a reinstall to resume.)
    await eventually(
      "nothing of the releases left",
      async () => {
        expect(await objectsOfRelease(DEF.release)).toEqual([]);
        expect(await objectsOfRelease(FULL.release)).toEqual([]);
      },
      90_000,
      1000,
    );
  }, 240_000);
});
