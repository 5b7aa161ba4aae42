import v8 from "node:v8";
import { Gauge, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from "prom-client";
import { VERSION, REVISION } from "./version.js";
import type { GenericFamily } from "./metrics/exposition.js";
import { EventLoopDelaySampler, type EventLoopDelayStats } from "./event-loop-delay.js";
import { OpenDescriptorCounter } from "./host/open-descriptors.js";
import { readText } from "./host/read.js";

/**
 * nodetap's own metrics (nodetap_*, process_*, nodejs_*) live in a prom-client registry; the log
 * pipeline and the HTTP server register theirs here. Host metrics do not: they are built per
 * scrape by the collectors, which is cheaper than keeping prom-client objects for them.
 */
export function createSelfRegistry(options: { runtimeMetrics: boolean }): Registry {
  const registry = new Registry();
  if (options.runtimeMetrics) {
    // prom-client's event-loop histogram is replaced (registerEventLoopLag says why): with a
    // resolution of 2^31-1 ms its timer never fires, and its gauges are taken out of the registry.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 2 ** 31 - 1 });
    for (const name of [...REPLACED_EVENT_LOOP_GAUGES, ...REPLACED_HEAP_GAUGES, ...REPLACED_PROCESS_GAUGES, ...MISNAMED_RUNTIME_GAUGES])
      registry.removeSingleMetric(name);
    registerEventLoopLag(registry);
    registerHeapSize(registry);
    registerOpenDescriptors(registry);
    registerProcessMemory(registry);
    const build = new Gauge({
      name: "nodetap_build_info",
      help: "A metric with a constant '1' value labeled by version, revision and nodeversion from which nodetap was built.",
      labelNames: ["version", "revision", "nodeversion"],
      registers: [registry],
    });
    build.set({ version: VERSION, revision: REVISION, nodeversion: process.version }, 1);
  }
  return registry;
}

/**
 * prom-client's gauges that end in `_total` (promtool: "non-counter metrics should not have _total
 * suffix"). Their per-type twins (nodejs_active_handles{type}, ...) carry the same data. They are
 * removed from the registry, so they are not computed either (each lists every handle).
 */
const MISNAMED_RUNTIME_GAUGES = ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"];

const REPLACED_EVENT_LOOP_GAUGES = [
  "nodejs_eventloop_lag_seconds",
  "nodejs_eventloop_lag_min_seconds",
  "nodejs_eventloop_lag_max_seconds",
  "nodejs_eventloop_lag_mean_seconds",
  "nodejs_eventloop_lag_stddev_seconds",
  "nodejs_eventloop_lag_p50_seconds",
  "nodejs_eventloop_lag_p90_seconds",
  "nodejs_eventloop_lag_p99_seconds",
];

const REPLACED_HEAP_GAUGES = ["nodejs_heap_size_total_bytes", "nodejs_heap_size_used_bytes", "nodejs_external_memory_bytes"];

const REPLACED_PROCESS_GAUGES = ["process_open_fds", "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_heap_bytes"];

/** prom-client's process_open_fds, same name and help, counted without listing /proc/self/fd where the kernel allows. */
function registerOpenDescriptors(registry: Registry): void {
  const counter = new OpenDescriptorCounter();
  new Gauge({
    name: "process_open_fds",
    help: "Number of open file descriptors.",
    registers: [registry],
    collect() {
      const count = counter.count();
      if (count !== undefined) this.set(count);
    },
  });
}

/**
 * prom-client's heap gauges, same names and help, from v8.getHeapStatistics(): the same numbers
 * as its process.memoryUsage(), without the /proc/self/stat read that memoryUsage() makes for
 * the RSS (process_resident_memory_bytes reads /proc/self/status already).
 */
function registerHeapSize(registry: Registry): void {
  let stats: v8.HeapInfo | undefined;
  new Gauge({
    name: "nodejs_heap_size_total_bytes",
    help: "Process heap size from Node.js in bytes.",
    registers: [registry],
    // Registered first: its collect reads the statistics the two gauges below report.
    collect() {
      stats = v8.getHeapStatistics();
      this.set(stats.total_heap_size);
    },
  });
  new Gauge({
    name: "nodejs_heap_size_used_bytes",
    help: "Process heap size used from Node.js in bytes.",
    registers: [registry],
    collect() {
      if (stats !== undefined) this.set(stats.used_heap_size);
    },
  });
  new Gauge({
    name: "nodejs_external_memory_bytes",
    help: "Node.js external memory size in bytes.",
    registers: [registry],
    collect() {
      if (stats !== undefined) this.set(stats.external_memory);
    },
  });
}

/** A "Name:   1234 kB" field of /proc/self/status in bytes; undefined when missing. */
export function statusFieldBytes(status: string, name: string): number | undefined {
  const at = status.indexOf(`\n${name}:`);
  if (at < 0) return undefined;
  const kib = Number.parseInt(status.slice(at + name.length + 2, status.indexOf("\n", at + 1)).trim(), 10);
  return Number.isNaN(kib) ? undefined : kib * 1024;
}

/**
 * prom-client's process_{resident,virtual}_memory_bytes and process_heap_bytes (VmRSS, VmSize and
 * VmData of /proc/self/status), same names and help, read through host/read.ts, which keeps the
 * file's descriptor open between scrapes where /proc is the procfs it reads from.
 */
function registerProcessMemory(registry: Registry): void {
  let status = "";
  const gauge = (name: string, help: string, field: string, first = false) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (first) {
          try {
            status = readText("/proc/self/status");
          } catch {
            status = "";
          }
        }
        const bytes = statusFieldBytes(status, field);
        if (bytes !== undefined) this.set(bytes);
      },
    });
  // The first registered reads the file for all three (a registry collects in registration order).
  gauge("process_resident_memory_bytes", "Resident memory size in bytes.", "VmRSS", true);
  gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", "VmSize");
  gauge("process_heap_bytes", "Process heap size in bytes.", "VmData");
}

/** How often the event-loop delay is sampled: an idle agent wakes up 10 times a second for it. */
const EVENT_LOOP_SAMPLE_INTERVAL_MS = 100;

/**
 * prom-client's nodejs_eventloop_lag_* gauges, same names, help and type, computed cheaply. Its
 * own read a perf_hooks histogram whose mean and stddev walk every bucket (about 0.75 ms of CPU
 * per scrape, measured), reported the timer's resolution as lag (0.1 s when idle), and gave
 * 9.2e9 and NaN to a scrape that came less than one resolution after the previous one. Here the
 * min/max/mean/stddev/percentiles are of the delays since the previous scrape (as prom-client's,
 * which resets its histogram each scrape), 0 when idle, and a scrape too soon for a new sample
 * repeats the previous window's values. nodejs_eventloop_lag_seconds is how long a setImmediate
 * queued by this scrape waited, as prom-client's (which reported it one scrape late).
 */
function registerEventLoopLag(registry: Registry): void {
  const sampler = new EventLoopDelaySampler(EVENT_LOOP_SAMPLE_INTERVAL_MS);
  sampler.start();
  let last: EventLoopDelayStats | undefined;
  const gauge = (name: string, help: string, pick: (stats: EventLoopDelayStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (last !== undefined) this.set(pick(last));
      },
    });
  new Gauge({
    name: "nodejs_eventloop_lag_seconds",
    help: "Lag of event loop in seconds.",
    registers: [registry],
    // Registered first: its collect takes the window that the gauges below read.
    collect() {
      last = sampler.window.take() ?? last;
      const queued = performance.now();
      return new Promise<void>((resolve) =>
        setImmediate(() => {
          this.set((performance.now() - queued) / 1000);
          resolve();
        }),
      );
    },
  });
  gauge("nodejs_eventloop_lag_min_seconds", "The minimum recorded event loop delay.", (s) => s.min);
  gauge("nodejs_eventloop_lag_max_seconds", "The maximum recorded event loop delay.", (s) => s.max);
  gauge("nodejs_eventloop_lag_mean_seconds", "The mean of the recorded event loop delays.", (s) => s.mean);
  gauge("nodejs_eventloop_lag_stddev_seconds", "The standard deviation of the recorded event loop delays.", (s) => s.stddev);
  gauge("nodejs_eventloop_lag_p50_seconds", "The 50th percentile of the recorded event loop delays.", (s) => s.p50);
  gauge("nodejs_eventloop_lag_p90_seconds", "The 90th percentile of the recorded event loop delays.", (s) => s.p90);
  gauge("nodejs_eventloop_lag_p99_seconds", "The 99th percentile of the recorded event loop delays.", (s) => s.p99);
}

/** prom-client's families in the renderer's generic shape. */
export async function selfFamilies(registry: Registry): Promise<GenericFamily[]> {
  const json = (await registry.getMetricsAsJSON()) as MetricObjectWithValues<MetricValue<string>>[];
  return json.map((m) => ({
    name: m.name,
    help: m.help,
    type: m.type as unknown as GenericFamily["type"],
    samples: m.values.map((v) => ({
      name: (v as { metricName?: string }).metricName ?? m.name,
      labels: Object.entries(v.labels).map(([k, val]) => [k, String(val)] as [string, string]),
      value: v.value,
    })),
  }));
}
