import { describe, expect, it } from "vitest";
import { RETRY_AFTER_CAP_MS, RetryPolicy, parseRetryAfter } from "../../../agent/logs/delivery/retry-policy.js";
import { outcomeOfError, outcomeOfStatus } from "../../../agent/logs/sinks/shared/outcome.js";

describe("RetryPolicy", () => {
  it("doubles per failure up to the maximum, with jitter between half and all", () => {
    const low = new RetryPolicy(100, 1000, 0, () => 0);
    const high = new RetryPolicy(100, 1000, 0, () => 0.999999);
    expect([1, 2, 3, 4, 5, 50].map((n) => low.delayMs(n))).toEqual([50, 100, 200, 400, 500, 500]);
    expect(Math.round(high.delayMs(1))).toBe(100);
    expect(Math.round(high.delayMs(10))).toBe(1000);
  });

  it("honours Retry-After as a floor, capped", () => {
    const p = new RetryPolicy(100, 1000, 0, () => 0);
    expect(p.delayMs(1, 5000)).toBe(5000);
    expect(p.delayMs(1, 10)).toBe(50);
    expect(p.delayMs(1, 10 * RETRY_AFTER_CAP_MS)).toBe(RETRY_AFTER_CAP_MS);
  });

  it("maxAttempts 0 never gives up", () => {
    expect(new RetryPolicy(1, 1, 0).exhausted(1e9)).toBe(false);
    expect(new RetryPolicy(1, 1, 3).exhausted(2)).toBe(false);
    expect(new RetryPolicy(1, 1, 3).exhausted(3)).toBe(true);
  });

  it("parses Retry-After seconds and HTTP dates", () => {
    const now = Date.parse("2024-05-01T10:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("Wed, 01 May 2024 10:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Wed, 01 May 2024 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe("HTTP outcomes", () => {
  it("classifies statuses", () => {
    expect(outcomeOfStatus(204, undefined)).toEqual({ kind: "ok" });
    expect(outcomeOfStatus(429, "3")).toMatchObject({ kind: "retry", reason: "status_429", retryAfterMs: 3000 });
    expect(outcomeOfStatus(408, undefined)).toMatchObject({ kind: "retry", reason: "status_408" });
    expect(outcomeOfStatus(503, undefined, "busy")).toMatchObject({ kind: "retry", reason: "status_5xx", detail: "busy" });
    expect(outcomeOfStatus(400, undefined)).toMatchObject({ kind: "reject", reason: "status_400", status: 400 });
    expect(outcomeOfStatus(413, undefined)).toMatchObject({ kind: "reject", status: 413 });
    expect(outcomeOfStatus(302, undefined)).toMatchObject({ kind: "reject", reason: "status_3xx" });
  });

  it("classifies request errors into bounded reasons", () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    expect(outcomeOfError(err("ECONNREFUSED"))).toMatchObject({ kind: "retry", reason: "connection_refused" });
    expect(outcomeOfError(err("ECONNRESET"))).toMatchObject({ reason: "connection_reset" });
    expect(outcomeOfError(err("ENOTFOUND"))).toMatchObject({ reason: "dns" });
    expect(outcomeOfError(err("DEPTH_ZERO_SELF_SIGNED_CERT"))).toMatchObject({ reason: "tls" });
    expect(outcomeOfError(Object.assign(new Error("t"), { name: "TimeoutError" }))).toMatchObject({ reason: "timeout" });
    expect(outcomeOfError(new Error("?"))).toMatchObject({ reason: "other" });
  });
});
