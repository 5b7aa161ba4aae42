import pino, { type Logger } from "pino";
import { Registry } from "prom-client";
import { defaultsOf } from "../../../../agent/config/schema.js";
import { FilterChain } from "../../../../agent/logs/filters/chain.js";
import {
  filterVariants,
  matchSection,
  type FilterConfig,
  type FilterType,
  type MatchConfig,
} from "../../../../agent/logs/filters/schema.js";
import { makeRecord, type LogOrigin, type LogRecord, type LogStream } from "../../../../agent/logs/record.js";

export const T0 = "2026-01-01T00:00:00.000000000Z";

export const podOrigin: LogOrigin = {
  source: "pods",
  file: "/var/log/pods/ns_pod_uid/c/0.log",
  node: "n1",
  kubernetes: { namespace: "ns", podName: "pod", podUid: "uid", containerName: "c", restartCount: 0 },
};

export function podOf(namespace: string, podName: string, containerName: string): LogOrigin {
  return {
    source: "pods",
    file: `/var/log/pods/${namespace}_${podName}_uid/${containerName}/0.log`,
    node: "n1",
    kubernetes: { namespace, podName, podUid: "uid", containerName, restartCount: 0 },
  };
}

export const hostOrigin: LogOrigin = { source: "host", file: "/var/log/syslog", node: "n1" };
export const journalOrigin: LogOrigin = { source: "journald", node: "n1" };

export function rec(
  message: string,
  opts: { origin?: LogOrigin; stream?: LogStream; attributes?: Record<string, string>; time?: string } = {},
): LogRecord {
  return makeRecord(opts.time ?? T0, opts.stream ?? "stdout", message, opts.origin ?? podOrigin, false, opts.attributes);
}

type Over<K extends FilterType> = Partial<Omit<Extract<FilterConfig, { type: K }>, "type" | "match">> & { match?: Partial<MatchConfig> };

/** A filter's full config: its type's defaults under `over`. */
export function cfg<K extends FilterType>(type: K, over: Over<K> = {} as Over<K>): FilterConfig {
  const { match, ...rest } = over;
  return {
    type,
    ...defaultsOf(filterVariants[type]),
    ...rest,
    match: { ...defaultsOf(matchSection), ...match },
  } as unknown as FilterConfig;
}

/** The match section's defaults under `over`. */
export function matchOf(over: Partial<MatchConfig>): MatchConfig {
  return { ...defaultsOf(matchSection), ...over };
}

export interface Logged {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger whose lines (parsed) land in `lines`. */
export function capturingLogger(): { logger: Logger; lines: Logged[] } {
  const lines: Logged[] = [];
  const logger = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s) as Logged) });
  return { logger, lines };
}

export function setup(configs: FilterConfig[], opts: { clock?: () => number } = {}) {
  const registry = new Registry();
  const { logger, lines } = capturingLogger();
  const chain = new FilterChain(configs, { registry, logger, clock: opts.clock });
  return { registry, chain, logs: lines };
}

/** One filter built alone: apply(message or record). */
export function one(config: FilterConfig) {
  const s = setup([config]);
  const apply = (input: string | LogRecord, now = 0) => s.chain.apply(typeof input === "string" ? rec(input) : input, now);
  return { ...s, apply };
}

/** nodetap_log_filter_records_total{filter,outcome}. */
export async function outcome(registry: Registry, filter: string, what: string): Promise<number> {
  return valueOf(registry, "nodetap_log_filter_records_total", { filter, outcome: what });
}

/** A metric's value for the labels given (0 when it has no such series). */
export async function valueOf(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x));
  return found?.value ?? 0;
}

/** Every attribute value of a record is a string (own, enumerable). */
export function allStrings(record: LogRecord): boolean {
  const a = record.attributes;
  if (a === undefined) return true;
  return Object.keys(a).every((k) => typeof a[k] === "string") && typeof record.message === "string" && typeof record.time === "string";
}
