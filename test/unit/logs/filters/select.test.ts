import { describe, expect, it } from "vitest";
import { cfg, journalOrigin, one, outcome, podOf, rec } from "./helpers.js";

describe("drop", () => {
  it("drops what its match accepts and passes the rest as the same object", async () => {
    const { apply, registry } = one(cfg("drop", { name: "noise", match: { namespaces: ["kube-system"] } }));
    expect(apply(rec("x", { origin: podOf("kube-system", "coredns", "c") }))).toBeNull();
    const kept = rec("y");
    expect(apply(kept)).toBe(kept);
    expect(await outcome(registry, "noise", "dropped")).toBe(1);
  });

  it("without match drops everything", () => {
    const { apply } = one(cfg("drop"));
    expect(apply("x")).toBeNull();
  });
});

describe("keep", () => {
  it("drops what its match does not accept", async () => {
    const { apply, registry } = one(cfg("keep", { match: { messagePattern: "error" } }));
    const r = rec("an error");
    expect(apply(r)).toBe(r);
    expect(apply("fine")).toBeNull();
    expect(await outcome(registry, "keep-0", "dropped")).toBe(1);
  });

  it("without match keeps everything", () => {
    const { apply } = one(cfg("keep"));
    const r = rec("x");
    expect(apply(r)).toBe(r);
  });
});

describe("severity", () => {
  it("keeps records at minSeverity and above", async () => {
    const { apply, registry } = one(cfg("severity", { minSeverity: "warn" }));
    expect(apply(rec("x", { attributes: { severity: "error" } }))).not.toBeNull();
    expect(apply(rec("x", { attributes: { severity: "warn" } }))).not.toBeNull();
    expect(apply(rec("x", { attributes: { severity: "info" } }))).toBeNull();
    expect(apply(rec("x", { origin: journalOrigin, attributes: { priority: "6" } }))).toBeNull();
    expect(apply(rec("x", { origin: journalOrigin, attributes: { priority: "2" } }))).not.toBeNull();
    expect(await outcome(registry, "severity-0", "dropped")).toBe(2);
  });

  it("unknownSeverity decides for records without a level", () => {
    expect(one(cfg("severity")).apply("no level")).not.toBeNull();
    expect(one(cfg("severity", { unknownSeverity: "drop" })).apply("no level")).toBeNull();
  });

  it("only acts on what its match accepts", () => {
    const { apply } = one(cfg("severity", { minSeverity: "error", match: { namespaces: ["noisy"] } }));
    expect(apply(rec("x", { attributes: { severity: "info" } }))).not.toBeNull();
    expect(apply(rec("x", { origin: podOf("noisy", "p", "c"), attributes: { severity: "info" } }))).toBeNull();
  });
});
