import { describe, expect, it } from "vitest";
import { KeySelector } from "../../../agent/kubernetes/selector.js";
import { EXCLUDE_ANNOTATION, EXCLUDE_CONTAINERS_ANNOTATION } from "../../../agent/kubernetes/settings.js";
import { estimateBytes, slimNamespace, slimNode, slimPod } from "../../../agent/kubernetes/slim.js";
import { controllerOf, workloadOf } from "../../../agent/kubernetes/workload.js";
import { pod } from "./fake-api-server.js";

const annotations = (entries: string[]) => new KeySelector([...entries, EXCLUDE_ANNOTATION, EXCLUDE_CONTAINERS_ANNOTATION]);
const none = annotations([]);

function workload(owner: { kind: string; name: string; apiVersion?: string } | undefined, labels: Record<string, string> = {}) {
  return slimPod(pod({ uid: "u", name: "p", owner, labels }), none)?.workload;
}

describe("workload derivation", () => {
  it("ReplicaSet → Deployment when pod-template-hash ends the ReplicaSet's name", () => {
    expect(workload({ kind: "ReplicaSet", name: "web-api-7d9f8c6b5" }, { "pod-template-hash": "7d9f8c6b5" })).toEqual({
      kind: "Deployment",
      name: "web-api",
    });
  });

  it("a ReplicaSet without the matching hash stays a ReplicaSet", () => {
    expect(workload({ kind: "ReplicaSet", name: "web-7d9f8" })).toEqual({ kind: "ReplicaSet", name: "web-7d9f8" });
    expect(workload({ kind: "ReplicaSet", name: "web-7d9f8" }, { "pod-template-hash": "abcde" })).toEqual({
      kind: "ReplicaSet",
      name: "web-7d9f8",
    });
    // Argo Rollouts' ReplicaSets label rollouts-pod-template-hash, not pod-template-hash.
    expect(workload({ kind: "ReplicaSet", name: "web-7d9f8" }, { "rollouts-pod-template-hash": "7d9f8" })).toEqual({
      kind: "ReplicaSet",
      name: "web-7d9f8",
    });
    // The hash alone is not a name.
    expect(workload({ kind: "ReplicaSet", name: "-7d9f8" }, { "pod-template-hash": "7d9f8" })).toEqual({
      kind: "ReplicaSet",
      name: "-7d9f8",
    });
    // A ReplicaSet kind of another API group.
    expect(workload({ kind: "ReplicaSet", name: "web-7d9f8", apiVersion: "example.com/v1" }, { "pod-template-hash": "7d9f8" })).toEqual({
      kind: "ReplicaSet",
      name: "web-7d9f8",
    });
  });

  it("StatefulSet, DaemonSet and a static pod's Node are the workload as they are", () => {
    expect(workload({ kind: "StatefulSet", name: "db" })).toEqual({ kind: "StatefulSet", name: "db" });
    expect(workload({ kind: "DaemonSet", name: "nodetap" })).toEqual({ kind: "DaemonSet", name: "nodetap" });
    expect(workload({ kind: "Node", name: "node-a", apiVersion: "v1" })).toEqual({ kind: "Node", name: "node-a" });
  });

  it("a Job stays a Job, also when a CronJob made it (no label names the CronJob)", () => {
    const labels = { "batch.kubernetes.io/job-name": "backup-29123456", "job-name": "backup-29123456", "controller-uid": "x" };
    expect(workload({ kind: "Job", name: "backup-29123456", apiVersion: "batch/v1" }, labels)).toEqual({
      kind: "Job",
      name: "backup-29123456",
    });
    expect(workload({ kind: "Job", name: "migrate", apiVersion: "batch/v1" })).toEqual({ kind: "Job", name: "migrate" });
  });

  it("a mirror pod is keyed by its static pod's uid, the one its log directory is named by", () => {
    const mirror = slimPod(
      pod({
        uid: "api-uid",
        name: "kube-apiserver-node-a",
        annotations: { "kubernetes.io/config.mirror": "3f1c9e0b7a" },
        owner: { kind: "Node", name: "node-a", apiVersion: "v1" },
      }),
      none,
    );
    expect(mirror?.uid).toBe("3f1c9e0b7a");
    expect(mirror?.workload).toEqual({ kind: "Node", name: "node-a" });
    expect(slimPod(pod({ uid: "api-uid", name: "p" }), none)?.uid).toBe("api-uid");
  });

  it("a bare pod has no owner and no workload", () => {
    const p = slimPod(pod({ uid: "u", name: "p" }), none);
    expect(p?.owner).toBeUndefined();
    expect(p?.workload).toBeUndefined();
  });

  it("takes the controller reference, not another owner", () => {
    expect(
      controllerOf([
        { kind: "ConfigMap", name: "cm", apiVersion: "v1" },
        { kind: "StatefulSet", name: "db", apiVersion: "apps/v1", controller: true },
      ]),
    ).toEqual({ kind: "StatefulSet", name: "db", apiVersion: "apps/v1" });
    expect(controllerOf([{ kind: "ConfigMap", name: "cm" }])).toBeUndefined();
    expect(controllerOf(undefined)).toBeUndefined();
    expect(workloadOf(undefined, {})).toBeUndefined();
  });
});

describe("slim copies", () => {
  it("keeps the selected annotations (exact and prefix) and nodetap's own exclusion annotations", () => {
    const raw = pod({
      uid: "u1",
      name: "web-1",
      namespace: "shop",
      annotations: {
        "example.com/team": "checkout",
        "example.com/owner": "ana",
        "example.community/x": "no",
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9090",
        "kubectl.kubernetes.io/last-applied-configuration": "{...huge...}",
        [EXCLUDE_ANNOTATION]: "false",
        [EXCLUDE_CONTAINERS_ANNOTATION]: "sidecar",
      },
    });
    expect(slimPod(raw, annotations(["example.com/*", "prometheus.io/scrape"]))?.annotations).toEqual({
      "example.com/team": "checkout",
      "example.com/owner": "ana",
      "prometheus.io/scrape": "true",
      [EXCLUDE_ANNOTATION]: "false",
      [EXCLUDE_CONTAINERS_ANNOTATION]: "sidecar",
    });
    expect(slimPod(raw, none)?.annotations).toEqual({ [EXCLUDE_ANNOTATION]: "false", [EXCLUDE_CONTAINERS_ANNOTATION]: "sidecar" });
  });

  it("keeps exactly the pod fields of PodMetadata, images of every container kind", () => {
    const raw = pod({
      uid: "u1",
      name: "web-1",
      namespace: "shop",
      labels: { app: "web", "pod-template-hash": "5d4" },
      owner: { kind: "ReplicaSet", name: "web-5d4" },
      nodeName: "node-a",
    });
    (raw.spec as Record<string, unknown>).initContainers = [{ name: "init", image: "busybox:1.36" }];
    (raw.spec as Record<string, unknown>).containers = [
      { name: "app", image: "ghcr.io/shop/web:2.1" },
      { name: "proxy", image: "envoy:1.30" },
    ];
    (raw.spec as Record<string, unknown>).ephemeralContainers = [{ name: "debugger-x", image: "busybox:1.36", targetContainerName: "app" }];
    expect(slimPod(raw, none)).toEqual({
      uid: "u1",
      namespace: "shop",
      name: "web-1",
      labels: { app: "web", "pod-template-hash": "5d4" },
      annotations: {},
      owner: { kind: "ReplicaSet", name: "web-5d4" },
      workload: { kind: "Deployment", name: "web" },
      images: { init: "busybox:1.36", app: "ghcr.io/shop/web:2.1", proxy: "envoy:1.30", "debugger-x": "busybox:1.36" },
      nodeName: "node-a",
      deletedAt: undefined,
    });
  });

  it("skips objects without identity and non-string label values", () => {
    expect(slimPod({ metadata: { name: "x" } }, none)).toBeUndefined();
    expect(slimPod({}, none)).toBeUndefined();
    expect(slimNamespace({ metadata: { labels: { a: "b" } } })).toBeUndefined();
    expect(slimNamespace({ metadata: { name: "ns", labels: { a: "b", n: 1 as unknown as string } } })).toEqual({
      name: "ns",
      labels: { a: "b" },
    });
  });

  it("keeps the node labels selected by nodeLabels", () => {
    const node = {
      metadata: {
        name: "node-a",
        labels: {
          "topology.kubernetes.io/zone": "eu-1a",
          "kubernetes.io/os": "linux",
          "node.example.com/pool": "gpu",
          "kubernetes.io/hostname": "node-a",
        },
      },
    };
    expect(slimNode(node, new KeySelector(["topology.kubernetes.io/zone", "node.example.com/*"]))).toEqual({
      name: "node-a",
      labels: { "topology.kubernetes.io/zone": "eu-1a", "node.example.com/pool": "gpu" },
    });
  });

  it("estimates bytes from string lengths", () => {
    expect(estimateBytes("abcd")).toBe(20);
    expect(estimateBytes({ a: "bc" })).toBe(32 + 8 + 17 + 18);
    const small = slimPod(pod({ uid: "u", name: "p" }), none)!;
    const big = slimPod(pod({ uid: "u", name: "p", labels: { k: "v".repeat(1000) } }), none)!;
    expect(estimateBytes(big) - estimateBytes(small)).toBeGreaterThanOrEqual(1000);
  });
});

describe("KeySelector", () => {
  it("matches exact keys and prefixes ending in *", () => {
    const s = new KeySelector(["a", "b/*", "c*"]);
    expect(["a", "ab", "b/", "b/x", "bx", "c", "cat"].filter((k) => s.matches(k))).toEqual(["a", "b/", "b/x", "c", "cat"]);
    expect(new KeySelector(["*"]).pick({ x: "1", y: "2" })).toEqual({ x: "1", y: "2" });
    expect(new KeySelector([]).pick({ x: "1" })).toEqual({});
  });
});
