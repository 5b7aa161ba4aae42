/**
 * Footprint probe of the bundled agent (issue 10): RSS and threads idle and after back-to-back
 * scrapes, and scrape latency.
 *
 *   npx tsx scripts/mem-probe.ts --bundle dist/bundle/nodetap.cjs [--node PATH] [--scrapes 1000] [-- AGENT FLAGS...]
 *
 * Starts `node BUNDLE` with the default flags plus a free 127.0.0.1 port, a temporary checkpoint
 * directory and an HTTP log sink that refuses connections; waits for /healthz; reads VmRSS and
 * Threads from /proc/PID/status 6 s after the start (idle), after 100 and after `--scrapes`
 * sequential GET /metrics on one keep-alive connection; prints latency p50/p99 of the first 200
 * scrapes (cold) and of the last 200 (warm), and the mean node_scrape_collector_duration_seconds
 * of filesystem and netclass over the last 200. One JSON line on stdout, a table on stderr.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const args = process.argv.slice(2);
const dashes = args.indexOf("--");
const own = dashes === -1 ? args : args.slice(0, dashes);
const extra = dashes === -1 ? [] : args.slice(dashes + 1);
const opt = (name: string, fallback: string): string => {
  const at = own.indexOf(`--${name}`);
  return at === -1 ? fallback : own[at + 1];
};
const bundle = opt("bundle", "dist/bundle/nodetap.cjs");
const nodeBin = opt("node", path.join(os.homedir(), ".cache/nodetap-testenv/node-v24.21.0-linux-x64/bin/node"));
const total = Number(opt("scrapes", "1000"));
const IDLE_S = 6;
const WINDOW = 200;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

function procStatus(pid: number): { rssMiB: number; hwmMiB: number; threads: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1]);
  return { rssMiB: +(field("VmRSS") / 1024).toFixed(1), hwmMiB: +(field("VmHWM") / 1024).toFixed(1), threads: field("Threads") };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: urlPath, agent }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const latency = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { p50: +percentile(sorted, 50).toFixed(2), p99: +percentile(sorted, 99).toFixed(2) };
};

async function main(): Promise<void> {
  const port = await freePort();
  const checkpoints = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-mem-probe-"));
  const child = spawn(
    nodeBin,
    [
      bundle,
      `--web.listen-address=127.0.0.1:${port}`,
      `--logs.checkpoint.dir=${checkpoints}`,
      "--logs.sink.type=http",
      "--logs.sink.http.url=http://127.0.0.1:1/",
      ...extra,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const started = Date.now();
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${stderr}`);
      if (Date.now() - started > 30_000) throw new Error(`agent not ready in 30 s:\n${stderr}`);
      const ok = await get(port, "/healthz").then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      await sleep(100);
    }
    await sleep(Math.max(0, IDLE_S * 1000 - (Date.now() - started)));
    const pid = child.pid!;
    const idle = procStatus(pid);
    const times: number[] = [];
    const durations = new Map<string, number>();
    const marks: Record<number, ReturnType<typeof procStatus>> = {};
    for (let i = 1; i <= total; i++) {
      const t0 = performance.now();
      const { status, body } = await get(port, "/metrics");
      times.push(performance.now() - t0);
      if (status !== 200) throw new Error(`scrape ${i}: HTTP ${status}`);
      if (i > total - WINDOW) {
        for (const m of body.matchAll(/^node_scrape_collector_duration_seconds\{collector="(filesystem|netclass)"\} (\S+)$/gm))
          durations.set(m[1], (durations.get(m[1]) ?? 0) + Number(m[2]) * 1000);
      }
      if (i === 100 || i === total) marks[i] = procStatus(pid);
    }
    const window = Math.min(WINDOW, total);
    const result = {
      bundle,
      extra,
      idle,
      after100: marks[100],
      [`after${total}`]: marks[total],
      latencyColdMs: latency(times.slice(0, window)),
      latencyWarmMs: latency(times.slice(-window)),
      collectorMeanMs: Object.fromEntries([...durations].map(([k, v]) => [k, +(v / window).toFixed(3)])),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    const row = (name: string, s: ReturnType<typeof procStatus> | undefined) =>
      s ? `${name.padEnd(16)} RSS ${s.rssMiB} MiB  HWM ${s.hwmMiB} MiB  threads ${s.threads}\n` : "";
    process.stderr.write(
      row("idle", idle) +
        row("after 100", marks[100]) +
        row(`after ${total}`, marks[total]) +
        `latency ms       cold p50 ${result.latencyColdMs.p50} p99 ${result.latencyColdMs.p99}; warm p50 ${result.latencyWarmMs.p50} p99 ${result.latencyWarmMs.p99}\n` +
        `collector ms     ${JSON.stringify(result.collectorMeanMs)}\n`,
    );
  } finally {
    agent.destroy();
    child.kill("SIGTERM");
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once("exit", resolve)));
    fs.rmSync(checkpoints, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
