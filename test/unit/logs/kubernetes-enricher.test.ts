import pino from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { NamespaceMetadata, NodeMetadata, PodMetadata } from "../../../agent/kubernetes/metadata.js";
import { makeRecord, type LogOrigin, type LogRecord } from "../../../agent/logs/record.js";
import { KubernetesEnricher, type PodMetadataSource } from "../../../agent/logs/transforms/kubernetes-enricher.js";

class FakeSource implements PodMetadataSource {
  pods = new Map<string, PodMetadata>();
  namespaces = new Map<string, NamespaceMetadata>();
  nodeMeta: NodeMetadata | undefined = { name: "node-1", labels: { "topology.kubernetes.io/zone": "z1" } };
  listed = true;
  up = true;
  private listeners: Array<(uid: string) => void> = [];
  pod(uid: string) {
    return this.pods.get(uid);
  }
  namespace(name: string) {
    return this.namespaces.get(name);
  }
  node() {
    return this.nodeMeta;
  }
  podsSynced() {
    return this.listed;
  }
  synced() {
    return this.listed;
  }
  podsAvailable() {
    return this.up;
  }
  onPodKnown(listener: (uid: string) => void) {
    this.listeners.push(listener);
    return () => (this.listeners = this.listeners.filter((l) => l !== listener));
  }
  add(pod: Partial<PodMetadata> & { uid: string }) {
    const full: PodMetadata = {
      namespace: "prod",
      name: "api-1",
      labels: { app: "api" },
      annotations: {},
      owner: { kind: "ReplicaSet", name: "api-7d9f" },
      workload: { kind: "Deployment", name: "api" },
      images: { api: "api:1.0", sidecar: "envoy:1.30" },
      nodeName: "node-1",
      deletedAt: undefined,
      ...pod,
    };
    this.pods.set(pod.uid, full);
    for (const l of this.listeners) l(pod.uid);
  }
}

function origin(uid: string, container = "api", namespace = "prod"): LogOrigin {
  return {
    source: "pods",
    file: `/var/log/pods/${namespace}_api-1_${uid}/${container}/0.log`,
    node: "node-1",
    kubernetes: { namespace, podName: "api-1", podUid: uid, containerName: container, restartCount: 0 },
  };
}

function setup(opts: { waitMs?: number; excludeNamespaces?: string[] } = {}) {
  const source = new FakeSource();
  const registry = new Registry();
  let clock = 1_000;
  const enricher = new KubernetesEnricher(source, {
    registry,
    logger: pino({ level: "silent" }),
    waitMs: opts.waitMs ?? 50,
    excludeNamespaces: opts.excludeNamespaces ?? [],
    now: () => clock,
  });
  const out: Array<{ records: LogRecord[]; lane: string }> = [];
  const acks: number[] = [];
  const submit = enricher.wrap((records, ticket, lane) => {
    out.push({ records, lane });
    ticket.ack(records.length);
  });
  const ticket = { ack: (n: number) => acks.push(n) };
  const send = (o: LogOrigin, lines: string[], lane = o.file!) =>
    submit(
      lines.map((m) => makeRecord("2024-05-01T10:00:00.000000000Z", "stdout", m, o)),
      ticket,
      lane,
    );
  const metric = async (name: string) => (await registry.getSingleMetric(name)!.get()).values;
  return { source, enricher, out, acks, send, metric, advance: (ms: number) => (clock += ms) };
}

describe("KubernetesEnricher", () => {
  it("adds the pod's metadata and reuses one enriched origin per file", () => {
    const t = setup();
    t.source.add({ uid: "u1" });
    t.source.namespaces.set("prod", { name: "prod", labels: { tier: "gold" } });
    const o = origin("u1");
    t.send(o, ["a", "b"]);
    t.send(o, ["c"]);
    const [first, second] = t.out;
    expect(first.records[0].origin.kubernetes?.api).toEqual({
      podLabels: { app: "api" },
      podAnnotations: {},
      owner: { kind: "ReplicaSet", name: "api-7d9f" },
      workload: { kind: "Deployment", name: "api" },
      containerImage: "api:1.0",
      namespaceLabels: { tier: "gold" },
      nodeLabels: { "topology.kubernetes.io/zone": "z1" },
    });
    expect(second.records[0].origin).toBe(first.records[0].origin);
    expect(first.records[1].origin).toBe(first.records[0].origin);
    // The path metadata stays as it was.
    expect(first.records[0].origin.kubernetes?.podName).toBe("api-1");
  });

  it("makes a new origin when the pod changes (label update)", () => {
    const t = setup();
    t.source.add({ uid: "u1" });
    const o = origin("u1");
    t.send(o, ["a"]);
    t.source.add({ uid: "u1", labels: { app: "api", version: "2" } });
    t.send(o, ["b"]);
    expect(t.out[1].records[0].origin).not.toBe(t.out[0].records[0].origin);
    expect(t.out[1].records[0].origin.kubernetes?.api?.podLabels).toEqual({ app: "api", version: "2" });
  });

  it("holds lines of an unknown pod until it is known, in order, and blocks reading that file meanwhile", async () => {
    const t = setup({ waitMs: 10_000 });
    const o = origin("u2");
    t.send(o, ["1", "2"]);
    t.send(o, ["3"]);
    expect(t.out).toHaveLength(0);
    expect(t.enricher.blocked(o.file!)).toBe(true);
    expect(t.enricher.blocked("other")).toBe(false);
    let room = 0;
    t.enricher.onRoom(() => room++);
    t.source.add({ uid: "u2" });
    await new Promise((r) => setImmediate(r));
    expect(t.out.flatMap((b) => b.records.map((r) => r.message))).toEqual(["1", "2", "3"]);
    expect(t.out.every((b) => b.records.every((r) => r.origin.kubernetes?.api !== undefined))).toBe(true);
    expect(t.enricher.blocked(o.file!)).toBe(false);
    expect(room).toBeGreaterThanOrEqual(1);
    expect(await t.metric("nodetap_kubernetes_records_delayed_total")).toEqual([expect.objectContaining({ value: 3 })]);
  });

  it("sends lines bare after waitForMetadata, counts them, and does not wait again for that pod", async () => {
    const t = setup({ waitMs: 20 });
    const o = origin("u3");
    t.send(o, ["1"]);
    t.advance(25);
    await new Promise((r) => setTimeout(r, 40));
    expect(t.out).toHaveLength(1);
    expect(t.out[0].records[0].origin.kubernetes?.api).toBeUndefined();
    t.send(o, ["2"]);
    expect(t.out).toHaveLength(2);
    const reasons = Object.fromEntries(
      (await t.metric("nodetap_kubernetes_records_without_metadata_total")).map((v) => [v.labels.reason, v.value]),
    );
    expect(reasons).toEqual({ wait_expired: 1, unknown_pod: 1 });
    // Once known, its lines are enriched again.
    t.source.add({ uid: "u3" });
    t.send(o, ["3"]);
    expect(t.out[2].records[0].origin.kubernetes?.api?.workload).toEqual({ kind: "Deployment", name: "api" });
  });

  it("does not wait while the API server is unhealthy", async () => {
    const t = setup({ waitMs: 10_000 });
    t.source.up = false;
    t.send(origin("u4"), ["1"]);
    expect(t.out).toHaveLength(1);
    expect((await t.metric("nodetap_kubernetes_records_without_metadata_total"))[0]).toMatchObject({
      labels: { reason: "api_unavailable" },
      value: 1,
    });
  });

  it("excludes by namespace, pod annotation and container annotation, acknowledging what it drops", async () => {
    const t = setup({ excludeNamespaces: ["noisy"] });
    t.source.add({ uid: "p", annotations: { "nodetap.io/exclude": "true" } });
    t.source.add({ uid: "c", annotations: { "nodetap.io/exclude-containers": "sidecar, istio-proxy" } });
    t.send(origin("n", "api", "noisy"), ["1", "2"]);
    t.send(origin("p"), ["3"]);
    t.send(origin("c", "sidecar"), ["4"]);
    t.send(origin("c", "api"), ["5"]);
    expect(t.out.flatMap((b) => b.records.map((r) => r.message))).toEqual(["5"]);
    expect(t.acks).toEqual([2, 1, 1, 1]);
    const reasons = Object.fromEntries(
      (await t.metric("nodetap_kubernetes_records_excluded_total")).map((v) => [v.labels.reason, v.value]),
    );
    expect(reasons).toEqual({ namespace: 2, pod: 1, container: 1 });
    // nodetap's own annotations are not shipped.
    expect(t.out[0].records[0].origin.kubernetes?.api?.podAnnotations).toEqual({});
  });

  it("keeps the rest of a mixed emission and acknowledges the excluded part", () => {
    const t = setup({ excludeNamespaces: ["noisy"] });
    t.source.add({ uid: "u1" });
    const keep = origin("u1");
    const drop = origin("n", "api", "noisy");
    const records = [
      makeRecord("2024-05-01T10:00:00.000000000Z", "stdout", "a", keep),
      makeRecord("2024-05-01T10:00:00.000000000Z", "stdout", "b", drop),
      makeRecord("2024-05-01T10:00:00.000000000Z", "stdout", "c", keep),
    ];
    const acks: number[] = [];
    const out: string[] = [];
    const enr = t.enricher.wrap((rs, ticket) => {
      out.push(...rs.map((r) => r.message));
      ticket.ack(rs.length);
    });
    enr(records, { ack: (n) => acks.push(n) }, "lane");
    expect(out).toEqual(["a", "c"]);
    expect(acks.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it("counts records of a deleted pod kept for its last lines", async () => {
    const t = setup();
    t.source.add({ uid: "d", deletedAt: 5 });
    t.send(origin("d"), ["last"]);
    expect(t.out[0].records[0].origin.kubernetes?.api).toBeDefined();
    expect((await t.metric("nodetap_kubernetes_records_enriched_total"))[0]).toMatchObject({ labels: { state: "deleted" }, value: 1 });
  });

  it("releases everything held at stop, with path metadata", () => {
    const t = setup({ waitMs: 60_000 });
    t.send(origin("u9"), ["x"]);
    expect(t.out).toHaveLength(0);
    t.enricher.stop();
    expect(t.out).toHaveLength(1);
    expect(t.enricher.status()).toEqual({ waitingPods: 0, waitingRecords: 0, podsGivenUp: 0 });
  });

  it("keeps files unread at start until the first lists are done, for at most waitForMetadata", async () => {
    const t = setup({ waitMs: 10_000 });
    t.source.listed = false;
    const fresh = new KubernetesEnricher(t.source, {
      registry: new Registry(),
      logger: pino({ level: "silent" }),
      waitMs: 10_000,
      excludeNamespaces: [],
    });
    let woken = 0;
    fresh.onRoom(() => woken++);
    expect(fresh.blocked("any-file")).toBe(true);
    t.source.listed = true;
    await new Promise((r) => setTimeout(r, 120));
    expect(woken).toBeGreaterThan(0);
    expect(fresh.blocked("any-file")).toBe(false);
    // An API server that fails does not hold reading at all.
    t.source.listed = false;
    t.source.up = false;
    const failing = new KubernetesEnricher(t.source, {
      registry: new Registry(),
      logger: pino({ level: "silent" }),
      waitMs: 10_000,
      excludeNamespaces: [],
    });
    expect(failing.blocked("any-file")).toBe(false);
    fresh.stop();
    failing.stop();
  });

  it("does not stall when the wall clock steps back (the wait runs on a monotonic clock)", async () => {
    const source = new FakeSource();
    const enricher = new KubernetesEnricher(source, {
      registry: new Registry(),
      logger: pino({ level: "silent" }),
      waitMs: 50,
      excludeNamespaces: [],
    });
    const out: LogRecord[] = [];
    const submit = enricher.wrap((records, ticket) => {
      out.push(...records);
      ticket.ack(records.length);
    });
    const realNow = Date.now;
    Date.now = () => realNow() - 3_600_000;
    try {
      submit([makeRecord("2024-05-01T10:00:00.000000000Z", "stdout", "x", origin("late"))], { ack: () => undefined }, "lane");
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      Date.now = realNow;
    }
    expect(out.map((r) => r.message)).toEqual(["x"]);
    enricher.stop();
  });

  it("passes records without Kubernetes metadata straight on", () => {
    const t = setup({ waitMs: 60_000 });
    t.send({ source: "journald", node: "n" }, ["j"], "journald");
    expect(t.out).toHaveLength(1);
  });
});
