import { Registry } from "prom-client";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../../agent/config/errors.js";
import { FilterChain } from "../../../../agent/logs/filters/chain.js";
import type { FilterConfig } from "../../../../agent/logs/filters/schema.js";
import { cfg, outcome, rec, setup, valueOf } from "./helpers.js";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("no ConfigError");
}

const silent = () => ({ registry: new Registry(), logger: pino({ level: "silent" }) });

describe("FilterChain", () => {
  it("runs the filters in order", () => {
    const { chain } = setup([
      cfg("json"),
      cfg("severity", { minSeverity: "warn" }),
      cfg("fields", { add: { cluster: "prod" } }),
      cfg("drop", { match: { fields: { user: "^bot$" } } }),
    ]);
    expect(chain.length).toBe(4);
    expect(chain.apply(rec('{"level":"info","msg":"hi"}'), 0)).toBeNull();
    expect(chain.apply(rec('{"level":"error","msg":"boom","user":"bot"}'), 0)).toBeNull();
    const out = chain.apply(rec('{"level":"error","msg":"boom","user":"ann"}'), 0)!;
    expect(out.message).toBe("boom");
    expect(out.attributes).toEqual({ severity: "error", user: "ann", cluster: "prod" });
  });

  it("a record no filter changes comes back as the same object", () => {
    const { chain } = setup([
      cfg("json", { match: { namespaces: ["other"] } }),
      cfg("drop", { match: { messagePattern: "^DEBUG" } }),
      cfg("fields", { remove: ["nothing"] }),
      cfg("rateLimit"),
      cfg("logToMetric", { metric: "lines_total" }),
    ]);
    const r = rec("plain line");
    expect(chain.apply(r, 0)).toBe(r);
    chain.close();
  });

  it("an empty chain passes everything", () => {
    const { chain } = setup([]);
    const r = rec("x");
    expect(chain.length).toBe(0);
    expect(chain.apply(r, 0)).toBe(r);
  });

  it("names filters <type>-<index> by default and wants names unique", () => {
    const err = configError(() => new FilterChain([cfg("drop", { name: "a" }), cfg("keep"), cfg("json", { name: "a" })], silent()));
    expect(err.key).toBe("logs.filters[2].name");
    const clash = configError(() => new FilterChain([cfg("keep"), cfg("drop", { name: "keep-0" })], silent()));
    expect(clash.key).toBe("logs.filters[1].name");
  });

  it("config problems name the key under keyPrefix", () => {
    expect(configError(() => new FilterChain([cfg("drop"), cfg("regex", { pattern: "(" })], silent())).key).toBe("logs.filters[1].pattern");
    expect(configError(() => new FilterChain([cfg("drop", { match: { messagePattern: "[" } })], silent(), "x.y")).key).toBe(
      "x.y[0].match.messagePattern",
    );
    expect(configError(() => new FilterChain([{ type: "nope" } as unknown as FilterConfig], silent())).key).toBe("logs.filters[0].type");
    expect(configError(() => new FilterChain([cfg("json", { maxDepth: 99 })], silent())).key).toBe("logs.filters[0].maxDepth");
    expect(configError(() => new FilterChain([cfg("rateLimit", { per: "node" as never })], silent())).key).toBe("logs.filters[0].per");
  });

  it("takes partial configs: the type's defaults fill the rest", () => {
    const chain = new FilterChain([{ type: "json" } as FilterConfig, { type: "severity", minSeverity: "error" } as FilterConfig], silent());
    expect(chain.apply(rec('{"level":"warn"}'), 0)).toBeNull();
    expect(chain.apply(rec('{"level":"fatal"}'), 0)?.attributes).toEqual({ severity: "fatal" });
  });

  it("a filter that throws passes the record on, counts error and logs once", async () => {
    const { chain, registry, logs } = setup([cfg("fields", { name: "broken", add: { a: "b" } }), cfg("fields", { add: { c: "d" } })]);
    const bad = rec("x");
    Object.defineProperty(bad, "attributes", {
      get() {
        throw new Error("boom");
      },
    });
    // The first filter throws; the record reaches the second one, which throws too.
    expect(chain.apply(bad, 0)).toBe(bad);
    expect(chain.apply(bad, 0)).toBe(bad);
    expect(await outcome(registry, "broken", "error")).toBe(2);
    expect(await outcome(registry, "fields-1", "error")).toBe(2);
    const errors = logs.filter((l) => l.level === 50);
    expect(errors.map((l) => l.filter)).toEqual(["broken", "fields-1"]);
    expect((errors[0].err as { message: string }).message).toBe("boom");
    expect(chain.apply(rec("y"), 0)?.attributes).toEqual({ a: "b", c: "d" });
  });

  it("counts reach the counter when it is read and when the chain closes", async () => {
    const { chain, registry } = setup([cfg("drop", { name: "d" })]);
    for (let i = 0; i < 5; i++) chain.apply(rec("x"), 0);
    expect(await outcome(registry, "d", "dropped")).toBe(5);
    chain.apply(rec("x"), 0);
    chain.close();
    expect(await outcome(registry, "d", "dropped")).toBe(6);
    const text = await registry.getSingleMetricAsString("nodetap_log_filter_records_total");
    expect(text).toContain('nodetap_log_filter_records_total{filter="d",outcome="dropped"} 6');
  });

  it("chains share one registry's metrics", async () => {
    const deps = silent();
    const a = new FilterChain([cfg("drop", { name: "a" })], deps);
    const b = new FilterChain([cfg("drop", { name: "b" })], deps);
    a.apply(rec("x"), 0);
    b.apply(rec("x"), 0);
    expect(await outcome(deps.registry, "a", "dropped")).toBe(1);
    expect(await outcome(deps.registry, "b", "dropped")).toBe(1);
    a.close();
    b.close();
    a.close();
  });

  it("a chain that fails to build gives back the metrics its filters registered", async () => {
    const deps = silent();
    expect(() => new FilterChain([cfg("logToMetric", { metric: "app_lines_total" }), cfg("regex")], deps)).toThrow(ConfigError);
    expect(deps.registry.getSingleMetric("app_lines_total")).toBeUndefined();
    const chain = new FilterChain([cfg("logToMetric", { metric: "app_lines_total" })], deps);
    chain.apply(rec("x"), 0);
    expect(await valueOf(deps.registry, "app_lines_total", { pod: "pod" })).toBe(1);
    chain.close();
    expect(deps.registry.getSingleMetric("app_lines_total")).toBeUndefined();
  });
});
