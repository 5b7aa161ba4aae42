import pino from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../../agent/config/errors.js";
import { FilterChain } from "../../../../agent/logs/filters/chain.js";
import type { FilterConfig } from "../../../../agent/logs/filters/schema.js";
import { cfg, hostOrigin, podOf, rec, setup, valueOf } from "./helpers.js";

function errorOf(configs: FilterConfig[], registry = new Registry()): ConfigError {
  try {
    new FilterChain(configs, { registry, logger: pino({ level: "silent" }) }).close();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("no ConfigError");
}

describe("logToMetric filter", () => {
  it("counts matching records by the configured labels", async () => {
    const { chain, registry } = setup([
      cfg("json"),
      cfg("logToMetric", {
        name: "errs",
        metric: "app_log_lines_total",
        help: "Lines.",
        labels: ["namespace", "container", "severity", "stream", "source", "node", "file", "pod", "field.http.status"],
        match: { minSeverity: "warn", unknownSeverity: "skip" },
      }),
    ]);
    chain.apply(rec('{"level":"error","http":{"status":500}}'), 0);
    chain.apply(rec('{"level":"error","http":{"status":500}}'), 0);
    chain.apply(rec('{"level":"warn"}', { stream: "stderr" }), 0);
    chain.apply(rec('{"level":"info"}'), 0);
    chain.apply(rec("no level"), 0);
    const common = { namespace: "ns", container: "c", source: "pods", node: "n1", file: "/var/log/pods/ns_pod_uid/c/0.log", pod: "pod" };
    expect(await valueOf(registry, "app_log_lines_total", { ...common, severity: "error", stream: "stdout", http_status: "500" })).toBe(2);
    expect(await valueOf(registry, "app_log_lines_total", { ...common, severity: "warn", stream: "stderr", http_status: "" })).toBe(1);
    expect(await valueOf(registry, "nodetap_log_metric_series", { metric: "app_log_lines_total" })).toBe(2);
    expect(await valueOf(registry, "nodetap_log_filter_records_total", { filter: "errs", outcome: "counted" })).toBe(3);
    const text = await registry.getSingleMetricAsString("app_log_lines_total");
    expect(text).toContain("# HELP app_log_lines_total Lines.");
    expect(text).toContain("# TYPE app_log_lines_total counter");
    chain.close();
  });

  it("missing values are empty", async () => {
    const { chain, registry } = setup([cfg("logToMetric", { metric: "m_total" })]);
    chain.apply(rec("x", { origin: hostOrigin }), 0);
    expect(await valueOf(registry, "m_total", { namespace: "", pod: "", container: "" })).toBe(1);
    chain.close();
  });

  it("stops at maxSeries and counts what it left out", async () => {
    const { chain, registry } = setup([cfg("logToMetric", { metric: "m_total", maxSeries: 2, labels: ["pod"] })]);
    for (const pod of ["a", "b", "c", "c", "a"]) chain.apply(rec("x", { origin: podOf("ns", pod, "c") }), 0);
    expect(await valueOf(registry, "m_total", { pod: "a" })).toBe(2);
    expect(await valueOf(registry, "m_total", { pod: "c" })).toBe(0);
    expect(await valueOf(registry, "nodetap_log_metric_series_dropped_total", { metric: "m_total" })).toBe(2);
    expect(await valueOf(registry, "nodetap_log_metric_series", { metric: "m_total" })).toBe(2);
    chain.close();
  });

  it("removes label sets idle for expireAfter, on records and by its timer", async () => {
    let clock = 0;
    const { chain, registry } = setup([cfg("logToMetric", { metric: "m_total", labels: ["pod"], expireAfter: 4 })], { clock: () => clock });
    chain.apply(rec("x", { origin: podOf("ns", "a", "c") }), 0);
    chain.apply(rec("x", { origin: podOf("ns", "b", "c") }), 2_000);
    chain.apply(rec("x", { origin: podOf("ns", "b", "c") }), 4_500);
    expect(await valueOf(registry, "m_total", { pod: "a" })).toBe(0);
    expect(await valueOf(registry, "m_total", { pod: "b" })).toBe(2);
    expect(await valueOf(registry, "nodetap_log_metric_series", { metric: "m_total" })).toBe(1);
    // No more records: the timer (every second here) removes b.
    clock = 30_000;
    await new Promise((resolve) => setTimeout(resolve, 1_800));
    expect(await valueOf(registry, "m_total", { pod: "b" })).toBe(0);
    expect(await valueOf(registry, "nodetap_log_metric_series", { metric: "m_total" })).toBe(0);
    chain.close();
  });

  it("close() unregisters the counter, so a new chain may register it again", () => {
    const registry = new Registry();
    const deps = { registry, logger: pino({ level: "silent" }) };
    new FilterChain([cfg("logToMetric", { metric: "m_total" })], deps).close();
    new FilterChain([cfg("logToMetric", { metric: "m_total" })], deps).close();
  });

  it("a metric name used twice is a ConfigError on the second's metric", () => {
    const err = errorOf([
      cfg("logToMetric", { metric: "m_total" }),
      cfg("drop", { match: { pods: ["x"] } }),
      cfg("logToMetric", { metric: "m_total" }),
    ]);
    expect(err.key).toBe("logs.filters[2].metric");
  });

  it.each([
    [{ metric: "" }, "logs.filters[0].metric"],
    [{ metric: "9lines" }, "logs.filters[0].metric"],
    [{ metric: "app-lines" }, "logs.filters[0].metric"],
    [{ metric: "nodetap_lines_total" }, "logs.filters[0].metric"],
    [{ metric: "node_lines_total" }, "logs.filters[0].metric"],
    [{ metric: "process_x" }, "logs.filters[0].metric"],
    [{ metric: "nodejs_x" }, "logs.filters[0].metric"],
    [{ metric: "ok_total", labels: ["bogus"] }, "logs.filters[0].labels"],
    [{ metric: "ok_total", labels: ["pod", "pod"] }, "logs.filters[0].labels"],
    [{ metric: "ok_total", labels: ["pod", "field.pod"] }, "logs.filters[0].labels"],
    [{ metric: "ok_total", labels: ["field."] }, "logs.filters[0].labels"],
    [{ metric: "ok_total", labels: ["field.__x"] }, "logs.filters[0].labels"],
    [{ metric: "ok_total", maxSeries: 0 }, "logs.filters[0].maxSeries"],
  ])("%j is a ConfigError on %s", (over, key) => {
    expect(errorOf([cfg("logToMetric", over)]).key).toBe(key);
  });

  it("a name some other code registered is a ConfigError", () => {
    const registry = new Registry();
    new FilterChain([cfg("logToMetric", { metric: "taken_total" })], { registry, logger: pino({ level: "silent" }) });
    expect(errorOf([cfg("logToMetric", { metric: "taken_total" })], registry).key).toBe("logs.filters[0].metric");
  });

  it("a field label of a digit-led attribute gets a leading _", async () => {
    const { chain, registry } = setup([cfg("logToMetric", { metric: "m_total", labels: ["field.1a-b"] })]);
    chain.apply(rec("x", { attributes: { "1a-b": "v" } }), 0);
    expect(await valueOf(registry, "m_total", { _1a_b: "v" })).toBe(1);
    chain.close();
  });
});
