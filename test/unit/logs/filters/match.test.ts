import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../../agent/config/errors.js";
import { compileMatch } from "../../../../agent/logs/filters/match.js";
import { makeRecord } from "../../../../agent/logs/record.js";
import { hostOrigin, journalOrigin, matchOf, podOf, podOrigin, rec, T0 } from "./helpers.js";

const KEY = "logs.filters[0].match";

describe("compileMatch", () => {
  it("is undefined when no condition is given", () => {
    expect(compileMatch(matchOf({}), KEY)).toBeUndefined();
    expect(compileMatch(matchOf({ unknownSeverity: "skip" }), KEY)).toBeUndefined();
  });

  it("sources", () => {
    const m = compileMatch(matchOf({ sources: ["pods", "journald"] }), KEY)!;
    expect(m(rec("x"))).toBe(true);
    expect(m(rec("x", { origin: journalOrigin }))).toBe(true);
    expect(m(rec("x", { origin: hostOrigin }))).toBe(false);
  });

  it("namespaces, pods and containers by name or glob", () => {
    const ns = compileMatch(matchOf({ namespaces: ["kube-*", "default"] }), KEY)!;
    expect(ns(rec("x", { origin: podOf("kube-system", "p", "c") }))).toBe(true);
    expect(ns(rec("x", { origin: podOf("default", "p", "c") }))).toBe(true);
    expect(ns(rec("x", { origin: podOf("prod", "p", "c") }))).toBe(false);
    expect(ns(rec("x", { origin: hostOrigin }))).toBe(false);
    const pods = compileMatch(matchOf({ pods: ["web-?"] }), KEY)!;
    expect(pods(rec("x", { origin: podOf("a", "web-1", "c") }))).toBe(true);
    expect(pods(rec("x", { origin: podOf("a", "web-12", "c") }))).toBe(false);
    const containers = compileMatch(matchOf({ containers: ["istio-proxy", "*-sidecar"] }), KEY)!;
    expect(containers(rec("x", { origin: podOf("a", "b", "istio-proxy") }))).toBe(true);
    expect(containers(rec("x", { origin: podOf("a", "b", "log-sidecar") }))).toBe(true);
    expect(containers(rec("x", { origin: podOf("a", "b", "app") }))).toBe(false);
  });

  it("glob special characters of a name are literal", () => {
    const m = compileMatch(matchOf({ namespaces: ["a.b*"] }), KEY)!;
    expect(m(rec("x", { origin: podOf("a.bc", "p", "c") }))).toBe(true);
    expect(m(rec("x", { origin: podOf("axbc", "p", "c") }))).toBe(false);
  });

  it("files by path glob", () => {
    const m = compileMatch(matchOf({ files: ["/var/log/auth.log", "/var/log/pods/**/*.log"] }), KEY)!;
    expect(m(rec("x"))).toBe(true);
    expect(m(rec("x", { origin: { source: "files", file: "/var/log/auth.log" } }))).toBe(true);
    expect(m(rec("x", { origin: hostOrigin }))).toBe(false);
    expect(m(rec("x", { origin: journalOrigin }))).toBe(false);
  });

  it("streams", () => {
    const m = compileMatch(matchOf({ streams: ["stderr"] }), KEY)!;
    expect(m(rec("x", { stream: "stderr" }))).toBe(true);
    expect(m(rec("x", { stream: "stdout" }))).toBe(false);
    expect(m(rec("x", { stream: "" }))).toBe(false);
  });

  it("messagePattern (Go-style flags)", () => {
    const m = compileMatch(matchOf({ messagePattern: "(?i)get /healthz" }), KEY)!;
    expect(m(rec("GET /healthz 200"))).toBe(true);
    expect(m(rec("GET /api 200"))).toBe(false);
  });

  it("minSeverity with unknownSeverity", () => {
    const m = compileMatch(matchOf({ minSeverity: "warn" }), KEY)!;
    expect(m(rec("x", { attributes: { severity: "error" } }))).toBe(true);
    expect(m(rec("x", { attributes: { severity: "warn" } }))).toBe(true);
    expect(m(rec("x", { attributes: { severity: "info" } }))).toBe(false);
    expect(m(rec("x", { origin: journalOrigin, attributes: { priority: "3" } }))).toBe(true);
    expect(m(rec("x"))).toBe(true);
    const skip = compileMatch(matchOf({ minSeverity: "warn", unknownSeverity: "skip" }), KEY)!;
    expect(skip(rec("x"))).toBe(false);
    expect(skip(rec("x", { attributes: { severity: "fatal" } }))).toBe(true);
  });

  it("fields: every attribute must exist and match", () => {
    const m = compileMatch(matchOf({ fields: { unit: "^kubelet", toString: "." } }), KEY)!;
    expect(m(rec("x", { attributes: { unit: "kubelet.service", toString: "y" } }))).toBe(true);
    // An inherited property is no attribute.
    expect(m(rec("x", { attributes: { unit: "kubelet.service" } }))).toBe(false);
    expect(m(rec("x", { attributes: { unit: "containerd", toString: "y" } }))).toBe(false);
    expect(m(rec("x"))).toBe(false);
  });

  it("every condition must hold", () => {
    const m = compileMatch(matchOf({ namespaces: ["ns"], streams: ["stdout"], messagePattern: "boom" }), KEY)!;
    expect(m(rec("boom"))).toBe(true);
    expect(m(rec("fine"))).toBe(false);
    expect(m(rec("boom", { stream: "stderr" }))).toBe(false);
    expect(m(rec("boom", { origin: podOf("other", "pod", "c") }))).toBe(false);
  });

  it("the origin's result is not reused for another origin", () => {
    const m = compileMatch(matchOf({ pods: ["a"] }), KEY)!;
    const a = podOf("ns", "a", "c");
    const b = podOf("ns", "b", "c");
    expect([m(rec("x", { origin: a })), m(rec("x", { origin: a })), m(rec("x", { origin: b })), m(rec("x", { origin: a }))]).toEqual([
      true,
      true,
      false,
      true,
    ]);
    expect(m(makeRecord(T0, "stdout", "x", podOrigin))).toBe(false);
  });

  it.each([
    [{ messagePattern: "(" }, `${KEY}.messagePattern`],
    [{ fields: { unit: "[" } }, `${KEY}.fields.unit`],
    [{ sources: ["pod"] }, `${KEY}.sources`],
    [{ streams: ["out"] }, `${KEY}.streams`],
    [{ minSeverity: "WARNING" as never }, `${KEY}.minSeverity`],
  ])("%j is a ConfigError on %s", (over, key) => {
    let err: unknown;
    try {
      compileMatch(matchOf(over), KEY);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe(key);
  });
});
