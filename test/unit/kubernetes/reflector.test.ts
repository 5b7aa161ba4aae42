import fs from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  answer,
  bookmark,
  makeSelfSignedCert,
  namespaceObj,
  pod,
  sendJson,
  statusBody,
  waitFor,
  type TlsFiles,
} from "./fake-api-server.js";
import { NAMESPACES, NODES, PODS, startHarness, type Harness } from "./harness.js";

let tls: TlsFiles;
let h: Harness | undefined;

beforeAll(() => {
  tls = makeSelfSignedCert();
});
afterAll(() => fs.rmSync(tls.dir, { recursive: true, force: true }));
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const podA = pod({ uid: "uid-a", name: "a", rv: "10" });
const podB = pod({ uid: "uid-b", name: "b", rv: "11" });
const podC = pod({ uid: "uid-c", name: "c", rv: "12" });

describe("LIST and WATCH", () => {
  it("lists in pages, sends the field selectors, then watches from the list's resourceVersion", async () => {
    h = await startHarness(tls, { tuning: { pageSize: 2 }, start: false });
    h.fake.push(PODS, answer.list([podA, podB], "", "page-2"), answer.list([podC], "100"));
    h.fake.push(
      NODES,
      answer.list([{ kind: "Node", metadata: { name: "node-a", uid: "n", labels: { "kubernetes.io/os": "linux" } } }], "7"),
    );
    expect(h.km.podsSynced()).toBe(false);
    h.km.start();
    await waitFor("the pods watch", () => h!.fake.requestsTo(PODS, true).length === 1);

    const [first, second] = h.fake.requestsTo(PODS, false);
    expect(first.query.get("fieldSelector")).toBe("spec.nodeName=node-a");
    expect(first.query.get("limit")).toBe("2");
    // The first LIST asks for any version (the API server's watch cache), as client-go does.
    expect(first.query.get("resourceVersion")).toBe("0");
    expect(first.query.has("continue")).toBe(false);
    expect(second.query.has("resourceVersion")).toBe(false);
    expect(second.query.get("continue")).toBe("page-2");
    expect(second.query.get("fieldSelector")).toBe("spec.nodeName=node-a");
    const watch = h.fake.requestsTo(PODS, true)[0];
    expect(watch.query.get("resourceVersion")).toBe("100");
    expect(watch.query.get("allowWatchBookmarks")).toBe("true");
    expect(watch.query.get("fieldSelector")).toBe("spec.nodeName=node-a");
    expect(Number(watch.query.get("timeoutSeconds"))).toBeGreaterThanOrEqual(300);
    expect(Number(watch.query.get("timeoutSeconds"))).toBeLessThanOrEqual(600);
    expect(watch.authorization).toBe("Bearer token-1");

    await waitFor("the nodes watch", () => h!.fake.requestsTo(NODES, true).length === 1);
    expect(h.fake.requestsTo(NODES, false)[0].query.get("fieldSelector")).toBe("metadata.name=node-a");
    expect(h.fake.requestsTo(NODES, true)[0].query.get("fieldSelector")).toBe("metadata.name=node-a");
    expect(h.fake.requestsTo(NAMESPACES, false)[0].query.has("fieldSelector")).toBe(false);

    expect(h.km.podsSynced()).toBe(true);
    expect(["uid-a", "uid-b", "uid-c"].map((u) => h!.km.pod(u)?.name)).toEqual(["a", "b", "c"]);
    expect(h.km.node()).toEqual({ name: "node-a", labels: { "kubernetes.io/os": "linux" } });
    expect(h.km.status().resources.pods).toMatchObject({ synced: true, up: true, resourceVersion: "100", objects: 3, relists: 0 });
    expect(await h.metric("nodetap_kubernetes_requests_total", { resource: "pods", verb: "list", code: "200" })).toBe(2);
    expect(await h.metric("nodetap_kubernetes_synced", { resource: "pods" })).toBe(1);
  });

  it("applies ADDED, MODIFIED and DELETED events to the store", async () => {
    h = await startHarness(tls, { config: { deletedPodRetention: 0.1 } });
    await waitFor("the pods watch", () => h!.fake.watches.some((w) => w.request.path === PODS));
    const known: string[] = [];
    h.km.onPodKnown((uid) => known.push(uid));
    const w = h.fake.lastWatch(PODS);
    const gen0 = h.km.generation;

    w.event("ADDED", pod({ uid: "uid-x", name: "x", rv: "20", labels: { app: "x" } }));
    await waitFor("ADDED", () => h!.km.pod("uid-x") !== undefined);
    expect(h.km.pod("uid-x")?.labels).toEqual({ app: "x" });
    expect(known).toEqual(["uid-x"]);
    expect(h.km.generation).toBeGreaterThan(gen0);

    w.event("MODIFIED", pod({ uid: "uid-x", name: "x", rv: "21", labels: { app: "x", tier: "web" } }));
    await waitFor("MODIFIED", () => h!.km.pod("uid-x")?.labels.tier === "web");
    expect(known).toEqual(["uid-x", "uid-x"]);

    // A status-only update changes nothing kept: no new generation, no listener call.
    const gen1 = h.km.generation;
    const statusOnly = pod({ uid: "uid-x", name: "x", rv: "22", labels: { app: "x", tier: "web" } });
    (statusOnly.status as Record<string, unknown>).phase = "Succeeded";
    w.event("MODIFIED", statusOnly);
    await waitFor("rv 22", () => h!.km.status().resources.pods.resourceVersion === "22");
    expect(h.km.generation).toBe(gen1);
    expect(known).toHaveLength(2);

    w.event("DELETED", pod({ uid: "uid-x", name: "x", rv: "23", labels: { app: "x", tier: "web" } }));
    await waitFor("DELETED", () => h!.km.pod("uid-x")?.deletedAt !== undefined);
    expect(h.km.status().store.deletedPods).toBe(1);
    await waitFor("retention to run out", () => h!.km.pod("uid-x") === undefined, 2_000);
    expect(h.km.status().store.pods).toBe(0);
    for (const type of ["ADDED", "MODIFIED", "DELETED"]) {
      expect(await h.metric("nodetap_kubernetes_watch_events_total", { resource: "pods", type })).toBe(type === "MODIFIED" ? 2 : 1);
    }
  });

  it("advances the resourceVersion on BOOKMARK and re-watches from it when the watch ends", async () => {
    h = await startHarness(tls);
    h.fake.push(PODS, answer.list([podA], "100"), answer.watchThenEnd(["BOOKMARK", bookmark("Pod", "250")]));
    await waitFor("the second pods watch", () => h!.fake.requestsTo(PODS, true).length === 2);
    const [w1, w2] = h.fake.requestsTo(PODS, true);
    expect(w1.query.get("resourceVersion")).toBe("100");
    expect(w2.query.get("resourceVersion")).toBe("250");
    expect(h.fake.requestsTo(PODS, false)).toHaveLength(1);
    expect(h.km.status().resources.pods.resourceVersion).toBe("250");
    expect(h.km.pod("uid-a")?.name).toBe("a");
    expect(await h.metric("nodetap_kubernetes_watch_events_total", { resource: "pods", type: "BOOKMARK" })).toBe(1);
    expect(await h.metric("nodetap_kubernetes_watch_restarts_total", { resource: "pods", reason: "end" })).toBe(1);
    expect(await h.metric("nodetap_kubernetes_last_sync_timestamp_seconds", { resource: "pods" })).toBeGreaterThan(Date.now() / 1000 - 60);
  });
});

describe("a watch that ends at once", () => {
  it("counts as a failure and backs off instead of re-opening in a tight loop", async () => {
    h = await startHarness(tls);
    h.fake.push(PODS, answer.list([podA], "100"), answer.watchThenEnd(), answer.watchThenEnd(), answer.watchThenEnd());
    await waitFor("the fourth pods watch", () => h!.fake.requestsTo(PODS, true).length >= 4);
    expect(h.delays.slice(0, 3)).toEqual([10, 20, 40]);
  });
});

describe("410 Gone", () => {
  it("re-lists after an ERROR event with code 410 and marks the pods gone meanwhile deleted", async () => {
    h = await startHarness(tls);
    h.fake.push(
      PODS,
      answer.list([podA, podB], "100"),
      answer.watchThenEnd(["ERROR", statusBody(410, "Expired", "too old resource version: 100 (300)")]),
      answer.list([podA], "300"),
    );
    await waitFor("the watch after the re-list", () => h!.fake.requestsTo(PODS, true).length === 2);
    expect(h.fake.requestsTo(PODS, false)).toHaveLength(2);
    // After 410 the LIST is a consistent read (no resourceVersion), sure to be newer than what expired.
    expect(h.fake.requestsTo(PODS, false)[1].query.has("resourceVersion")).toBe(false);
    expect(h.fake.requestsTo(PODS, true)[1].query.get("resourceVersion")).toBe("300");
    expect(h.km.pod("uid-a")?.deletedAt).toBeUndefined();
    expect(h.km.pod("uid-b")?.deletedAt).toEqual(expect.any(Number));
    const s = h.km.status().resources.pods;
    expect(s).toMatchObject({ relists: 1, resourceVersion: "300", up: true });
    expect(s.lastError).toBe("watch ERROR event 410 Expired: too old resource version: 100 (300)");
    expect(await h.metric("nodetap_kubernetes_relists_total", { resource: "pods", reason: "410" })).toBe(1);
    expect(await h.metric("nodetap_kubernetes_watch_events_total", { resource: "pods", type: "ERROR" })).toBe(1);
    expect(await h.metric("nodetap_kubernetes_errors_total", { resource: "pods", reason: "gone" })).toBe(1);
    expect(h.delays).toEqual([]); // the first 410 re-lists at once
  });

  it("re-lists after an HTTP 410 answer to the watch and removes namespaces gone meanwhile", async () => {
    h = await startHarness(tls);
    h.fake.push(
      NAMESPACES,
      answer.list([namespaceObj("keep", "5", { team: "a" }), namespaceObj("gone", "6")], "50"),
      answer.status(410, "Gone", "too old resource version"),
      answer.list([namespaceObj("keep", "5", { team: "b" })], "80"),
    );
    await waitFor("the watch after the re-list", () => h!.fake.requestsTo(NAMESPACES, true).length === 2);
    expect(h.km.namespace("gone")).toBeUndefined();
    expect(h.km.namespace("keep")).toEqual({ name: "keep", labels: { team: "b" } });
    expect(h.fake.requestsTo(NAMESPACES, true)[1].query.get("resourceVersion")).toBe("80");
    expect(await h.metric("nodetap_kubernetes_relists_total", { resource: "namespaces", reason: "410" })).toBe(1);
    expect(await h.metric("nodetap_kubernetes_requests_total", { resource: "namespaces", verb: "watch", code: "410" })).toBe(1);
  });

  it("backs off when 410 comes again right after the re-list", async () => {
    h = await startHarness(tls);
    const gone = answer.status(410, "Gone", "too old resource version");
    h.fake.push(PODS, answer.list([], "1"), gone, answer.list([], "2"), gone, answer.list([], "3"));
    await waitFor("the watch after two re-lists", () => h!.fake.requestsTo(PODS, true).length === 3);
    expect(h.delays).toEqual([10]);
  });
});

describe("failures and backoff", () => {
  it("backs off doubling up to the max on resets and 500s, and starts over after a success", async () => {
    h = await startHarness(tls);
    h.fake.push(
      PODS,
      answer.reset(),
      answer.status(500, "InternalError", "etcdserver: request timed out"),
      answer.status(500, "InternalError", "etcdserver: request timed out"),
      answer.status(500, "InternalError", "etcdserver: request timed out"),
      answer.status(500, "InternalError", "etcdserver: request timed out"),
      answer.list([podA], "100"),
      answer.status(500, "InternalError", "etcdserver: request timed out"),
    );
    await waitFor("the second pods watch", () => h!.fake.requestsTo(PODS, true).length === 2);
    expect(h.delays).toEqual([10, 20, 40, 80, 80, 10]);
    expect(h.km.podsSynced()).toBe(true);
    // (What the second watch does next is the fake's fallback: not asserted here.)
    expect(await h.metric("nodetap_kubernetes_errors_total", { resource: "pods", reason: "connection" })).toBe(1);
    expect(await h.metric("nodetap_kubernetes_errors_total", { resource: "pods", reason: "server_error" })).toBe(5);
    expect(await h.metric("nodetap_kubernetes_requests_total", { resource: "pods", verb: "list", code: "500" })).toBe(4);
    expect(await h.metric("nodetap_kubernetes_requests_total", { resource: "pods", verb: "watch", code: "500" })).toBe(1);
    expect(await h.metric("nodetap_kubernetes_watch_restarts_total", { resource: "pods", reason: "error" })).toBe(1);

    // One warn line per change of state, not one per retry; one info line per recovery.
    const warns = h.logs.filter((l) => l.level === 40 && l.resource === "pods").map((l) => l.msg);
    expect(warns).toHaveLength(3);
    expect(warns[0]).toMatch(
      /^kubernetes: the API server is unreachable \(list pods .*\): connection to https:\/\/127\.0\.0\.1:\d+ failed: .*; retrying in 10ms, backoff doubling up to 80ms$/,
    );
    expect(warns[1]).toContain(
      "list pods (cluster scope, fieldSelector spec.nodeName=node-a) failed: HTTP 500 Internal Server Error: etcdserver",
    );
    expect(warns[2]).toContain("watch pods");
    // The watch's recovery is logged when the second watch delivers its first event, which can
    // come a moment after its request (the wait above).
    const recoveries = () => h!.logs.filter((l) => l.level === 30 && l.resource === "pods").map((l) => l.msg);
    await waitFor("the watch's recovery line", () => recoveries().length >= 2);
    const recovered = recoveries();
    expect(recovered).toEqual([
      "kubernetes: list pods works again after 5 failed tries (last: server_error)",
      "kubernetes: watch pods works again after 1 failed try (last: server_error)",
    ]);
  });

  it("on 403 says so in status, metrics and the log, and keeps retrying", async () => {
    h = await startHarness(tls, { start: false });
    const rbac =
      'pods is forbidden: User "system:serviceaccount:nodetap:nodetap" cannot list resource "pods" in API group "" at the cluster scope';
    let forbid = true;
    const base = h.fake.fallback;
    h.fake.fallback = (x) => {
      if (forbid && x.request.path === PODS) sendJson(x.res, 403, statusBody(403, "Forbidden", rbac));
      else base(x);
    };
    h.km.start();
    await waitFor("three pods LISTs", () => h!.fake.requestsTo(PODS).length >= 3);
    const s = h.km.status().resources.pods;
    expect(s.lastError).toBe(`HTTP 403 Forbidden: ${rbac}`);
    expect(s.up).toBe(false);
    expect(s.synced).toBe(false);
    expect(s.failures).toBeGreaterThanOrEqual(2);
    expect(h.km.healthy()).toBe(false);
    expect(await h.metric("nodetap_kubernetes_errors_total", { resource: "pods", reason: "forbidden" })).toBeGreaterThanOrEqual(2);
    expect(await h.metric("nodetap_kubernetes_requests_total", { resource: "pods", verb: "list", code: "403" })).toBeGreaterThanOrEqual(2);
    expect(await h.metric("nodetap_kubernetes_up", { resource: "pods" })).toBe(0);
    const warns = h.logs.filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    expect(warns[0].msg).toContain(
      "the ServiceAccount lacks RBAC: list pods (cluster scope, fieldSelector spec.nodeName=node-a) is forbidden",
    );
    expect(warns[0].msg).toContain(rbac);
    expect(warns[0]).toMatchObject({ resource: "pods", verb: "list", reason: "forbidden", status: 403 });

    forbid = false;
    await waitFor("pods synced", () => h!.km.podsSynced());
    await waitFor("healthy", () => h!.km.healthy());
    expect(h.logs.filter((l) => l.level === 30).map((l) => l.msg)).toEqual([
      expect.stringMatching(/^kubernetes: list pods works again after \d+ failed tries \(last: forbidden\)$/),
    ]);
    expect(await h.metric("nodetap_kubernetes_up", { resource: "pods" })).toBe(1);
  });

  it("on 401 re-reads the token file and uses the rewritten token; the token shows nowhere", async () => {
    h = await startHarness(tls, { start: false, tuning: { tokenCheckIntervalMs: 60_000 } });
    fs.writeFileSync(h.tokenFile, "token-old-secret\n");
    const base = h.fake.fallback;
    let rejected = 0;
    h.fake.fallback = (x) => {
      if (x.request.path === PODS && x.request.authorization !== "Bearer token-new-secret") {
        rejected++;
        sendJson(x.res, 401, statusBody(401, "Unauthorized", "Unauthorized"));
        // The kubelet rotates the token after the second rejection.
        if (rejected === 2) fs.writeFileSync(h!.tokenFile, "token-new-secret\n");
      } else base(x);
    };
    h.km.start();
    await waitFor("pods synced", () => h!.km.podsSynced());
    const auth = h.fake.requestsTo(PODS).map((r) => r.authorization);
    expect(auth.slice(0, 3)).toEqual(["Bearer token-old-secret", "Bearer token-old-secret", "Bearer token-new-secret"]);
    expect(auth.every((a) => a === "Bearer token-old-secret" || a === "Bearer token-new-secret")).toBe(true);
    expect(h.km.status().resources.pods.lastError).toBe("HTTP 401 Unauthorized: the token in the token file was rejected");
    expect(await h.metric("nodetap_kubernetes_errors_total", { resource: "pods", reason: "unauthorized" })).toBe(1);
    expect(h.logs.find((l) => l.level === 40)?.msg).toContain(`the API server rejects the token from ${h.tokenFile}`);

    const shown = JSON.stringify(h.km.status()) + JSON.stringify(h.logs) + (await h.registry.metrics());
    expect(shown).not.toContain("secret");
  });
});
