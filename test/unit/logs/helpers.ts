import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { Registry } from "prom-client";
import { LogMetrics } from "../../../agent/logs/metrics.js";
import type { DecoderContext, LineDecoder } from "../../../agent/logs/parsers/decoder.js";
import type { LogOrigin, LogRecord } from "../../../agent/logs/record.js";
import { LineSplitter } from "../../../agent/logs/sources/line-splitter.js";

export const LOG_FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/logs");

export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(LOG_FIXTURES, name));
}

export const silentLogger = pino({ level: "silent" });

export function newMetrics(): { registry: Registry; metrics: LogMetrics } {
  const registry = new Registry();
  return { registry, metrics: new LogMetrics(registry) };
}

export async function counterValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  if (!metric) throw new Error(`no metric ${name}`);
  return metric.values
    .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, string>)[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

export const TEST_ORIGIN: LogOrigin = { source: "files", file: "/test/file.log" };

export function decoderContext(metrics: LogMetrics, overrides: Partial<DecoderContext> = {}): DecoderContext & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    origin: TEST_ORIGIN,
    metrics,
    maxMergedBytes: 1024 * 1024,
    readTime: "2000-01-01T00:00:00.000000000Z",
    warnOnce: (kind: string) => warnings.push(kind),
    warnings,
    ...overrides,
  };
}

/** Runs bytes through a LineSplitter and a decoder (then flushes it), like a tailer reading a whole file. */
export function decodeAll(decoder: LineDecoder, bytes: Buffer, maxLineBytes = 1024 * 1024): Array<{ record: LogRecord; start: number }> {
  const out: Array<{ record: LogRecord; start: number }> = [];
  const collect = (record: LogRecord, start: number) => out.push({ record, start });
  const splitter = new LineSplitter(maxLineBytes, 0);
  splitter.push(bytes, 0, (line, start, truncated) => decoder.decode(line, start, truncated, collect));
  splitter.flushPartial(bytes.length, (line, start, truncated) => decoder.decode(line, start, truncated, collect));
  decoder.flush(collect);
  return out;
}
