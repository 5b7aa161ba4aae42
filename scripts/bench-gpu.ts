/**
 * The gpu collector's cost on the recorded GPUs (issue 14): the bundled agent with nvml.node and
 * NVML's test shim (test/fixtures/nvml-shim) serving a recorded nvidia-smi capture, side by side
 * with the same agent and `--no-collector.gpu`, in one run. Per mode: RSS idle and after the
 * scrapes (VmRSS, VmHWM), CPU per scrape and p50/p99 latency of `GET /metrics?collect[]=gpu` and
 * of a full `GET /metrics`. The shim answers at once, so this measures nodetap's own cost (the addon,
 * its threads, the labels and the exposition), not the driver's: on a real H200 the driver's time
 * dominates (docs/gpu.md, live check).
 *
 *   npm run bench:gpu -- [--capture linux-x86_64__nvidia-h200-mig__590.48.01.txt] [--scrapes 300]
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { buildNvmlShim, shimEnv, shimLibrary, writeShimData } from "../test/helpers/nvml-shim.js";
import { runtimeSettingsEnv } from "../agent/runtime-settings.js";

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : args[at + 1]!;
};
const capture = opt("capture", "linux-x86_64__nvidia-h200-mig__590.48.01.txt");
const scrapes = Number(opt("scrapes", "300"));
const bundle = opt("bundle", "dist/bundle/nodetap.cjs");
const CLK_TCK = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
function get(port: number, urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: urlPath, agent: keepAlive }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
}
function status(pid: number): { rssMiB: number; hwmMiB: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1]);
  return { rssMiB: +(kb("VmRSS") / 1024).toFixed(1), hwmMiB: +(kb("VmHWM") / 1024).toFixed(1) };
}
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

async function measure(mode: "gpu" | "no-gpu", env: Record<string, string>, library: string) {
  const port = await freePort();
  const flags = [`--web.listen-address=127.0.0.1:${port}`, "--no-logs.enabled", "--collector.gpu.pod-resources-socket="];
  flags.push(mode === "gpu" ? `--collector.gpu.nvml-library=${library}` : "--no-collector.gpu");
  const child = spawn(process.execPath, [bundle, ...flags], {
    env: { ...process.env, ...env, ...runtimeSettingsEnv(), NODE_NAME: "bench" },
    stdio: ["ignore", "ignore", "ignore"],
  });
  try {
    for (let i = 0; i < 100; i++) {
      if (
        await get(port, "/healthz").then(
          () => true,
          () => false,
        )
      )
        break;
      await sleep(100);
    }
    await sleep(3000);
    const idle = status(child.pid!);
    const result: Record<string, number | string> = { mode, idleRssMiB: idle.rssMiB };
    for (const [what, urlPath] of [
      ["gpuOnly", "/metrics?collect[]=gpu"],
      ["full", "/metrics"],
    ] as const) {
      const latencies: number[] = [];
      const cpu0 = cpuSeconds(child.pid!);
      for (let i = 0; i < scrapes; i++) {
        const t0 = performance.now();
        await get(port, urlPath);
        latencies.push(performance.now() - t0);
      }
      result[`${what}CpuMsPerScrape`] = +(((cpuSeconds(child.pid!) - cpu0) * 1000) / scrapes).toFixed(2);
      result[`${what}P50Ms`] = +pct(latencies, 50).toFixed(2);
      result[`${what}P99Ms`] = +pct(latencies, 99).toFixed(2);
    }
    const after = status(child.pid!);
    result.steadyRssMiB = after.rssMiB;
    result.peakRssMiB = after.hwmMiB;
    return result;
  } finally {
    child.kill("SIGKILL");
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-bench-gpu-"));
try {
  const shim = writeShimData(dir, capture, "load");
  const library = shimLibrary(buildNvmlShim());
  const env = shimEnv(shim.file);
  const rows = [await measure("no-gpu", env, library), await measure("gpu", env, library)];
  const [off, on] = rows as [Record<string, number>, Record<string, number>];
  process.stderr.write(`capture ${capture}, ${scrapes} scrapes per kind, ${os.cpus().length} CPUs\n`);
  for (const row of rows) process.stderr.write(`${JSON.stringify(row)}\n`);
  process.stderr.write(
    `gpu collector adds: ${(on.steadyRssMiB! - off.steadyRssMiB!).toFixed(1)} MiB steady RSS, ` +
      `${(on.peakRssMiB! - off.peakRssMiB!).toFixed(1)} MiB peak, ${(on.fullCpuMsPerScrape! - off.fullCpuMsPerScrape!).toFixed(2)} ms CPU per full scrape, ` +
      `full-scrape p99 ratio ${(on.fullP99Ms! / off.fullP99Ms!).toFixed(2)}\n`,
  );
  process.stdout.write(`${JSON.stringify({ capture, scrapes, rows })}\n`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
