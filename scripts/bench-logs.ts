/**
 * Log shipping benchmark: nodetap and syslog-ng tailing the same CRI container log files, side
 * by side in one run. Prints a markdown table and the nodetap/syslog-ng ratio, and writes it to
 * .bench/logs.md.
 *
 *   npm run bench:logs                          # 512 MiB in 4 files, 10 s latency phase
 *   BENCH_LOGS_MB=64 npm run bench:logs         # short run while developing
 *
 * Throughput phase, per tool, on the same files (generated once under .bench/logs-data):
 * - nodetap (the real agent as `npm start` runs it: the esbuild bundle, built first, with the
 *   image's MALLOC_ARENA_MAX=2; logs pipeline only) reads the files from the start,
 *   parses CRI (merging P pieces), encodes NDJSON records with Kubernetes metadata and POSTs
 *   them to a counting HTTP receiver in this process (gzip level 1, the default, and no
 *   compression); syslog-ng (file() sources, flow control, raw lines, network() destination)
 *   sends "$MSG\n" over TCP to a counting receiver. Done when every record arrived.
 * - lines/s and MiB/s of input, from the tool being ready to the last record received;
 *   CPU seconds (utime+stime of the process from /proc, startup excluded); peak RSS (VmHWM).
 * - nodetap (routing chain): the same files through filters and routes to two sinks (see
 *   routingChain), measured until the sink that gets every record has them all.
 * Latency phase: a writer appends CRI lines stamped with their write time at a steady
 * BENCH_LOGS_RATE lines/s (default 20,000) for BENCH_LOGS_LATENCY_S seconds; the receiver
 * computes arrival - write time per line: p50 and p99. For nodetap arrival is the sink's ack
 * (the receiver answers 200 as soon as the body is in). In this phase nodetap also runs its default
 * metrics collectors and is scraped every second; the RSS of each tool at the end of it is the
 * "steady RSS" column.
 *
 * The machine is shared and noisy: compare the two tools in the same run, not across runs.
 */
import { benchSinks, sinkTable } from "./bench-logs-sinks.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TimestampedWriter, collectLatencies, generateCriFiles, percentile } from "./bench-logs-data.js";
import {
  cpuSeconds,
  peakRssBytes,
  buildAgentBundle,
  startHttpCounter,
  startNodetap,
  startNodetapWithSink,
  startSyslogNg,
  startTcpCounter,
  type Counter,
  type Peer,
} from "./bench-logs-peers.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MiB = 1024 * 1024;
const TOTAL_MB = Number(process.env.BENCH_LOGS_MB ?? 512);
const FILES = Number(process.env.BENCH_LOGS_FILES ?? 4);
const RATE = Number(process.env.BENCH_LOGS_RATE ?? 20_000);
const LATENCY_S = Number(process.env.BENCH_LOGS_LATENCY_S ?? 10);
const TIMEOUT_MS = 15 * 60_000;

interface Row {
  tool: string;
  lines: number;
  seconds: number;
  cpu: number;
  peakRss: number;
  steadyRss?: number;
  p50?: number;
  p99?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilCount(counter: Counter, want: number, peer: Peer): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (counter.lines < want) {
    if (peer.proc.exitCode !== null) throw new Error(`peer exited early (${counter.lines}/${want} lines)`);
    if (Date.now() > deadline) throw new Error(`timed out at ${counter.lines}/${want} lines`);
    await sleep(20);
  }
}

type Tool = "nodetap (gzip)" | "nodetap (no compression)" | "nodetap (routing chain)" | "syslog-ng";

/**
 * A realistic chain: two namespaces excluded (none in the data, so every record is matched and
 * kept), every line's "seq=N " prefix parsed by a regex into an attribute, JSON lines parsed (a
 * fifth of the data), a per-container rate limit high enough never to
 * drop at full speed (its buckets still run for every record), and two gzip HTTP sinks: every
 * record to one, a copy of stderr (a tenth) to the other.
 */
function routingChain(all: string, errors: string): Record<string, unknown> {
  const http = (url: string) => ({ type: "http", http: { url, compression: "gzip" } });
  return {
    sinks: { all: http(all), errors: http(errors) },
    routes: [
      { name: "everything", sinks: ["all"] },
      { name: "stderr-copy", match: { streams: ["stderr"] }, sinks: ["errors"] },
    ],
    filters: [
      { type: "drop", name: "exclude-namespaces", match: { namespaces: ["kube-system", "monitoring"] } },
      // The data's messages start with "seq=N "; its JSON lines are JSON after that prefix.
      { type: "regex", name: "seq-prefix", pattern: "^seq=(?<seq>\\d+) (?<message>.*)$" },
      { type: "json", name: "parse-json" },
      { type: "rateLimit", name: "per-container", linesPerSecond: 10_000_000, burst: 10_000_000 },
    ],
  };
}

async function throughput(tool: Tool, files: string[], records: number, lines: number): Promise<Row> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-bench-"));
  const counter: Counter = { lines: 0, firstAt: 0 };
  try {
    if (tool === "syslog-ng") {
      const rx = await startTcpCounter(counter);
      const peer = await startSyslogNg(work, files, rx.port);
      await untilCount(counter, lines, peer);
      return await finish(tool, peer, lines, () => rx.close());
    }
    const rx = await startHttpCounter(counter);
    if (tool === "nodetap (routing chain)") {
      const copies = await startHttpCounter({ lines: 0, firstAt: 0 });
      const peer = await startNodetapWithSink(work, files, {}, REPO_ROOT, { routing: routingChain(rx.url, copies.url) });
      await untilCount(counter, records, peer);
      return await finish(tool, peer, records, async () => {
        await rx.close();
        await copies.close();
      });
    }
    const peer = await startNodetap(work, files, rx.url, tool === "nodetap (gzip)" ? "gzip" : "none", REPO_ROOT);
    await untilCount(counter, records, peer);
    return await finish(tool, peer, records, () => rx.close());
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function finish(tool: string, peer: Peer, lines: number, close: () => Promise<void>): Promise<Row> {
  const seconds = (performance.now() - peer.readyAt) / 1000;
  const cpu = cpuSeconds(peer.pid) - peer.startupCpu;
  const peakRss = peakRssBytes(peer.pid);
  await peer.stop();
  await close();
  return { tool, lines, seconds, cpu, peakRss };
}

async function latency(tool: "nodetap" | "syslog-ng"): Promise<{ p50: number; p99: number; samples: number; steadyRss: number }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-bench-lat-"));
  const file = path.join(work, "bench_lat_0/app/0.log");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, "");
  const samples: number[] = [];
  let measuring = false;
  const counter: Counter = { lines: 0, firstAt: 0, onText: (text, at) => measuring && collectLatencies(text, at, samples) };
  let peer: Peer;
  let close: () => Promise<void>;
  try {
    if (tool === "syslog-ng") {
      const rx = await startTcpCounter(counter);
      peer = await startSyslogNg(work, [file], rx.port);
      close = rx.close;
    } else {
      const rx = await startHttpCounter(counter);
      const agent = await startNodetap(work, [file], rx.url, "gzip", REPO_ROOT, { metrics: true });
      const scrapes = setInterval(
        () =>
          void fetch(`${agent.address}/metrics`).then(
            (r) => r.arrayBuffer(),
            () => undefined,
          ),
        1000,
      );
      peer = agent;
      close = async () => {
        clearInterval(scrapes);
        await rx.close();
      };
    }
    const writer = new TimestampedWriter(file, RATE);
    writer.start();
    await sleep(1000); // warm-up, not measured
    measuring = true;
    await sleep(LATENCY_S * 1000);
    writer.stop();
    await sleep(3000);
    measuring = false;
    const steadyRss = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${peer.pid}/status`, "utf8"))?.[1] ?? NaN) * 1024;
    await peer.stop();
    await close();
    samples.sort((a, b) => a - b);
    return { p50: percentile(samples, 50), p99: percentile(samples, 99), samples: samples.length, steadyRss };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * A row per network sink into its real server (VictoriaLogs, OpenSearch, the OpenTelemetry
 * Collector, syslog-ng; built by scripts/testenv-sinks-*.sh), on a smaller data set
 * (BENCH_LOGS_SINKS_MB, default 16) since the servers, not the agent, are the limit there.
 * BENCH_LOGS_SINKS=none leaves them out.
 */
async function sinkRows(): Promise<string> {
  if (process.env.BENCH_LOGS_SINKS === "none") return "";
  const totalMb = Number(process.env.BENCH_LOGS_SINKS_MB ?? 16);
  const data = generateCriFiles(path.join(REPO_ROOT, ".bench", "logs-sinks-data"), FILES, Math.max(1, Math.round(totalMb / FILES)));
  return sinkTable(await benchSinks(data), data);
}

async function main(): Promise<void> {
  buildAgentBundle(REPO_ROOT);
  const dataDir = path.join(REPO_ROOT, ".bench", "logs-data");
  const mbPerFile = Math.max(1, Math.round(TOTAL_MB / FILES));
  process.stderr.write(`bench:logs: preparing ${FILES} CRI files of ${mbPerFile} MiB in ${dataDir}\n`);
  const data = generateCriFiles(dataDir, FILES, mbPerFile);
  process.stderr.write(
    `bench:logs: ${data.lines} lines (${data.records} records), ${(data.bytes / MiB).toFixed(0)} MiB; load average ${os.loadavg()[0].toFixed(1)}\n`,
  );

  const rows: Row[] = [];
  // Alternate the order so that a change in the machine's load hits both tools alike.
  const tools = (process.env.BENCH_LOGS_TOOLS ?? "syslog-ng,nodetap (gzip),nodetap (no compression),nodetap (routing chain)").split(
    ",",
  ) as Tool[];
  for (const tool of tools) {
    process.stderr.write(`bench:logs: throughput of ${tool} ...\n`);
    rows.push(await throughput(tool, data.files, data.records, data.lines));
  }
  for (const tool of LATENCY_S > 0 ? (["nodetap", "syslog-ng"] as const) : []) {
    process.stderr.write(`bench:logs: latency of ${tool} at ${RATE} lines/s for ${LATENCY_S} s ...\n`);
    const lat = await latency(tool);
    const row = rows.find((r) => r.tool.startsWith(tool));
    if (row) Object.assign(row, { p50: lat.p50, p99: lat.p99, steadyRss: lat.steadyRss });
  }

  const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  const table = [
    `| tool | input | lines/s | MiB/s | CPU s | lines per CPU s | peak RSS MiB | steady RSS MiB at ${fmt(RATE)} lines/s | latency p50 ms | latency p99 ms |`,
    `|---|---|---|---|---|---|---|---|---|---|`,
    ...rows.map(
      (r) =>
        `| ${r.tool} | ${fmt(r.lines)} lines, ${fmt(data.bytes / MiB)} MiB | ${fmt(r.lines / r.seconds)} | ${fmt(data.bytes / MiB / r.seconds, 1)} | ${fmt(r.cpu, 1)} | ${fmt(r.lines / r.cpu)} | ${fmt(r.peakRss / MiB)} | ${r.steadyRss === undefined ? "" : fmt(r.steadyRss / MiB)} | ${r.p50 === undefined ? "" : fmt(r.p50, 1)} | ${r.p99 === undefined ? "" : fmt(r.p99, 1)} |`,
    ),
  ];
  const sng = rows.find((r) => r.tool === "syslog-ng");
  const ratios = rows
    .filter((r) => sng !== undefined && r !== sng)
    .map(
      (r) =>
        `${r.tool}/syslog-ng: ${(r.lines / r.seconds / ((sng as Row).lines / (sng as Row).seconds)).toFixed(2)}x lines/s, ${(r.lines / r.cpu / ((sng as Row).lines / (sng as Row).cpu)).toFixed(2)}x lines per CPU second, ` +
        `${(r.peakRss / (sng as Row).peakRss).toFixed(2)}x peak RSS` +
        (r.steadyRss !== undefined && sng?.steadyRss !== undefined ? `, ${(r.steadyRss / sng.steadyRss).toFixed(2)}x steady RSS` : ""),
    );
  const report = [
    `## bench:logs — ${new Date().toISOString()} on ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), load average ${os.loadavg()[0].toFixed(1)}`,
    "",
    `Input: ${FILES} CRI files, ${fmt(data.bytes / MiB)} MiB, ${fmt(data.lines)} lines (${fmt(data.records)} records after merging P pieces). syslog-ng counts lines (no parsing); nodetap counts records (CRI parsed, NDJSON with metadata).`,
    `Latency: ${fmt(RATE)} lines/s for ${LATENCY_S} s, write to arrival at the receiver (nodetap: batch maxWait 0.5 s default, default metrics collectors on and scraped every second; syslog-ng: flush-lines 1000, follow-freq 1 s). Steady RSS: VmRSS at the end of that phase.`,
    "",
    ...table,
    "",
    ...ratios.map((r) => `- ${r}`),
    "",
    await sinkRows(),
  ].join("\n");
  process.stdout.write(report);
  fs.mkdirSync(path.join(REPO_ROOT, ".bench"), { recursive: true });
  fs.writeFileSync(path.join(REPO_ROOT, ".bench", "logs.md"), report);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:logs failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
