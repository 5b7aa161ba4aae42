import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { OpenDescriptorCounter } from "../../agent/host/open-descriptors.js";
import { EventLoopDelayWindow, MAX_WINDOW_SAMPLES, percentile } from "../../agent/event-loop-delay.js";
import { createSelfRegistry, selfFamilies, statusFieldBytes } from "../../agent/self-metrics.js";

const LAG_GAUGES = ["min", "max", "mean", "stddev", "p50", "p90", "p99"].map((s) => `nodejs_eventloop_lag_${s}_seconds`);

describe("EventLoopDelayWindow", () => {
  it("gives min, max, mean, population stddev and nearest-rank percentiles in seconds, then starts a new window", () => {
    const window = new EventLoopDelayWindow();
    for (let ms = 1; ms <= 100; ms++) window.record(ms);
    const stats = window.take();
    expect(stats).toMatchObject({ count: 100, min: 0.001, max: 0.1, p50: 0.05, p90: 0.09, p99: 0.099 });
    expect(stats?.mean).toBeCloseTo(0.0505, 10);
    // Population standard deviation of 1..100 ms: sqrt((100^2 - 1) / 12).
    expect(stats?.stddev).toBeCloseTo(Math.sqrt((100 ** 2 - 1) / 12) / 1000, 10);
    expect(window.take()).toBeUndefined();
    window.record(7);
    expect(window.take()).toMatchObject({ count: 1, min: 0.007, max: 0.007, mean: 0.007, stddev: 0, p50: 0.007, p99: 0.007 });
  });

  it("counts a timer that fired early as no delay", () => {
    const window = new EventLoopDelayWindow();
    window.record(-0.4);
    expect(window.take()).toMatchObject({ min: 0, max: 0, mean: 0, stddev: 0 });
  });

  it("keeps the latest delays for the percentiles once the window is full, and every delay for the rest", () => {
    const window = new EventLoopDelayWindow();
    for (let i = 0; i < MAX_WINDOW_SAMPLES; i++) window.record(1000);
    for (let i = 0; i < MAX_WINDOW_SAMPLES; i++) window.record(1);
    const stats = window.take();
    expect(stats).toMatchObject({ count: 2 * MAX_WINDOW_SAMPLES, max: 1, p99: 0.001, min: 0.001 });
    expect(stats?.mean).toBeCloseTo(0.5005, 10);
  });

  it("percentile of nothing is 0", () => {
    expect(percentile(new Float64Array(0), 50)).toBe(0);
  });
});

describe("nodetap's runtime metrics", () => {
  it("keeps prom-client's nodejs_eventloop_lag_* names as finite, non-negative gauges, even for two scrapes in a row", async () => {
    const registry = createSelfRegistry({ runtimeMetrics: true });
    await new Promise((resolve) => setTimeout(resolve, 350));
    const first = await selfFamilies(registry);
    const second = await selfFamilies(registry);
    for (const families of [first, second]) {
      const byName = new Map(families.map((f) => [f.name, f]));
      for (const name of ["nodejs_eventloop_lag_seconds", ...LAG_GAUGES]) {
        const family = byName.get(name);
        expect(family?.type, name).toBe("gauge");
        expect(family?.samples).toHaveLength(1);
        const value = Number(family?.samples[0].value);
        expect(Number.isFinite(value) && value >= 0, `${name} = ${value}`).toBe(true);
        // An idle test process is seconds away from a 100 ms delay: the timer's interval is not reported as lag.
        expect(value, name).toBeLessThan(0.09);
      }
    }
    // The second scrape came too soon for a new sample: the previous window is repeated, not NaN or 9.2e9.
    const value = (families: typeof first, name: string) => families.find((f) => f.name === name)?.samples[0].value;
    for (const name of LAG_GAUGES) expect(value(second, name), name).toBe(value(first, name));
  });

  it("sees a blocked event loop in the delays", async () => {
    const registry = createSelfRegistry({ runtimeMetrics: true });
    await selfFamilies(registry);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // block the loop: the sampler's next tick is ~300 ms late
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
    const families = await selfFamilies(registry);
    const max = Number(families.find((f) => f.name === "nodejs_eventloop_lag_max_seconds")?.samples[0].value);
    expect(max).toBeGreaterThan(0.2);
    expect(max).toBeLessThan(1);
  });

  it("reports the heap gauges with prom-client's names and process.memoryUsage()'s numbers", async () => {
    const families = await selfFamilies(createSelfRegistry({ runtimeMetrics: true }));
    const usage = process.memoryUsage();
    const value = (name: string) => Number(families.find((f) => f.name === name)?.samples[0].value);
    expect(value("nodejs_heap_size_total_bytes")).toBeGreaterThanOrEqual(value("nodejs_heap_size_used_bytes"));
    // Read a moment apart, with allocations in between: equal within a few MiB.
    expect(Math.abs(value("nodejs_heap_size_total_bytes") - usage.heapTotal)).toBeLessThan(8 * 2 ** 20);
    expect(Math.abs(value("nodejs_heap_size_used_bytes") - usage.heapUsed)).toBeLessThan(8 * 2 ** 20);
    expect(value("nodejs_external_memory_bytes")).toBeGreaterThan(0);
    expect(Math.abs(value("nodejs_external_memory_bytes") - usage.external)).toBeLessThan(8 * 2 ** 20);
  });

  it("counts open descriptors as a listing of /proc/self/fd does, and sees one more after an open", async () => {
    const registry = createSelfRegistry({ runtimeMetrics: true });
    const openFds = async () => Number((await selfFamilies(registry)).find((f) => f.name === "process_open_fds")?.samples[0].value);
    const listed = () => fs.readdirSync("/proc/self/fd").length - 1;
    expect(new OpenDescriptorCounter().count()).toBe(listed());
    const before = await openFds();
    expect(before).toBe(listed());
    const fd = fs.openSync("/proc/self/status", "r");
    try {
      expect(await openFds()).toBe(before + 1);
    } finally {
      fs.closeSync(fd);
    }
  });

  it("lists the directory where its size is not the count (before Linux 6.2) or the stat is refused", () => {
    let stats = 0;
    const oldKernel = new OpenDescriptorCounter({ size: () => (stats++, 0), listed: () => 12 });
    expect(oldKernel.count()).toBe(11);
    expect(oldKernel.count()).toBe(11);
    expect(stats).toBe(1); // not stat'ed again
    const refused = new OpenDescriptorCounter({
      size: () => {
        throw Object.assign(new Error("EACCES"), { code: "EACCES" });
      },
      listed: () => 8,
    });
    expect(refused.count()).toBe(7);
    const unreadable = new OpenDescriptorCounter({
      size: () => 0,
      listed: () => {
        throw new Error("ENOENT");
      },
    });
    expect(unreadable.count()).toBeUndefined();
    expect(new OpenDescriptorCounter({ size: () => 42, listed: () => 1000 }).count()).toBe(42);
  });

  it("reports VmRSS, VmSize and VmData of /proc/self/status under prom-client's process_* names", async () => {
    const families = await selfFamilies(createSelfRegistry({ runtimeMetrics: true }));
    const status = fs.readFileSync("/proc/self/status", "utf8");
    const value = (name: string) => Number(families.find((f) => f.name === name)?.samples[0].value);
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status)![1]) * 1024;
    expect(value("process_virtual_memory_bytes")).toBeGreaterThan(value("process_resident_memory_bytes"));
    // Read a moment apart: equal within a few MiB.
    for (const [metric, name] of [
      ["process_resident_memory_bytes", "VmRSS"],
      ["process_virtual_memory_bytes", "VmSize"],
      ["process_heap_bytes", "VmData"],
    ])
      expect(Math.abs(value(metric) - field(name))).toBeLessThan(16 * 2 ** 20);
    expect(statusFieldBytes("Name:\tnode\nVmRSS:\t   51200 kB\nVmData:\t 8 kB\n", "VmRSS")).toBe(51200 * 1024);
    expect(statusFieldBytes("Name:\tnode\nVmRSS:\t   51200 kB\n", "VmData")).toBeUndefined();
    expect(statusFieldBytes("Name:\tnode\nVmRSS:\tlots\n", "VmRSS")).toBeUndefined();
  });

  it("leaves out prom-client's misnamed _total gauges, and everything without runtime metrics", async () => {
    const names = (await selfFamilies(createSelfRegistry({ runtimeMetrics: true }))).map((f) => f.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "process_resident_memory_bytes",
        "nodejs_heap_size_used_bytes",
        "nodejs_active_handles",
        "process_open_fds",
        "nodetap_build_info",
      ]),
    );
    for (const name of names) expect(name).not.toMatch(/^nodejs_active_\w+_total$/);
    expect(new Set(names).size).toBe(names.length);
    expect(await selfFamilies(createSelfRegistry({ runtimeMetrics: false }))).toEqual([]);
  });
});
