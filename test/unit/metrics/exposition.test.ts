import { describe, expect, it } from "vitest";
import { counter, gauge, untyped, type MetricFamily } from "../../../agent/metrics/model.js";
import { negotiateFormat, renderFamily, renderGenericFamily, formatValue } from "../../../agent/metrics/exposition.js";
import { parseExposition } from "../../helpers/exposition-parse.js";

const fam = (desc: MetricFamily["desc"], samples: Array<[string[], number]>): MetricFamily => ({
  desc,
  samples: samples.map(([labelValues, value]) => ({ labelValues, value })),
});

describe("text format 0.0.4", () => {
  it("renders HELP, TYPE and labelled samples", () => {
    const text = renderFamily(
      fam(counter("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", ["cpu", "mode"]), [[["0", "idle"], 1.5]]),
      "text",
    );
    expect(text).toBe(
      '# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n# TYPE node_cpu_seconds_total counter\nnode_cpu_seconds_total{cpu="0",mode="idle"} 1.5\n',
    );
  });

  it("escapes label values and help like client_golang", () => {
    const text = renderFamily(fam(gauge("x", 'a\\b\nc "q"', ["l"]), [[['v"\\\n'], 1]]), "text");
    expect(text).toContain('# HELP x a\\\\b\\nc "q"\n');
    expect(text).toContain('x{l="v\\"\\\\\\n"} 1\n');
    const parsed = parseExposition(text);
    expect([...parsed.get("x")!.samples.keys()][0]).toBe('x{l="v\\"\\\\\\n"}');
  });

  it("renders special values", () => {
    expect([NaN, Infinity, -Infinity, 1e21, 0.1].map(formatValue)).toEqual(["NaN", "+Inf", "-Inf", "1e+21", "0.1"]);
  });

  it("omits families without samples", () => {
    expect(renderFamily(fam(gauge("x", "h"), []), "text")).toBe("");
  });

  it("untyped stays untyped", () => {
    expect(renderFamily(fam(untyped("node_vmstat_pgfault", "h"), [[[], 3]]), "text")).toContain("# TYPE node_vmstat_pgfault untyped\n");
  });
});

describe("samples with their own shape (textfile histograms, mixed label sets)", () => {
  it("renders each sample with its descriptor's label names and suffix", () => {
    const base = { name: "req_seconds", help: "h", type: "histogram" as const, labelNames: ["le"], sampleSuffix: "_bucket" };
    const family: MetricFamily = {
      desc: base,
      samples: [
        { labelValues: ["+Inf"], value: 3 },
        { labelValues: [], value: 1.5, desc: { ...base, labelNames: [], sampleSuffix: "_sum" } },
        { labelValues: [], value: 3, desc: { ...base, labelNames: [], sampleSuffix: "_count" } },
      ],
    };
    expect(renderFamily(family, "text")).toBe(
      '# HELP req_seconds h\n# TYPE req_seconds histogram\nreq_seconds_bucket{le="+Inf"} 3\nreq_seconds_sum 1.5\nreq_seconds_count 3\n',
    );
  });
});

describe("OpenMetrics 1.0.0", () => {
  it("names counter families without _total and samples with it", () => {
    const text = renderFamily(fam(counter("node_forks_total", "Total number of forks."), [[[], 7]]), "openmetrics");
    expect(text).toBe("# HELP node_forks Total number of forks.\n# TYPE node_forks counter\nnode_forks_total 7\n");
  });

  it("appends _total to counters lacking it and maps untyped to unknown", () => {
    expect(renderFamily(fam(counter("odd_counter", "h"), [[[], 1]]), "openmetrics")).toContain("odd_counter_total 1\n");
    expect(renderFamily(fam(untyped("u", "h"), [[[], 1]]), "openmetrics")).toContain("# TYPE u unknown\n");
  });

  it("renders prom-client histograms in the generic shape", () => {
    const text = renderGenericFamily(
      {
        name: "h_seconds",
        help: "h",
        type: "histogram",
        samples: [
          { name: "h_seconds_bucket", labels: [["le", "+Inf"]], value: 2 },
          { name: "h_seconds_sum", labels: [], value: 0.5 },
          { name: "h_seconds_count", labels: [], value: 2 },
        ],
      },
      "text",
    );
    expect(text).toContain('h_seconds_bucket{le="+Inf"} 2\nh_seconds_sum 0.5\nh_seconds_count 2\n');
  });

  it("is negotiated from Accept", () => {
    expect(negotiateFormat("application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5")).toBe("openmetrics");
    expect(negotiateFormat("text/plain")).toBe("text");
    expect(negotiateFormat(undefined)).toBe("text");
  });
});
