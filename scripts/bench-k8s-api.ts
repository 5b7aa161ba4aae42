/**
 * API-server load and memory of pod metadata (issue 8, part 5), on a real control plane
 * (test/integration/k8s/harness: kube-apiserver, controllers, scheduler, etcd, kwok; built by
 * scripts/testenv-k8s.sh):
 *
 *   npm run bench:k8s-api                                   # 50 nodes, 5,000 pods, 120 s of churn
 *   npm run bench:k8s-api -- --nodes=20 --pods=1000 --churn=30 --rate=10
 *
 * 1. `--nodes` kwok nodes, `--namespaces` namespaces, `--pods` pods spread evenly over the nodes
 *    (bound by spec.nodeName; labels and an annotation of a usual size), created before the agents.
 * 2. Two agents for node-000, same config, the chart's ServiceAccount and RBAC: one with
 *    kubernetes.metadata on, one off. The difference in RSS is what the metadata costs.
 * 3. `--churn` seconds of pod churn: every second `--rate` pods deleted and as many created, on
 *    random nodes (about 1/nodes of it lands on node-000).
 * 4. From the API server's audit log (Metadata level): the requests the agent's ServiceAccount
 *    made, by verb and resource; from the agent's /metrics: watch events by resource and type, its
 *    store (objects, approximate bytes); from /proc: RSS of both agents.
 * Then extrapolates to `--target-nodes` x `--target-pods-per-node` (5,000 x 110) and prints a
 * Markdown report (also written to .bench/k8s-api.md).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startAgent, type AgentProcess } from "../test/helpers/agent-process.js";
import { getText } from "../test/helpers/http.js";
import { requireProgram } from "../test/helpers/test-programs.js";
import { ControlPlane, waitFor } from "../test/integration/k8s/harness/control-plane.js";
import { CHART } from "../test/packaging/tools.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name: string, fallback: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  const v = hit === undefined ? fallback : Number(hit.slice(name.length + 3));
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number >= 0`);
  return v;
};
const NODES = arg("nodes", 50);
const PODS = arg("pods", 5000);
const NAMESPACES = arg("namespaces", 20);
const CHURN_S = arg("churn", 120);
const RATE = arg("rate", 20);
const TARGET_NODES = arg("target-nodes", 5000);
const TARGET_PODS_PER_NODE = arg("target-pods-per-node", 110);
const CONCURRENCY = 16;
const AGENT_NS = "nodetap";
const SA_USER = `system:serviceaccount:${AGENT_NS}:nodetap`;
const NODE = "node-000";

const nodeName = (i: number) => `node-${String(i).padStart(3, "0")}`;
const nsName = (i: number) => `team-${String(i).padStart(2, "0")}`;

function podObject(i: number, node: string) {
  const ns = nsName(i % NAMESPACES);
  const app = `app-${i % 97}`;
  return {
    ns,
    body: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${app}-${i}`,
        namespace: ns,
        labels: {
          app,
          "app.kubernetes.io/name": app,
          "app.kubernetes.io/part-of": "bench",
          "pod-template-hash": "5d8f7c9b6d",
          tier: "web",
        },
        annotations: { "example.com/owner": `team-${i % 13}`, "prometheus.io/scrape": "true" },
      },
      spec: {
        nodeName: node,
        containers: [
          { name: "app", image: `registry.local:5000/bench/${app}:1.${i % 10}` },
          { name: "sidecar", image: "registry.local:5000/mesh/proxy:1.30.2" },
        ],
      },
    },
  };
}

async function inParallel<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
  return kb / 1024;
}

async function metricValues(agent: AgentProcess, name: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await getText(`${agent.url}/metrics`)).split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^(\S+?)(\{.*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? "", Number(m[3]));
  }
  return out;
}
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const started = Date.now();
  const cp = await ControlPlane.start();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-bench-k8s-"));
  const agents: AgentProcess[] = [];
  try {
    const rendered = spawnSync(
      requireProgram("helm"),
      ["template", "nodetap", CHART, "-n", AGENT_NS, "--show-only", "templates/serviceaccount.yaml", "--show-only", "templates/rbac.yaml"],
      { encoding: "utf8" },
    );
    if (rendered.status !== 0) throw new Error(rendered.stderr);
    await cp.kubectl(["create", "namespace", AGENT_NS]);
    await cp.apply(rendered.stdout);
    await cp.createKwokNodes(
      Array.from({ length: NODES }, (_, i) => ({ name: nodeName(i), labels: { "topology.kubernetes.io/zone": `z${i % 3}` } })),
      120_000,
    );
    for (let i = 0; i < NAMESPACES; i++)
      await cp.request("POST", "/api/v1/namespaces", { metadata: { name: nsName(i), labels: { team: nsName(i) } } });
    const t0 = Date.now();
    let created = 0;
    await inParallel(
      Array.from({ length: PODS }, (_, i) => i),
      async (i) => {
        const { ns, body } = podObject(i, nodeName(i % NODES));
        const r = await cp.request("POST", `/api/v1/namespaces/${ns}/pods`, body);
        if (r.status !== 201) throw new Error(`creating pod ${i}: ${r.status} ${r.body.slice(0, 300)}`);
        created++;
      },
    );
    const createS = (Date.now() - t0) / 1000;
    process.stderr.write(`${created} pods created in ${createS.toFixed(1)} s\n`);

    // Agents for node-000: metadata on and off, same everything else.
    const token = path.join(work, "token");
    fs.writeFileSync(token, await cp.createToken(AGENT_NS, "nodetap", 24 * 3600));
    const start = async (name: string, metadata: "on" | "off") => {
      const dir = path.join(work, name);
      fs.mkdirSync(path.join(dir, "pods"), { recursive: true });
      const config = path.join(dir, "config.yaml");
      fs.writeFileSync(
        config,
        [
          "logs:",
          `  sources: { pods: { include: ["${dir}/pods/*/*/*.log"] }, host: { enabled: false } }`,
          `  sink: { type: file, file: { path: "${dir}/out.ndjson" } }`,
          `  checkpoint: { dir: "${dir}/state" }`,
          "kubernetes:",
          `  metadata: ${metadata}`,
          `  apiServer: "${cp.server}"`,
          `  tokenFile: "${token}"`,
          `  caFile: "${cp.caFile}"`,
          `  nodeName: ${NODE}`,
        ].join("\n"),
      );
      const agent = await startAgent({ logs: true, runtime: "bundle", args: [`--config=${config}`] });
      agents.push(agent);
      return agent;
    };
    spawnSync("npm", ["run", "--silent", "prestart"], { cwd: REPO, stdio: "inherit" });
    const auditBefore = cp.auditEvents().length;
    const on = await start("metadata-on", "on");
    const off = await start("metadata-off", "off");
    await waitFor(
      "the agent's first lists",
      async () => sum(await metricValues(on, "nodetap_kubernetes_synced")) === 3 || undefined,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 10_000));
    const synced = {
      pods: (await metricValues(on, "nodetap_kubernetes_objects")).get('{resource="pods"}') ?? 0,
      storeBytes: sum(await metricValues(on, "nodetap_kubernetes_store_bytes")),
      rssOn: rssMiB(on.pid),
      rssOff: rssMiB(off.pid),
    };

    // Churn.
    const live = Array.from({ length: PODS }, (_, i) => i);
    let nextIndex = PODS;
    const eventsBefore = await metricValues(on, "nodetap_kubernetes_watch_events_total");
    const churnStart = Date.now();
    let churned = 0;
    while (Date.now() - churnStart < CHURN_S * 1000) {
      const tick = Date.now();
      const victims = Array.from({ length: RATE }, () => live.splice(Math.floor(Math.random() * live.length), 1)[0]);
      await inParallel(victims, async (i) => {
        const { ns, body } = podObject(i, "");
        await cp.request("DELETE", `/api/v1/namespaces/${ns}/pods/${body.metadata.name}?gracePeriodSeconds=0`);
      });
      const fresh = Array.from({ length: RATE }, () => nextIndex++);
      await inParallel(fresh, async (i) => {
        const { ns, body } = podObject(i, nodeName(Math.floor(Math.random() * NODES)));
        await cp.request("POST", `/api/v1/namespaces/${ns}/pods`, body);
        live.push(i);
      });
      churned += RATE;
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - tick))));
    }
    const churnS = (Date.now() - churnStart) / 1000;
    await new Promise((r) => setTimeout(r, 5000));
    const eventsAfter = await metricValues(on, "nodetap_kubernetes_watch_events_total");
    const events = new Map<string, number>();
    for (const [k, v] of eventsAfter) events.set(k, v - (eventsBefore.get(k) ?? 0));
    const after = {
      pods: (await metricValues(on, "nodetap_kubernetes_objects")).get('{resource="pods"}') ?? 0,
      storeBytes: sum(await metricValues(on, "nodetap_kubernetes_store_bytes")),
      rssOn: rssMiB(on.pid),
      rssOff: rssMiB(off.pid),
      hwmOn: Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${on.pid}/status`, "utf8"))?.[1] ?? NaN) / 1024,
    };

    const audit = cp.auditEvents().slice(auditBefore);
    const mine = audit.filter(
      (e) => e.user.username === SA_USER && (e.stage === "ResponseComplete" || (e.verb === "watch" && e.stage === "ResponseStarted")),
    );
    const byVerb = new Map<string, number>();
    for (const e of mine) {
      const key = `${e.verb} ${e.objectRef?.resource ?? "?"}`;
      byVerb.set(key, (byVerb.get(key) ?? 0) + 1);
    }
    const allRequests = audit.filter((e) => e.stage === "ResponseComplete" || (e.verb === "watch" && e.stage === "ResponseStarted")).length;

    // Extrapolation: one agent per node; its pods LIST/watch is per node (field selector), the
    // namespaces watch and its events are cluster-wide, its node watch per node.
    const podsPerNode = PODS / NODES;
    const bytesPerPod = synced.pods > 0 ? (synced.storeBytes - NAMESPACES * 200) / synced.pods : 0;
    const podEventsPerS =
      (events.get('{resource="pods",type="ADDED"}') ?? 0) +
      (events.get('{resource="pods",type="MODIFIED"}') ?? 0) +
      (events.get('{resource="pods",type="DELETED"}') ?? 0);
    const nodeEvents = sum(new Map([...events].filter(([k]) => k.includes('resource="nodes"'))));
    const fmt = (n: number, d = 1) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
    const lines = [
      `# Kubernetes API load of pod metadata (${new Date().toISOString().slice(0, 16).replace("T", " ")})`,
      "",
      `\`npm run bench:k8s-api -- --nodes=${NODES} --pods=${PODS} --namespaces=${NAMESPACES} --churn=${CHURN_S} --rate=${RATE}\` on ${os.cpus().length} cores, Node ${process.version} (the agent: the bundle \`npm start\` runs). Real kube-apiserver v1.34 + controllers + etcd, kwok nodes; ${created} pods created in ${fmt(createS)} s before the agents started.`,
      "",
      "| measure | value |",
      "|---|---|",
      `| pods on the agent's node (store, after the first list) | ${synced.pods} (${fmt(podsPerNode, 0)} per node on average) |`,
      `| store, approximate bytes (pods + ${NAMESPACES} namespaces + node) | ${fmt(synced.storeBytes / 1024)} KiB; ~${fmt(bytesPerPod, 0)} B per pod |`,
      `| RSS, metadata on / off (same config, after sync) | ${fmt(synced.rssOn)} / ${fmt(synced.rssOff)} MiB (+${fmt(synced.rssOn - synced.rssOff)}) |`,
      `| RSS after ${fmt(churnS, 0)} s of churn, on / off; peak (on) | ${fmt(after.rssOn)} / ${fmt(after.rssOff)} MiB; ${fmt(after.hwmOn)} MiB |`,
      `| requests by the agent (start + churn), from the audit log | ${[...byVerb].map(([k, v]) => `${k}: ${v}`).join(", ")} (of ${allRequests} requests by everyone) |`,
      `| churn, cluster-wide | ${churned} pods deleted and ${churned} created in ${fmt(churnS, 0)} s |`,
      `| watch events received during churn | ${[...events]
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k.replace(/[{}"]/g, "").replace("resource=", "").replace(",type=", " ")}: ${v}`)
        .join(", ")} |`,
      `| pod events per churned pod, node-000's share | ${fmt(podEventsPerS / Math.max(1, (2 * churned) / NODES), 2)} events per pod created or deleted on its node |`,
      "",
      `## Extrapolated to ${TARGET_NODES.toLocaleString("en-US")} nodes x ${TARGET_PODS_PER_NODE} pods`,
      "",
      `- Per agent at start: 3 LISTs (pods of its node: ${TARGET_PODS_PER_NODE} pods, one page; all namespaces; its node), then 3 watches. A rollout of the DaemonSet (maxUnavailable pods at a time) spreads the ${fmt(3 * TARGET_NODES, 0)} LISTs; with Kubernetes ≥ 1.31 a LIST without resourceVersion is served from the API server's watch cache (ConsistentListFromCache), not from etcd.`,
      `- Steady: each watch is re-opened every 5–10 min (random timeoutSeconds): 3 x ${TARGET_NODES.toLocaleString("en-US")} / 450 s ≈ ${fmt((3 * TARGET_NODES) / 450)} watch requests/s cluster-wide, each from the last resourceVersion (no LIST).`,
      `- Events: a pod event goes only to the agent of its node (field selector), so pod churn costs the API server one event per pod change, whatever the cluster size; namespace changes go to all ${TARGET_NODES.toLocaleString("en-US")} agents (rare); node updates (${nodeEvents} in ${fmt(churnS, 0)} s here under kwok) go to one agent each.`,
      `- Memory: ~${fmt(bytesPerPod, 0)} B per pod of the node in the store: ${fmt((bytesPerPod * TARGET_PODS_PER_NODE) / 1024)} KiB for ${TARGET_PODS_PER_NODE} pods; the whole process difference measured here was ${fmt(synced.rssOn - synced.rssOff)} MiB.`,
      "",
      `Whole run: ${fmt((Date.now() - started) / 1000, 0)} s.`,
    ];
    const report = lines.join("\n") + "\n";
    fs.mkdirSync(path.join(REPO, ".bench"), { recursive: true });
    fs.writeFileSync(path.join(REPO, ".bench", "k8s-api.md"), report);
    process.stdout.write(report);
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await cp.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
