import { afterEach, describe, expect, it, vi } from "vitest";
import type { PodMetadata } from "../../../agent/kubernetes/metadata.js";
import { MetadataStore } from "../../../agent/kubernetes/store.js";

function p(uid: string, labels: Record<string, string> = {}): PodMetadata {
  return {
    uid,
    namespace: "ns",
    name: `pod-${uid}`,
    labels,
    annotations: {},
    owner: undefined,
    workload: undefined,
    images: {},
    nodeName: "n",
    deletedAt: undefined,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("MetadataStore", () => {
  it("keeps a deleted pod for the retention, then removes it", () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const store = new MetadataStore(60_000);
    store.podSink.upsert(p("a"));
    vi.advanceTimersByTime(5_000);
    store.podSink.remove(p("a"));
    expect(store.pod("a")?.deletedAt).toBe(1_005_000);
    expect(store.counts()).toMatchObject({ pods: 1, deletedPods: 1 });
    vi.advanceTimersByTime(59_999);
    expect(store.pod("a")).toBeDefined();
    vi.advanceTimersByTime(1);
    expect(store.pod("a")).toBeUndefined();
    expect(store.counts()).toMatchObject({ pods: 0, deletedPods: 0, bytes: 0 });
    store.close();
  });

  it("sweeps each deleted pod at its own time", () => {
    vi.useFakeTimers({ now: 0 });
    const store = new MetadataStore(10_000);
    store.podSink.replace([p("a"), p("b")]);
    store.podSink.remove(p("a"));
    vi.advanceTimersByTime(4_000);
    store.podSink.remove(p("b"));
    vi.advanceTimersByTime(6_000);
    expect(store.pod("a")).toBeUndefined();
    expect(store.pod("b")?.deletedAt).toBe(4_000);
    vi.advanceTimersByTime(4_000);
    expect(store.pod("b")).toBeUndefined();
    store.close();
  });

  it("clears deletedAt when a pod comes back with the same uid", () => {
    vi.useFakeTimers({ now: 0 });
    const store = new MetadataStore(10_000);
    const known: string[] = [];
    store.onPodKnown((uid) => known.push(uid));
    store.podSink.upsert(p("a"));
    store.podSink.remove(p("a"));
    store.podSink.replace([p("a")]);
    expect(store.pod("a")?.deletedAt).toBeUndefined();
    expect(store.counts().deletedPods).toBe(0);
    vi.advanceTimersByTime(20_000);
    expect(store.pod("a")).toBeDefined();
    expect(known).toEqual(["a", "a"]);
    store.close();
  });

  it("a re-LIST marks the pods missing from it deleted; retention 0 removes them at once", () => {
    const store = new MetadataStore(0);
    store.podSink.replace([p("a"), p("b")]);
    store.podSink.replace([p("b")]);
    expect(store.pod("a")).toBeUndefined();
    expect(store.pod("b")).toBeDefined();
    store.podSink.remove(p("b"));
    expect(store.counts()).toMatchObject({ pods: 0, bytes: 0 });
  });

  it("bumps the generation on changes only, and counts bytes", () => {
    const store = new MetadataStore(0);
    const g0 = store.generation;
    store.podSink.upsert(p("a", { x: "1" }));
    const g1 = store.generation;
    expect(g1).toBeGreaterThan(g0);
    store.podSink.upsert(p("a", { x: "1" }));
    expect(store.generation).toBe(g1);
    store.namespaceSink.replace([{ name: "ns", labels: {} }]);
    store.nodeSink.replace([{ name: "n", labels: { zone: "z" } }]);
    const g2 = store.generation;
    expect(g2).toBe(g1 + 2);
    store.nodeSink.upsert({ name: "n", labels: { zone: "z" } });
    expect(store.generation).toBe(g2);
    const bytes = store.counts().bytes;
    store.podSink.upsert(p("a", { x: "1".repeat(100) }));
    expect(store.counts().bytes - bytes).toBe(99);
    store.namespaceSink.replace([]);
    store.nodeSink.replace([]);
    expect(store.namespace("ns")).toBeUndefined();
    expect(store.node()).toBeUndefined();
  });

  it("a throwing listener does not stop the others", () => {
    const errors: unknown[] = [];
    const store = new MetadataStore(0, Date.now, (e) => errors.push(e));
    const seen: string[] = [];
    store.onPodKnown(() => {
      throw new Error("boom");
    });
    const off = store.onPodKnown((uid) => seen.push(uid));
    store.podSink.upsert(p("a"));
    off();
    store.podSink.upsert(p("b"));
    expect(seen).toEqual(["a"]);
    expect(errors).toHaveLength(2);
  });
});
