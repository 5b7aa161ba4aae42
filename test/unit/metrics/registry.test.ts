import { describe, expect, it } from "vitest";
import pino from "pino";
import { CollectorRegistry, UnknownCollectorError } from "../../../agent/metrics/registry.js";
import type { Collector, CollectorDefinition } from "../../../agent/metrics/collector.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { gauge } from "../../../agent/metrics/model.js";
import { loadConfig } from "../../../agent/config/load.js";
import { HostPaths } from "../../../agent/host/paths.js";

const value = gauge("test_value", "A test value.", ["source"]);

function def(name: string, update: Collector["update"]): CollectorDefinition {
  return { name, defaultEnabled: true, create: () => ({ name, update }) };
}

function logCapture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}

function registry(defs: CollectorDefinition[], flags: string[] = []) {
  // Reuse real collector names so the config enables them.
  const config = loadConfig(["--collector.timeout=200ms", ...flags], {}).config;
  const { logger, lines } = logCapture();
  return { reg: new CollectorRegistry(defs, config.metrics, new HostPaths(config.paths), logger), lines };
}

function series(families: Awaited<ReturnType<CollectorRegistry["scrape"]>>, name: string): Array<[string[], number]> {
  return (families.find((f) => f.desc.name === name)?.samples ?? []).map((s) => [[...s.labelValues], s.value]);
}

describe("CollectorRegistry", () => {
  it("reports success and duration per collector and merges families", async () => {
    const { reg } = registry([def("cpu", (out) => out.add(value, 1, "cpu")), def("meminfo", async (out) => out.add(value, 2, "meminfo"))]);
    expect(reg.collectorStates().find((s) => s.name === "cpu")?.lastScrapeAt).toBeUndefined();
    const before = Date.now();
    const families = await reg.scrape();
    // /status's time of the last scrape: an ISO 8601 string, made when asked.
    const at = reg.collectorStates().find((s) => s.name === "cpu")?.lastScrapeAt;
    expect(at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(at!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(at!)).toBeLessThanOrEqual(Date.now());
    expect(series(families, "test_value")).toEqual([
      [["cpu"], 1],
      [["meminfo"], 2],
    ]);
    expect(series(families, "node_scrape_collector_success")).toEqual([
      [["cpu"], 1],
      [["meminfo"], 1],
    ]);
    expect(series(families, "node_scrape_collector_duration_seconds").every(([, v]) => v >= 0 && v < 1)).toBe(true);
  });

  it("a failing collector sets success 0, keeps the others, and logs once per state change", async () => {
    let fail = true;
    const { reg, lines } = registry([
      def("cpu", () => {
        if (fail) throw new CollectorError("/proc/stat: no cpu lines");
      }),
      def("meminfo", (out) => out.add(value, 2, "meminfo")),
    ]);
    for (let i = 0; i < 3; i++) {
      const families = await reg.scrape();
      expect(series(families, "node_scrape_collector_success")).toEqual([
        [["cpu"], 0],
        [["meminfo"], 1],
      ]);
      expect(series(families, "test_value")).toEqual([[["meminfo"], 2]]);
    }
    expect(lines.filter((l) => l.msg === "collector failed")).toHaveLength(1);
    expect(lines[0]).toMatchObject({ collector: "cpu", err: "/proc/stat: no cpu lines", level: 40 });
    fail = false;
    await reg.scrape();
    expect(lines.filter((l) => l.msg === "collector recovered")).toHaveLength(1);
    expect(reg.collectorStates().find((s) => s.name === "cpu")).toMatchObject({ lastSuccess: true, failures: 3 });
  });

  it("a collector past its time limit does not hold the scrape and its partial output is dropped", async () => {
    const { reg } = registry([
      def("cpu", async (out) => {
        out.add(value, 1, "partial");
        await new Promise((r) => setTimeout(r, 5_000));
      }),
      def("meminfo", (out) => out.add(value, 2, "meminfo")),
    ]);
    const started = Date.now();
    const families = await reg.scrape();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(series(families, "test_value")).toEqual([[["meminfo"], 2]]);
    expect(series(families, "node_scrape_collector_success")[0]).toEqual([["cpu"], 0]);
    expect(reg.collectorStates().find((s) => s.name === "cpu")).toMatchObject({ timeouts: 1, lastError: "timed out after 0.2s" });
  });

  it("aborts the signal of a collector past its time limit, and starts off-thread collectors first", async () => {
    let seen: AbortSignal | undefined;
    const order: string[] = [];
    const config = loadConfig(["--collector.timeout=100ms"], {}).config;
    const reg = new CollectorRegistry(
      [
        { name: "cpu", defaultEnabled: true, create: () => ({ name: "cpu", update: () => void order.push("cpu") }) },
        {
          name: "filesystem",
          defaultEnabled: true,
          offThread: true,
          create: () => ({
            name: "filesystem",
            update: async (_out, ctx) => {
              order.push("filesystem");
              seen = ctx.signal;
              await new Promise((r) => setTimeout(r, 300));
            },
          }),
        },
      ],
      config.metrics,
      new HostPaths(config.paths),
      pino({ level: "silent" }),
    );
    const families = await reg.scrape();
    expect(order).toEqual(["filesystem", "cpu"]);
    expect(seen?.aborted).toBe(true);
    expect(series(families, "node_scrape_collector_success")).toEqual([
      [["cpu"], 1],
      [["filesystem"], 0],
    ]);
  });

  it("drops duplicate series emitted by two collectors and counts them", async () => {
    const { reg } = registry([def("cpu", (out) => out.add(value, 1, "same")), def("textfile", (out) => out.add(value, 9, "same"))]);
    const families = await reg.scrape();
    expect(series(families, "test_value")).toEqual([[["same"], 1]]);
    expect(reg.stats.duplicateSeries).toBe(1);
  });

  it("keeps series of the same labels that differ in suffix or label names when deduplicating", async () => {
    const bucket = { name: "h", help: "h", type: "histogram" as const, labelNames: [], sampleSuffix: "_sum" };
    const { reg } = registry([
      def("cpu", (out) => out.add(bucket, 1)),
      def("textfile", (out) => {
        out.add({ ...bucket, sampleSuffix: "_count" }, 2);
        out.add(bucket, 9);
      }),
    ]);
    const families = await reg.scrape();
    expect(families.find((f) => f.desc.name === "h")!.samples.map((s) => s.value)).toEqual([1, 2]);
    expect(reg.stats.duplicateSeries).toBe(1);
  });

  it("counts samples with the wrong number of labels instead of rendering them", async () => {
    const { reg } = registry([def("cpu", (out) => out.add(value, 1))]);
    const families = await reg.scrape();
    expect(series(families, "test_value")).toEqual([]);
    expect(reg.stats.invalidSamples).toBe(1);
  });

  it("selects collectors per scrape and rejects unknown ones", () => {
    const { reg } = registry([def("cpu", () => {}), def("meminfo", () => {}), def("loadavg", () => {})], ["--no-collector.loadavg"]);
    expect(reg.enabledNames()).toEqual(["cpu", "meminfo"]);
    expect(reg.select({ collect: ["meminfo"] })).toEqual(["meminfo"]);
    expect(reg.select({ exclude: ["meminfo"] })).toEqual(["cpu"]);
    expect(() => reg.select({ collect: ["loadavg"] })).toThrow(UnknownCollectorError);
  });
});
