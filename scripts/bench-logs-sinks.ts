/**
 * Sink benchmark: the real agent ships the same CRI files (scripts/bench-logs-data.ts) into each
 * network sink's real server, beside the HTTP sink into the counting receiver of bench:logs, in
 * one run. One row per sink: lines/s from the agent being ready until the server acknowledged
 * every record (nodetap_log_records_sent_total), agent CPU seconds and peak RSS; then the count
 * stored by the server is checked once (`stored`).
 *
 *   npx tsx scripts/bench-logs-sinks.ts                     # 64 MiB in 4 files, every sink
 *   BENCH_LOGS_SINKS=loki,elasticsearch BENCH_LOGS_SINKS_MB=16 npx tsx scripts/bench-logs-sinks.ts
 *
 * scripts/bench-logs.ts can add these rows to its report:
 *
 *   import { benchSinks, sinkTable } from "./bench-logs-sinks.js";
 *   const sinkRows = await benchSinks(data);            // data: generateCriFiles(...)
 *   report += sinkTable(sinkRows, data);
 *
 * Servers (built/cached by scripts/testenv-sinks-*.sh): VictoriaLogs (Loki push, protobuf+snappy
 * and JSON+gzip), the OpenTelemetry Collector (OTLP/HTTP protobuf+gzip, file exporter),
 * OpenSearch 2.19 (_bulk, gzip), syslog-ng (RFC 5424 over TCP). Each server runs on the same
 * 2 shared cores as the agent, so a slow server lowers its row: compare rows of one run only.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { OpenSearch } from "../test/integration/sinks/harness/opensearch.js";
import { OtelCollector } from "../test/integration/sinks/harness/otelcol.js";
import { SyslogNg } from "../test/integration/sinks/harness/syslog-ng.js";
import { VictoriaLogs } from "../test/integration/sinks/harness/victorialogs.js";
import { generateCriFiles, type GeneratedData } from "./bench-logs-data.js";
import { cpuSeconds, peakRssBytes, startHttpCounter, startNodetapWithSink } from "./bench-logs-peers.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MiB = 1024 * 1024;
const TIMEOUT_MS = 20 * 60_000;

export const SINKS = ["http", "loki", "loki-json", "otlp", "elasticsearch", "syslog"] as const;
export type BenchSink = (typeof SINKS)[number];

export interface SinkRow {
  sink: BenchSink;
  server: string;
  records: number;
  seconds: number;
  cpu: number;
  peakRss: number;
  /** Records the server holds afterwards (undefined when it cannot be counted cheaply). */
  stored?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Target {
  server: string;
  sink: Record<string, unknown>;
  stored(): Promise<number | undefined>;
  stop(): Promise<void>;
}

async function startTarget(sink: BenchSink, work: string): Promise<Target> {
  switch (sink) {
    case "http": {
      const counter = { lines: 0, firstAt: 0 };
      const rx = await startHttpCounter(counter);
      return {
        server: "counting receiver (bench:logs)",
        sink: { type: "http", http: { url: rx.url } },
        stored: async () => counter.lines,
        stop: rx.close,
      };
    }
    case "loki":
    case "loki-json": {
      const vl = await VictoriaLogs.start(work);
      const encoding = sink === "loki" ? "protobuf" : "json";
      return {
        server: `VictoriaLogs (Loki push, ${encoding === "protobuf" ? "protobuf+snappy" : "json+gzip"})`,
        sink: {
          type: "loki",
          loki: { url: `${vl.base}/insert/loki/api/v1/push`, encoding, headers: { "VL-Loki-Disable-Message-Parsing": "true" } },
        },
        stored: () => vl.count("*"),
        stop: () => vl.stop(),
      };
    }
    case "otlp": {
      const col = await OtelCollector.start(path.join(work, "otelcol"));
      return {
        server: "OpenTelemetry Collector (OTLP/HTTP protobuf+gzip -> file)",
        sink: { type: "otlp", otlp: { url: col.url } },
        stored: async () => col.logs().length,
        stop: () => col.stop(),
      };
    }
    case "elasticsearch": {
      const es = await OpenSearch.start(path.join(work, "opensearch"));
      await es.request("PUT", "/_index_template/bench", {
        index_patterns: ["nodetap-bench"],
        template: { settings: { number_of_replicas: 0, refresh_interval: "5s" } },
      });
      return {
        server: "OpenSearch 2.19 (_bulk, gzip)",
        sink: { type: "elasticsearch", elasticsearch: { url: es.url, mode: "index", index: "nodetap-bench" } },
        stored: () => es.count("nodetap-bench"),
        stop: () => es.stop(),
      };
    }
    case "syslog": {
      const sng = await SyslogNg.start(path.join(work, "syslog-ng"));
      return {
        server: "syslog-ng (RFC 5424, TCP)",
        sink: { type: "syslog", syslog: { address: `127.0.0.1:${sng.tcpPort}` } },
        stored: async () => sng.messages().length,
        stop: () => sng.stop(),
      };
    }
  }
}

async function sentRecords(address: string, sink: string): Promise<number> {
  const text = await (await fetch(`${address}/metrics`)).text();
  const m = new RegExp(`^nodetap_log_records_sent_total\\{sink="${sink}"\\} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** Runs the agent on `files` into one sink's server until every record is acknowledged. */
export async function benchSink(sink: BenchSink, data: GeneratedData): Promise<SinkRow> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `nodetap-bench-${sink}-`));
  const target = await startTarget(sink, work);
  try {
    const agent = await startNodetapWithSink(work, data.files, target.sink, REPO_ROOT);
    const { proc, pid, address, readyAt, startupCpu } = agent;
    const deadline = Date.now() + TIMEOUT_MS;
    const typeLabel = (target.sink as { type: string }).type;
    let sent = 0;
    while ((sent = await sentRecords(address, typeLabel)) < data.records) {
      if (proc.exitCode !== null) throw new Error(`nodetap exited early (${sent}/${data.records})`);
      if (Date.now() > deadline) throw new Error(`timed out at ${sent}/${data.records} records`);
      await sleep(100);
    }
    const seconds = (performance.now() - readyAt) / 1000;
    const cpu = cpuSeconds(pid) - startupCpu;
    const peakRss = peakRssBytes(pid);
    await agent.stop();
    await sleep(sink === "elasticsearch" ? 6000 : 2000); // let the server make the last records visible
    const stored = await target.stored().catch(() => undefined);
    return { sink, server: target.server, records: data.records, seconds, cpu, peakRss, stored };
  } finally {
    await target.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export async function benchSinks(
  data: GeneratedData,
  sinks: readonly BenchSink[] = (process.env.BENCH_LOGS_SINKS?.split(",") as BenchSink[] | undefined) ?? SINKS,
): Promise<SinkRow[]> {
  const rows: SinkRow[] = [];
  for (const sink of sinks) {
    process.stderr.write(`bench:logs:sinks: ${sink} ...\n`);
    rows.push(await benchSink(sink, data));
  }
  return rows;
}

export function sinkTable(rows: readonly SinkRow[], data: GeneratedData): string {
  const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  const http = rows.find((r) => r.sink === "http");
  return [
    `### Sinks into real servers — ${fmt(data.records)} records, ${fmt(data.bytes / MiB)} MiB of CRI files`,
    "",
    "| sink | server | lines/s | vs http | MiB/s | agent CPU s | lines per CPU s | peak RSS MiB | stored |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.sink} | ${r.server} | ${fmt(r.records / r.seconds)} | ${http ? `${(r.records / r.seconds / (http.records / http.seconds)).toFixed(2)}x` : ""} | ${fmt(data.bytes / MiB / r.seconds, 1)} | ${fmt(r.cpu, 1)} | ${fmt(r.records / r.cpu)} | ${fmt(r.peakRss / MiB)} | ${r.stored === undefined ? "?" : fmt(r.stored)} |`,
    ),
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const totalMb = Number(process.env.BENCH_LOGS_SINKS_MB ?? 64);
  const files = Number(process.env.BENCH_LOGS_FILES ?? 4);
  const dataDir = path.join(REPO_ROOT, ".bench", "logs-sinks-data");
  const data = generateCriFiles(dataDir, files, Math.max(1, Math.round(totalMb / files)));
  const rows = await benchSinks(data);
  const report = `## bench:logs:sinks — ${new Date().toISOString()} on ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}\n\n${sinkTable(rows, data)}`;
  process.stdout.write(report);
  fs.mkdirSync(path.join(REPO_ROOT, ".bench"), { recursive: true });
  fs.writeFileSync(path.join(REPO_ROOT, ".bench", "logs-sinks.md"), report);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench:logs:sinks failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
