import { describe, expect, it } from "vitest";
import { FamilyCollector, gauge, type MetricDesc } from "../../../agent/metrics/model.js";

describe("FamilyCollector with per-sample descriptors", () => {
  it("records the descriptor only for samples whose label names or suffix differ from the family's", () => {
    const out = new FamilyCollector();
    const first = gauge("x", "help", ["a"]);
    out.add(first, 1, "1");
    out.add(gauge("x", "help", ["a"]), 2, "2"); // same shape, another object
    const wider: MetricDesc = { name: "x", help: "help", type: "gauge", labelNames: ["a", "b"] };
    out.add(wider, 3, "3", "4");
    const sum: MetricDesc = { name: "x", help: "help", type: "gauge", labelNames: ["a"], sampleSuffix: "_sum" };
    out.add(sum, 5, "5");
    const family = out.families.get("x")!;
    expect(family.desc).toBe(first);
    expect(family.samples.map((s) => s.desc)).toEqual([undefined, undefined, wider, sum]);
    out.add(wider, 6, "only-one-value");
    expect(out.invalid).toBe(1);
  });
});
