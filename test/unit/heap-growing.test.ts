import { describe, expect, it } from "vitest";
import { applyHeapGrowingPercent, v8MaxGrowingFactor } from "../../agent/heap-growing.js";

const MiB = 2 ** 20;

describe("runtime.heapGrowingPercent", () => {
  it("follows V8's maximum growing factor: 1.3 for small heaps up to 2 below 2 GiB, 4 from 2 GiB", () => {
    expect(v8MaxGrowingFactor(128 * MiB)).toBeCloseTo(1.3);
    expect(v8MaxGrowingFactor(256 * MiB)).toBeCloseTo(1.3);
    expect(v8MaxGrowingFactor(1152 * MiB)).toBeCloseTo(1.65);
    expect(v8MaxGrowingFactor(2047 * MiB)).toBeLessThan(2.0001);
    expect(v8MaxGrowingFactor(4288 * MiB)).toBe(4);
  });

  it("sets V8's flag only where V8 would let the heap grow further (it replaces, not caps, V8's factor)", () => {
    const set: string[] = [];
    const record = (flags: string) => set.push(flags);
    expect(applyHeapGrowingPercent(150, 4288 * MiB, record)).toBe(true);
    // Under a container limit (the chart's 256 MiB) V8 grows by 1.3 already: 2.5 would be more.
    expect(applyHeapGrowingPercent(150, 300 * MiB, record)).toBe(false);
    expect(applyHeapGrowingPercent(20, 300 * MiB, record)).toBe(true);
    expect(applyHeapGrowingPercent(0, 4288 * MiB, record)).toBe(false);
    expect(set).toEqual(["--heap-growing-percent=150", "--heap-growing-percent=20"]);
  });
});
