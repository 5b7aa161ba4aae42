// Pod metadata from a real API server (issue 8, part 4). The agent runs as a process with a
// token of the chart's own ServiceAccount, bound by the chart's own ClusterRole (helm template of
// chart/templates/serviceaccount.yaml and rbac.yaml, applied as is), and NODE_NAME set to one kwok
// node. Pods go through the real scheduler and ReplicaSet controller; their log files are written
// here under a /var/log/pods-shaped tree, named by the uids the API server gave them.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type AgentProcess } from "../../helpers/agent-process.js";
import { getJson, getText } from "../../helpers/http.js";
import { requireProgram } from "../../helpers/test-programs.js";
import { CHART } from "../../packaging/tools.js";
import { ControlPlane, freePort, haveControlPlane, waitFor, type KubeObject } from "./harness/control-plane.js";

const SUITE = "pod metadata from a real API server (test/integration/k8s/metadata.test.ts)";
const NS = "shop";
const AGENT_NS = "nodetap";
const SA_USER = `system:serviceaccount:${AGENT_NS}:nodetap`;

interface ShippedRecord {
  message: string;
  kubernetes?: {
    namespace: string;
    pod_name: string;
    pod_uid: string;
    container_name: string;
    container_image?: string;
    pod_labels?: Record<string, string>;
    pod_annotations?: Record<string, string>;
    owner?: { kind: string; name: string };
    workload?: { kind: string; name: string };
    namespace_labels?: Record<string, string>;
    node_labels?: Record<string, string>;
  };
}

interface K8sStatus {
  kubernetes?: {
    nodeName: string;
    store: { pods: number; deletedPods: number; namespaces: number; nodes: number };
    resources: Record<string, { synced: boolean; up: boolean; lastError?: string; relists: number; failures: number }>;
  };
}

/** A CRI log line as containerd writes it. */
const cri = (message: string) => `2026-12-05T10:00:00.123456789Z stdout F ${message}\n`;

describe.runIf(haveControlPlane(SUITE, "helm"))(SUITE, () => {
  let cp: ControlPlane;
  let work: string;
  let podsDir: string;
  const agents: AgentProcess[] = [];

  const kubectl = async (args: string[], input?: string) => {
    const r = await cp.kubectl(args, { input });
    return r.stdout;
  };
  const pod = async (name: string): Promise<KubeObject> => cp.get(`/api/v1/namespaces/${NS}/pods/${name}`);

  /** Writes lines to the pod's container log, creating /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log. */
  const writeLog = (p: KubeObject, container: string, lines: string[]) => {
    const dir = path.join(podsDir, `${p.metadata.namespace}_${p.metadata.name}_${p.metadata.uid}`, container);
    fs.mkdirSync(dir, { recursive: true });
    fs.appendFileSync(path.join(dir, "0.log"), lines.map(cri).join(""));
  };

  /** Starts an agent for `node` that ships pod logs to a file sink; returns it and its sink file. */
  const startNodetap = async (name: string, opts: { node: string; tokenFile: string; apiServer?: string; extra?: string }) => {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    const sinkFile = path.join(dir, "out.ndjson");
    const config = path.join(dir, "config.yaml");
    fs.writeFileSync(
      config,
      [
        "logs:",
        "  sources:",
        `    pods: { include: ["${podsDir}/*/*/*.log"] }`,
        "    host: { enabled: false }",
        "  sink:",
        "    type: file",
        `    file: { path: "${sinkFile}" }`,
        "    batch: { maxWait: 0.05 }",
        "    kubernetesMetadata: [pod_labels, pod_annotations, workload, container_image, namespace_labels, node_labels]",
        `  checkpoint: { dir: "${path.join(dir, "state")}" }`,
        "kubernetes:",
        "  metadata: on",
        `  apiServer: "${opts.apiServer ?? cp.server}"`,
        `  tokenFile: "${opts.tokenFile}"`,
        `  caFile: "${cp.caFile}"`,
        `  nodeName: "${opts.node}"`,
        '  annotations: ["example.com/*"]',
        '  nodeLabels: ["topology.kubernetes.io/zone", "node.kubernetes.io/instance-type"]',
        "  excludeNamespaces: [kube-system]",
        "  waitForMetadata: 5s",
        "  backoff: { initial: 0.2s, max: 1s }",
        opts.extra ?? "",
      ].join("\n"),
    );
    const agent = await startAgent({ logs: true, args: [`--config=${config}`, "--collector.disable-defaults"] });
    agents.push(agent);
    const records = (): ShippedRecord[] =>
      fs.existsSync(sinkFile)
        ? fs
            .readFileSync(sinkFile, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l) as ShippedRecord)
        : [];
    const metric = async (name: string, labels = ""): Promise<number> => {
      const text = await getText(`${agent.url}/metrics`);
      const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `) || (labels === "" && l.startsWith(`${name} `)));
      return line === undefined ? 0 : Number(line.split(" ").pop());
    };
    const status = () => getJson<K8sStatus>(`${agent.url}/status`);
    return { agent, records, metric, status, sinkFile };
  };

  const recordsOf = (all: ShippedRecord[], podName: string) => all.filter((r) => r.kubernetes?.pod_name === podName);

  beforeAll(async () => {
    cp = await ControlPlane.start();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-k8s-meta-"));
    podsDir = path.join(work, "pods");
    fs.mkdirSync(podsDir);
    // The chart's ServiceAccount and RBAC, exactly as rendered.
    const helm = requireProgram("helm");
    const rendered = spawnSync(
      helm,
      ["template", "nodetap", CHART, "-n", AGENT_NS, "--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/rbac.yaml"],
      { encoding: "utf8" },
    );
    if (rendered.status !== 0) throw new Error(`helm template failed: ${rendered.stderr}`);
    await kubectl(["create", "namespace", AGENT_NS]);
    await cp.apply(rendered.stdout);
    await cp.createKwokNodes([
      { name: "node-a", labels: { "topology.kubernetes.io/zone": "zone-a", "node.kubernetes.io/instance-type": "m7.large", team: "x" } },
      { name: "node-b", labels: { "topology.kubernetes.io/zone": "zone-b" } },
    ]);
    await cp.apply(`
apiVersion: v1
kind: Namespace
metadata: { name: ${NS}, labels: { tier: gold } }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${NS} }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata:
      labels: { app: web, app.kubernetes.io/name: web-shop }
      annotations: { example.com/owner: alice, other.org/ignored: "yes" }
    spec:
      nodeSelector: { kubernetes.io/hostname: node-a }
      containers: [{ name: app, image: registry.local:5000/shop/web:1.2 }]
---
apiVersion: v1
kind: Pod
metadata: { name: elsewhere, namespace: ${NS}, labels: { app: elsewhere } }
spec: { nodeName: node-b, containers: [{ name: app, image: busybox }] }
---
apiVersion: v1
kind: Pod
metadata: { name: quiet, namespace: ${NS}, annotations: { nodetap.io/exclude: "true" } }
spec: { nodeName: node-a, containers: [{ name: app, image: busybox }] }
---
apiVersion: v1
kind: Pod
metadata: { name: mixed, namespace: ${NS}, annotations: { nodetap.io/exclude-containers: "sidecar" } }
spec: { nodeName: node-a, containers: [{ name: app, image: app:3 }, { name: sidecar, image: envoy:1.30 }] }
`);
    await waitFor(
      "the web pods on node-a",
      async () => {
        const list = await cp.get<{ items: KubeObject[] }>(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dweb`);
        return list.items.length === 2 && list.items.every((p) => p.spec.nodeName === "node-a") ? list.items : undefined;
      },
      60_000,
    );
  }, 240_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await cp?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  let main: Awaited<ReturnType<typeof startNodetap>>;

  it("enriches the records of its node's pods with labels, selected annotations, workload, image, namespace and node labels", async () => {
    const tokenFile = path.join(work, "token-main");
    fs.writeFileSync(tokenFile, await cp.createToken(AGENT_NS, "nodetap", 3600));
    const webPods = (await cp.get<{ items: KubeObject[] }>(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dweb`)).items;
    for (const p of webPods) writeLog(p, "app", [`hello from ${p.metadata.name}`, "second line"]);
    const quiet = await pod("quiet");
    writeLog(quiet, "app", ["must not ship"]);
    const mixed = await pod("mixed");
    writeLog(mixed, "app", ["app line"]);
    writeLog(mixed, "sidecar", ["sidecar line"]);
    main = await startNodetap("main", { node: "node-a", tokenFile });
    await waitFor("the web pods' records", async () => main.records().length >= 5 || undefined, 30_000);
    const all = main.records();
    const rs = await kubectl(["get", "rs", "-n", NS, "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}"]);
    for (const p of webPods) {
      const mine = recordsOf(all, p.metadata.name);
      expect(mine.map((r) => r.message)).toEqual([`hello from ${p.metadata.name}`, "second line"]);
      expect(mine[0].kubernetes).toMatchObject({
        namespace: NS,
        pod_uid: p.metadata.uid,
        container_name: "app",
        container_image: "registry.local:5000/shop/web:1.2",
        pod_labels: { app: "web", "app.kubernetes.io/name": "web-shop", "pod-template-hash": expect.any(String) },
        pod_annotations: { "example.com/owner": "alice" },
        owner: { kind: "ReplicaSet", name: rs },
        workload: { kind: "Deployment", name: "web" },
        namespace_labels: { tier: "gold", "kubernetes.io/metadata.name": NS },
        node_labels: { "topology.kubernetes.io/zone": "zone-a", "node.kubernetes.io/instance-type": "m7.large" },
      });
    }
    // Exclusions: the whole "quiet" pod, and mixed's sidecar; both counted, nothing else lost.
    await waitFor("mixed's app line", async () => recordsOf(main.records(), "mixed").length === 1 || undefined, 10_000);
    expect(recordsOf(main.records(), "quiet")).toEqual([]);
    expect(recordsOf(main.records(), "mixed").map((r) => [r.kubernetes?.container_name, r.message])).toEqual([["app", "app line"]]);
    expect(await main.metric("nodetap_kubernetes_records_excluded_total", '{reason="pod"}')).toBe(1);
    expect(await main.metric("nodetap_kubernetes_records_excluded_total", '{reason="container"}')).toBe(1);
    expect(await main.metric("nodetap_kubernetes_records_without_metadata_total")).toBe(0);
  });

  it("watches only its own node's pods (field selector), and namespaces and its node, with list then watch", async () => {
    const st = (await main.status()).kubernetes!;
    expect(st.nodeName).toBe("node-a");
    // web x2, quiet, mixed: not "elsewhere" on node-b.
    expect(st.store.pods).toBe(4);
    expect(st.store.nodes).toBe(1);
    for (const r of ["pods", "namespaces", "nodes"]) expect(st.resources[r]).toMatchObject({ synced: true, up: true });
    // A watch is audited when its response starts (it completes only when it ends).
    const mine = cp
      .auditEvents()
      .filter(
        (e) => e.user.username === SA_USER && (e.stage === "ResponseComplete" || (e.verb === "watch" && e.stage === "ResponseStarted")),
      );
    const podCalls = mine.filter((e) => e.objectRef?.resource === "pods");
    expect(podCalls.length).toBeGreaterThan(0);
    for (const e of podCalls) expect(decodeURIComponent(e.requestURI)).toContain("fieldSelector=spec.nodeName=node-a");
    for (const e of mine.filter((x) => x.objectRef?.resource === "nodes"))
      expect(decodeURIComponent(e.requestURI)).toContain("fieldSelector=metadata.name=node-a");
    expect(new Set(mine.map((e) => e.verb))).toEqual(new Set(["list", "watch"]));
    expect(mine.every((e) => e.responseStatus?.code === 200)).toBe(true);
  });

  it("gives a pod created now its metadata (lines wait for it), and keeps a deleted pod's for its last lines", async () => {
    await cp.apply(`
apiVersion: v1
kind: Pod
metadata: { name: fresh, namespace: ${NS}, labels: { app: fresh } }
spec: { nodeName: node-a, containers: [{ name: app, image: fresh:1 }] }
`);
    const fresh = await pod("fresh");
    writeLog(fresh, "app", ["first words"]);
    await waitFor("fresh's record", async () => recordsOf(main.records(), "fresh").length === 1 || undefined, 15_000);
    expect(recordsOf(main.records(), "fresh")[0].kubernetes?.pod_labels).toEqual({ app: "fresh" });
    await kubectl(["delete", "pod", "fresh", "-n", NS, "--wait=true", "--grace-period=0", "--force"]);
    await waitFor("the deletion seen", async () => ((await main.status()).kubernetes!.store.deletedPods >= 1 ? true : undefined), 15_000);
    writeLog(fresh, "app", ["last words"]);
    await waitFor("fresh's last record", async () => recordsOf(main.records(), "fresh").length === 2 || undefined, 15_000);
    expect(recordsOf(main.records(), "fresh")[1]).toMatchObject({ message: "last words", kubernetes: { pod_labels: { app: "fresh" } } });
    expect(await main.metric("nodetap_kubernetes_records_enriched_total", '{state="deleted"}')).toBe(1);
    expect(await main.metric("nodetap_kubernetes_records_without_metadata_total")).toBe(0);
  });

  it("survives an API server restart after an etcd compaction: 410 Gone, a re-list, and new pods get their metadata", async () => {
    const before = await main.metric("nodetap_kubernetes_watch_restarts_total", '{resource="pods",reason="error"}');
    // A change the agent's watches do not see, then etcd compacted up to it: the resourceVersion the
    // agent resumes from after the restart is gone, and the API server answers 410 Gone.
    await kubectl(["create", "configmap", "compaction-marker", "-n", AGENT_NS]);
    const etcd = `http://127.0.0.1:${cp.ports.etcd}`;
    const range = await fetch(`${etcd}/v3/kv/range`, {
      method: "POST",
      body: JSON.stringify({ key: Buffer.from("/").toString("base64") }),
    });
    const revision = ((await range.json()) as { header: { revision: string } }).header.revision;
    const compacted = await fetch(`${etcd}/v3/kv/compaction`, { method: "POST", body: JSON.stringify({ revision, physical: true }) });
    expect(compacted.status).toBe(200);
    await cp.restartApiServer();
    await cp.apply(`
apiVersion: v1
kind: Pod
metadata: { name: after-restart, namespace: ${NS}, labels: { app: after } }
spec: { nodeName: node-a, containers: [{ name: app, image: after:1 }] }
`);
    const p = await pod("after-restart");
    writeLog(p, "app", ["after the restart"]);
    await waitFor("after-restart's record", async () => recordsOf(main.records(), "after-restart").length === 1 || undefined, 30_000);
    expect(recordsOf(main.records(), "after-restart")[0].kubernetes?.pod_labels).toEqual({ app: "after" });
    const st = (await main.status()).kubernetes!;
    for (const r of ["pods", "namespaces", "nodes"]) expect(st.resources[r]).toMatchObject({ synced: true, up: true });
    const restarts =
      (await main.metric("nodetap_kubernetes_watch_restarts_total", '{resource="pods",reason="error"}')) +
      (await main.metric("nodetap_kubernetes_watch_restarts_total", '{resource="pods",reason="end"}'));
    expect(restarts).toBeGreaterThan(before);
    let relists = 0;
    for (const r of ["pods", "namespaces", "nodes"])
      relists += await main.metric("nodetap_kubernetes_relists_total", `{resource="${r}",reason="410"}`);
    expect(relists, "a 410 Gone made the agent list again").toBeGreaterThan(0);
  });

  it("reports a token the API server rejects, ships logs with path metadata meanwhile, and recovers when the token file is rotated", async () => {
    const tokenFile = path.join(work, "token-rotated");
    // A token bound to a Secret that is then deleted: valid in form, refused (401) by the API server.
    await kubectl(["create", "secret", "generic", "binder", "-n", AGENT_NS]);
    const bound = await cp.kubectl([
      "create",
      "token",
      "nodetap",
      "-n",
      AGENT_NS,
      "--bound-object-kind=Secret",
      "--bound-object-name=binder",
    ]);
    await kubectl(["delete", "secret", "binder", "-n", AGENT_NS]);
    fs.writeFileSync(tokenFile, bound.stdout.trim());
    const b = await startNodetap("rotated", { node: "node-b", tokenFile });
    await waitFor(
      "the 401 in /status",
      async () => ((await b.status()).kubernetes!.resources.pods.lastError?.includes("401") ? true : undefined),
      20_000,
    );
    expect(await b.metric("nodetap_kubernetes_errors_total", '{resource="pods",reason="unauthorized"}')).toBeGreaterThan(0);
    const token = fs.readFileSync(tokenFile, "utf8");
    expect(JSON.stringify(await b.status())).not.toContain(token);
    expect(b.agent.stderr).not.toContain(token);
    // Logs flow meanwhile, with what the path says.
    const elsewhere = await pod("elsewhere");
    writeLog(elsewhere, "app", ["while unauthorized"]);
    await waitFor("the bare record", async () => recordsOf(b.records(), "elsewhere").length === 1 || undefined, 15_000);
    expect(recordsOf(b.records(), "elsewhere")[0].kubernetes?.pod_labels).toBeUndefined();
    // Every record it shipped so far went out with path metadata only, and was counted.
    expect(b.records().every((r) => r.kubernetes?.pod_labels === undefined)).toBe(true);
    expect(await b.metric("nodetap_kubernetes_records_without_metadata_total", '{reason="api_unavailable"}')).toBe(b.records().length);
    // The kubelet rotates the projected token: the file gets a valid one.
    fs.writeFileSync(tokenFile, await cp.createToken(AGENT_NS, "nodetap", 3600));
    await waitFor(
      "recovery",
      async () => {
        const st = (await b.status()).kubernetes!;
        return st.resources.pods.synced && st.resources.pods.up ? true : undefined;
      },
      30_000,
    );
    writeLog(elsewhere, "app", ["after rotation"]);
    await waitFor("the enriched record", async () => recordsOf(b.records(), "elsewhere").length === 2 || undefined, 15_000);
    expect(recordsOf(b.records(), "elsewhere")[1].kubernetes?.pod_labels).toEqual({ app: "elsewhere" });
    await b.agent.stop();
  });

  it("says clearly when RBAC is missing or the API server is unreachable, and loses no line", async () => {
    await kubectl(["create", "serviceaccount", "no-rbac", "-n", AGENT_NS]);
    const tokenFile = path.join(work, "token-norbac");
    fs.writeFileSync(tokenFile, await cp.createToken(AGENT_NS, "no-rbac", 3600));
    const denied = await startNodetap("norbac", { node: "node-b", tokenFile });
    const warn = await denied.agent.waitForLog(/lacks RBAC: list pods/, 20_000);
    expect(warn.msg).toMatch(/cannot list resource "pods"/);
    const st = (await denied.status()).kubernetes!;
    expect(st.resources.pods.lastError).toMatch(/403/);
    expect(st.resources.pods.up).toBe(false);
    expect(await denied.metric("nodetap_kubernetes_errors_total", '{resource="pods",reason="forbidden"}')).toBeGreaterThan(0);
    try {
      await waitFor("elsewhere's lines", async () => recordsOf(denied.records(), "elsewhere").length === 2 || undefined, 15_000);
    } catch (e) {
      throw new Error(`${String(e)}\nrecords: ${JSON.stringify(denied.records())}\n${denied.agent.describe()}`, { cause: e });
    }
    await denied.agent.stop();

    const closed = await freePort();
    const gone = await startNodetap("unreachable", { node: "node-b", tokenFile, apiServer: `https://127.0.0.1:${closed}` });
    await waitFor(
      "the connection error in /status",
      async () => ((await gone.status()).kubernetes!.resources.pods.lastError ?? "") !== "" || undefined,
      20_000,
    );
    expect(await gone.metric("nodetap_kubernetes_errors_total", '{resource="pods",reason="connection"}')).toBeGreaterThan(0);
    await waitFor("elsewhere's lines", async () => recordsOf(gone.records(), "elsewhere").length === 2 || undefined, 15_000);
    expect(await gone.metric("nodetap_kubernetes_up", '{resource="pods"}')).toBe(0);
    await gone.agent.stop();
  });
});
