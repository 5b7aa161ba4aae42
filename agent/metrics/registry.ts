import type { Logger } from "pino";
import type { HostPaths } from "../host/paths.js";
import type { MetricsConfig } from "../config/sections/metrics.js";
import type { Collector, CollectorDefinition, CollectorExtras, ScrapeContext } from "./collector.js";
import { FamilyCollector, gauge, type MetricFamily } from "./model.js";

const scrapeDuration = gauge("node_scrape_collector_duration_seconds", "node_exporter: Duration of a collector scrape.", ["collector"]);
const scrapeSuccess = gauge("node_scrape_collector_success", "node_exporter: Whether a collector succeeded.", ["collector"]);

export interface CollectorState {
  name: string;
  lastDurationSeconds?: number;
  lastSuccess?: boolean;
  lastError?: string;
  /** ISO 8601, made when /status asks (a Date string per collector per scrape showed in profiles). */
  lastScrapeAt?: string;
  failures: number;
  timeouts: number;
}

interface RunningState extends Omit<CollectorState, "lastScrapeAt"> {
  lastScrapeAtMs?: number;
}

export interface ScrapeSelection {
  collect?: readonly string[];
  exclude?: readonly string[];
}

export interface ScrapeStats {
  /** Series dropped because another collector already emitted the same series. */
  duplicateSeries: number;
  /** Samples dropped because their label count did not match their family. */
  invalidSamples: number;
}

/**
 * A ScrapeContext whose AbortController is made only when a collector reads `signal`: most
 * collectors are synchronous and never look, and one controller per collector per scrape
 * showed up in profiles.
 */
class LazyAbort implements ScrapeContext {
  private controller?: AbortController;
  private aborted = false;

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.aborted) this.controller.abort();
    return this.controller.signal;
  }

  abort(): void {
    this.aborted = true;
    this.controller?.abort();
  }
}

export class UnknownCollectorError extends Error {
  constructor(readonly names: string[]) {
    super(`unknown or disabled collector(s): ${names.join(", ")}`);
    this.name = "UnknownCollectorError";
  }
}

/** camelCase config key of a collector name: thermal_zone -> thermalZone. */
export function configKeyOf(name: string): string {
  return name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Runs the enabled collectors for each scrape, concurrently, each under a time limit; records
 * node_scrape_collector_{duration_seconds,success}; merges their families. A failing or slow
 * collector never fails the scrape.
 */
export class CollectorRegistry {
  private readonly collectors = new Map<string, Collector>();
  private readonly states = new Map<string, RunningState>();
  private readonly lastLoggedError = new Map<string, string>();
  private readonly offThread = new Set<string>();
  readonly stats: ScrapeStats = { duplicateSeries: 0, invalidSamples: 0 };
  private readonly timeoutMs: number;

  constructor(
    definitions: readonly CollectorDefinition[],
    private readonly config: MetricsConfig,
    paths: HostPaths,
    private readonly logger: Logger,
    extras: CollectorExtras = {},
  ) {
    this.timeoutMs = config.collectorTimeout * 1000;
    const options = config.collectors as Record<string, { enabled: boolean }>;
    for (const def of definitions) {
      if (!options[configKeyOf(def.name)]?.enabled) continue;
      this.collectors.set(def.name, def.create({ ...extras, paths, config, logger: logger.child({ collector: def.name }) }));
      this.states.set(def.name, { name: def.name, failures: 0, timeouts: 0 });
      if (def.offThread) this.offThread.add(def.name);
    }
  }

  enabledNames(): string[] {
    return [...this.collectors.keys()];
  }

  collectorStates(): CollectorState[] {
    return [...this.states.values()].map(({ lastScrapeAtMs, ...s }) => ({
      ...s,
      ...(lastScrapeAtMs === undefined ? {} : { lastScrapeAt: new Date(lastScrapeAtMs).toISOString() }),
    }));
  }

  /** Resolves the collectors for one scrape from collect[]/exclude[] query parameters. */
  select(selection: ScrapeSelection = {}): string[] {
    const all = this.enabledNames();
    const unknown = [...(selection.collect ?? []), ...(selection.exclude ?? [])].filter((n) => !this.collectors.has(n));
    if (unknown.length > 0) throw new UnknownCollectorError(unknown);
    if (selection.collect && selection.collect.length > 0) return all.filter((n) => selection.collect!.includes(n));
    if (selection.exclude && selection.exclude.length > 0) return all.filter((n) => !selection.exclude!.includes(n));
    return all;
  }

  async scrape(names: readonly string[] = this.enabledNames()): Promise<MetricFamily[]> {
    // Collectors whose work runs off the main thread start first, so it overlaps the others.
    const ordered = [...names.filter((n) => this.offThread.has(n)), ...names.filter((n) => !this.offThread.has(n))];
    const byName = new Map((await Promise.all(ordered.map((name) => this.runOne(name)))).map((r) => [r.name, r]));
    const results = names.map((n) => byName.get(n)!);
    const merged = new Map<string, MetricFamily>();
    const shared = new Set<string>();
    const meta = new FamilyCollector();
    for (const r of results) {
      meta.add(scrapeDuration, r.seconds, r.name);
      meta.add(scrapeSuccess, r.success ? 1 : 0, r.name);
      if (!r.out) continue;
      this.stats.invalidSamples += r.out.invalid;
      for (const family of r.out.families.values()) {
        const prior = merged.get(family.desc.name);
        if (prior === undefined) {
          merged.set(family.desc.name, family);
        } else if (prior.desc.type !== family.desc.type) {
          this.stats.duplicateSeries += family.samples.length;
        } else {
          // Samples keep their own shape when the second collector's family descriptor differs.
          const samples =
            family.desc === prior.desc ? family.samples : family.samples.map((x) => (x.desc ? x : { ...x, desc: family.desc }));
          merged.set(family.desc.name, { desc: prior.desc, samples: [...prior.samples, ...samples] });
          shared.add(family.desc.name);
        }
      }
    }
    for (const name of shared) merged.set(name, this.dedupe(merged.get(name)!));
    return [...merged.values(), ...meta.families.values()];
  }

  /** Drops repeated series (same labels) of a family filled by several collectors, keeping the first. */
  private dedupe(family: MetricFamily): MetricFamily {
    const seen = new Set<string>();
    const samples = family.samples.filter((s) => {
      const d = s.desc ?? family.desc;
      const key = `${d.sampleSuffix ?? ""}\u0001${d.labelNames.join("\u0000")}\u0001${s.labelValues.join("\u0000")}`;
      if (seen.has(key)) {
        this.stats.duplicateSeries++;
        return false;
      }
      seen.add(key);
      return true;
    });
    return { desc: family.desc, samples };
  }

  private async runOne(name: string): Promise<{ name: string; seconds: number; success: boolean; out?: FamilyCollector }> {
    const collector = this.collectors.get(name)!;
    const state = this.states.get(name)!;
    const out = new FamilyCollector();
    const abort = new LazyAbort();
    // Collectors start one after another in microtasks (most are synchronous), so each one's
    // duration runs from its own start to its own end, not from the start of the scrape.
    let started = performance.now();
    let finished: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    let error: unknown;
    let timedOut = false;
    try {
      const work = Promise.resolve().then(async () => {
        started = performance.now();
        const pending = collector.update(out, abort);
        // A synchronous collector's end is taken right away, before the next collector runs.
        if (pending === undefined) finished = performance.now();
        else await pending.finally(() => (finished = performance.now()));
      });
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          abort.abort();
          reject(new Error(`timed out after ${this.config.collectorTimeout}s`));
        }, this.timeoutMs);
      });
      work.catch(() => undefined);
      await Promise.race([work, limit]);
    } catch (err) {
      error = err;
    } finally {
      clearTimeout(timer);
    }
    const seconds = ((finished ?? performance.now()) - started) / 1000;
    const success = error === undefined;
    this.recordState(state, seconds, success, error, timedOut);
    // A collector past its limit may still be writing; its partial output is not served.
    return { name, seconds, success, out: timedOut ? undefined : out };
  }

  private recordState(state: RunningState, seconds: number, success: boolean, error: unknown, timedOut: boolean): void {
    const wasSuccess = state.lastSuccess;
    state.lastDurationSeconds = seconds;
    state.lastScrapeAtMs = Date.now();
    state.lastSuccess = success;
    if (success) {
      state.lastError = undefined;
      if (wasSuccess === false) this.logger.info({ collector: state.name }, "collector recovered");
      return;
    }
    state.failures++;
    if (timedOut) state.timeouts++;
    const message = error instanceof Error ? error.message : String(error);
    state.lastError = message;
    // Logged once per change of state (and of error message), not on every scrape.
    if (wasSuccess !== false || this.lastLoggedError.get(state.name) !== message) {
      this.logger.warn({ collector: state.name, err: message, duration_seconds: seconds }, "collector failed");
      this.lastLoggedError.set(state.name, message);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.collectors.values()].map((c) => c.close?.()));
  }
}
