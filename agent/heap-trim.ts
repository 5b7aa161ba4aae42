import v8 from "node:v8";
import vm from "node:vm";
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";

/**
 * Gives memory that V8 keeps after a burst back to the system. After start-up or a burst of
 * scrapes V8 keeps its grown young generation and its freed pages, and its own memory reducer
 * seldom runs in this process (Node 24's judges the allocation rate "high" for good, per
 * --trace-memory-reducer, even in a process that only loads fastify and listens). Measured on
 * Node 24: 97 MiB RSS after 400 scrapes, still 97 after 30 s idle, 78.5 after one
 * memory-reducing collection (gc flavor "last-resort", 40-50 ms); the figures with trimming on
 * and off side by side are in docs/benchmarks.md ("Heap trimming").
 * A collection costs a pause and some recompilation, so it runs only when the RSS grew by
 * MIN_GROWTH_BYTES since the last one: a steady agent seldom trims, one after a burst does.
 */
export const MIN_GROWTH_BYTES = 8 * 2 ** 20;

/** The first trim waits for start-up to settle (the host inventory, the first scans and scrapes). */
const FIRST_TRIM_AFTER_MS = 15_000;

type GcFunction = (options?: { type?: "major" | "minor"; execution?: "sync" | "async"; flavor?: "regular" | "last-resort" }) => void;

/**
 * V8's gc function without --expose-gc on the command line (the single binary and the image
 * could set it, `npm start` and a user's `node` would not): the flag is set, a fresh context
 * hands out its `gc` global, and the flag is cleared again, so no other code sees one.
 */
export function obtainGc(): GcFunction {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === "function") return exposed as GcFunction;
  v8.setFlagsFromString("--expose-gc");
  try {
    const gc = vm.runInNewContext("gc") as unknown;
    if (typeof gc !== "function") throw new Error("V8 did not expose gc");
    return gc as GcFunction;
  } finally {
    v8.setFlagsFromString("--no-expose-gc");
  }
}

export interface HeapTrimOptions {
  /** Seconds between checks; 0 turns trimming off. */
  intervalSeconds: number;
  logger: Logger;
  registry: Registry;
  /** For tests: the RSS reader and the collector. */
  rss?: () => number;
  gc?: GcFunction;
}

export class HeapTrimmer {
  private timer: NodeJS.Timeout | undefined;
  private baseline = 0;
  private readonly trims: Counter<"reason">;
  private readonly pauseSeconds: Counter;
  private readonly releasedBytes: Counter;
  private readonly rss: () => number;

  constructor(private readonly options: HeapTrimOptions) {
    this.rss = options.rss ?? (() => process.memoryUsage.rss());
    this.trims = new Counter({
      name: "nodetap_heap_trims_total",
      help: "Memory-reducing garbage collections run by runtime.heapTrimInterval, by reason: start (once start-up settled), growth (the RSS grew by 8 MiB since the last one).",
      labelNames: ["reason"],
      registers: [options.registry],
    });
    for (const reason of ["start", "growth"]) this.trims.inc({ reason }, 0);
    this.pauseSeconds = new Counter({
      name: "nodetap_heap_trim_pause_seconds_total",
      help: "Time the event loop was paused by those collections.",
      registers: [options.registry],
    });
    this.releasedBytes = new Counter({
      name: "nodetap_heap_trim_released_bytes_total",
      help: "RSS given back by those collections (RSS before minus after, when positive).",
      registers: [options.registry],
    });
  }

  /** Starts the checks; false (with a log line) when V8's gc cannot be had. */
  start(): boolean {
    if (this.options.intervalSeconds <= 0 || this.timer !== undefined) return false;
    let gc: GcFunction;
    try {
      gc = this.options.gc ?? obtainGc();
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, "heap trimming is off: V8's gc is not available");
      return false;
    }
    const first = setTimeout(
      () => {
        this.trim(gc, "start");
        this.timer = setInterval(() => this.check(gc), this.options.intervalSeconds * 1000);
        this.timer.unref();
      },
      Math.min(FIRST_TRIM_AFTER_MS, this.options.intervalSeconds * 1000),
    );
    first.unref();
    this.timer = first;
    return true;
  }

  stop(): void {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(gc: GcFunction): void {
    if (this.rss() - this.baseline >= MIN_GROWTH_BYTES) this.trim(gc, "growth");
  }

  private trim(gc: GcFunction, reason: "start" | "growth"): void {
    const before = this.rss();
    const started = performance.now();
    gc({ type: "major", execution: "sync", flavor: "last-resort" });
    const pause = (performance.now() - started) / 1000;
    this.baseline = this.rss();
    this.trims.inc({ reason });
    this.pauseSeconds.inc(pause);
    this.releasedBytes.inc(Math.max(0, before - this.baseline));
    this.options.logger.debug({ reason, pause_seconds: pause, rss_before: before, rss_after: this.baseline }, "heap trimmed");
  }
}
