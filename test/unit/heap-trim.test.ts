import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { HeapTrimmer, MIN_GROWTH_BYTES, obtainGc } from "../../agent/heap-trim.js";

const logger = pino({ level: "silent" });
const MiB = 2 ** 20;

afterEach(() => {
  vi.useRealTimers();
});

async function counters(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of m.values) out[`${m.name}${v.labels.reason ? `{${v.labels.reason}}` : ""}`] = Number(v.value);
  }
  return out;
}

describe("HeapTrimmer", () => {
  it("trims once start-up settled, then only when the RSS grew by MIN_GROWTH_BYTES since the last trim", async () => {
    vi.useFakeTimers();
    let rss = 100 * MiB;
    const gc = vi.fn(() => {
      rss -= 10 * MiB;
    });
    const registry = new Registry();
    const trimmer = new HeapTrimmer({ intervalSeconds: 60, logger, registry, rss: () => rss, gc });
    expect(trimmer.start()).toBe(true);
    vi.advanceTimersByTime(14_000);
    expect(gc).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1_000);
    expect(gc).toHaveBeenCalledTimes(1);
    expect(gc).toHaveBeenCalledWith({ type: "major", execution: "sync", flavor: "last-resort" });
    // 90 MiB after the first trim; growth below the threshold is left alone.
    rss += MIN_GROWTH_BYTES - 1;
    vi.advanceTimersByTime(60_000);
    expect(gc).toHaveBeenCalledTimes(1);
    rss += 1;
    vi.advanceTimersByTime(60_000);
    expect(gc).toHaveBeenCalledTimes(2);
    expect(await counters(registry)).toMatchObject({
      "nodetap_heap_trims_total{start}": 1,
      "nodetap_heap_trims_total{growth}": 1,
      nodetap_heap_trim_released_bytes_total: 20 * MiB,
    });
    trimmer.stop();
    rss += 50 * MiB;
    vi.advanceTimersByTime(600_000);
    expect(gc).toHaveBeenCalledTimes(2);
  });

  it("is off with an interval of 0", () => {
    const gc = vi.fn();
    expect(new HeapTrimmer({ intervalSeconds: 0, logger, registry: new Registry(), gc }).start()).toBe(false);
  });

  it("gets V8's gc without --expose-gc, and leaves no gc global behind", () => {
    const hadGlobal = typeof (globalThis as { gc?: unknown }).gc === "function";
    const gc = obtainGc();
    expect(typeof gc).toBe("function");
    gc({ type: "major", execution: "sync", flavor: "last-resort" });
    expect(typeof (globalThis as { gc?: unknown }).gc === "function").toBe(hadGlobal);
  });
});
