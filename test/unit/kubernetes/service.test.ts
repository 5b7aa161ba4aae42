import fs from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { answer, makeSelfSignedCert, namespaceObj, pod, waitFor, type TlsFiles } from "./fake-api-server.js";
import { NAMESPACES, NODES, PODS, startHarness, type Harness } from "./harness.js";

let tls: TlsFiles;
let other: TlsFiles;
let h: Harness | undefined;

beforeAll(() => {
  tls = makeSelfSignedCert();
  other = makeSelfSignedCert();
});
afterAll(() => {
  fs.rmSync(tls.dir, { recursive: true, force: true });
  fs.rmSync(other.dir, { recursive: true, force: true });
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("KubernetesMetadata", () => {
  it("serves pods, namespaces and the node; status and metrics tell the state", async () => {
    h = await startHarness(tls, { config: { annotations: ["example.com/*"], nodeLabels: ["topology.kubernetes.io/zone"] } });
    h.fake.push(
      PODS,
      answer.list(
        [
          pod({
            uid: "u1",
            name: "web-6c8-x",
            namespace: "shop",
            labels: { "pod-template-hash": "6c8" },
            owner: { kind: "ReplicaSet", name: "web-6c8" },
            annotations: { "example.com/team": "t" },
          }),
        ],
        "100",
      ),
    );
    h.fake.push(NAMESPACES, answer.list([namespaceObj("shop", "3", { env: "prod" })], "40"));
    h.fake.push(
      NODES,
      answer.list(
        [{ kind: "Node", metadata: { name: "node-a", labels: { "topology.kubernetes.io/zone": "z1", "kubernetes.io/os": "linux" } } }],
        "9",
      ),
    );
    await waitFor("healthy", () => h!.km.healthy());
    expect(h.km.pod("u1")).toMatchObject({
      name: "web-6c8-x",
      workload: { kind: "Deployment", name: "web" },
      annotations: { "example.com/team": "t" },
    });
    expect(h.km.namespace("shop")).toEqual({ name: "shop", labels: { env: "prod" } });
    expect(h.km.node()).toEqual({ name: "node-a", labels: { "topology.kubernetes.io/zone": "z1" } });
    const status = h.km.status();
    expect(status).toMatchObject({
      apiServer: h.fake.url,
      nodeName: "node-a",
      started: true,
      store: { pods: 1, deletedPods: 0, namespaces: 1, nodes: 1 },
      resources: {
        pods: { synced: true, up: true, resourceVersion: "100", objects: 1, relists: 0, lastError: undefined },
        namespaces: { synced: true, resourceVersion: "40", objects: 1 },
        nodes: { synced: true, resourceVersion: "9", objects: 1 },
      },
    });
    expect(status.store.approxBytes).toBeGreaterThan(200);
    expect(status.generation).toBe(h.km.generation);
    expect(JSON.stringify(status)).not.toContain("token-1");

    const text = await h.registry.metrics();
    for (const name of [
      "nodetap_kubernetes_requests_total",
      "nodetap_kubernetes_watch_events_total",
      "nodetap_kubernetes_relists_total",
      "nodetap_kubernetes_errors_total",
      "nodetap_kubernetes_watch_restarts_total",
      "nodetap_kubernetes_objects",
      "nodetap_kubernetes_up",
      "nodetap_kubernetes_synced",
      "nodetap_kubernetes_last_sync_timestamp_seconds",
      "nodetap_kubernetes_store_bytes",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain('nodetap_kubernetes_objects{resource="pods"} 1');
    expect(text).toContain('nodetap_kubernetes_objects{resource="namespaces"} 1');
    expect(text).toMatch(/nodetap_kubernetes_store_bytes [1-9]\d+/);
  });

  it("keeps nodetap's exclusion annotations whatever kubernetes.annotations says", async () => {
    h = await startHarness(tls);
    h.fake.push(
      PODS,
      answer.list(
        [
          pod({
            uid: "u1",
            name: "noisy",
            annotations: { "nodetap.io/exclude": "true", "nodetap.io/exclude-containers": "a,b", "example.com/team": "t" },
          }),
        ],
        "5",
      ),
    );
    await waitFor("pods synced", () => h!.km.podsSynced());
    expect(h.km.pod("u1")?.annotations).toEqual({ "nodetap.io/exclude": "true", "nodetap.io/exclude-containers": "a,b" });
  });

  it("stop() ends the watches promptly and closes the connections", async () => {
    h = await startHarness(tls);
    await waitFor("three watches", () => h!.fake.watches.length === 3);
    const t0 = Date.now();
    await h.km.stop();
    expect(Date.now() - t0).toBeLessThan(1_000);
    const requests = h.fake.requests.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(h.fake.requests.length).toBe(requests);
  });

  it("reports a certificate the CA file does not sign as a tls error", async () => {
    h = await startHarness(tls, { config: { caFile: other.cert } });
    await waitFor("a failure", () => h!.km.status().resources.pods.failures > 0);
    expect(h.km.status().resources.pods.lastError).toMatch(
      /^TLS with https:\/\/127\.0\.0\.1:\d+ failed \(\w+\): .*; check kubernetes.caFile$/,
    );
    expect(await h.metric("nodetap_kubernetes_errors_total", { resource: "pods", reason: "tls" })).toBeGreaterThanOrEqual(1);
  });

  it("times out a silent watch and watches again from the last resourceVersion", async () => {
    h = await startHarness(tls, { tuning: { watchTimeoutSeconds: [0, 0], watchIdleMarginMs: 100 } });
    h.fake.push(PODS, answer.list([], "77"));
    await waitFor("a second pods watch", () => h!.fake.requestsTo(PODS, true).length >= 2);
    expect(h.fake.requestsTo(PODS, true)[1].query.get("resourceVersion")).toBe("77");
    expect(h.km.status().resources.pods.lastError).toBe("the watch was silent for 100 ms");
    expect(await h.metric("nodetap_kubernetes_errors_total", { resource: "pods", reason: "timeout" })).toBeGreaterThanOrEqual(1);
  });
});
