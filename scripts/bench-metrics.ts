/**
 * Scrape benchmark: nodetap and node_exporter side by side on this host, same collectors, same
 * filters, in one run. Prints a markdown table with nodetap/node_exporter ratios and writes it to
 * .bench/metrics.md.
 *
 *   npm run bench:metrics                       # build .bench/dist, then measure (about 2 min)
 *   npm run bench:metrics -- --quick            # short run while developing
 *   npm run bench:metrics -- --no-build         # reuse .bench/dist from the last run
 *   npm run bench:metrics -- --runtime=tsx --scrapes=1000 --duration=10 --connections=4
 *   npm run bench:metrics -- --pod-volumes=100  # as root: a node's mount table with 100 pods' tmpfs volumes
 *
 * What is measured, per target:
 * - latency p50/p99 at 1 connection: `--scrapes` sequential GET /metrics on one keep-alive
 *   connection after `--warmup` scrapes, in interleaved rounds (nodetap, node_exporter,
 *   node_exporter, nodetap, ...) so that drift in the machine's load hits both alike; then the
 *   same rounds again after the throughput phase ("warm"): V8 keeps optimizing the scrape path for
 *   the first few thousand scrapes (about 450 TurboFan compilations, on a background thread), and
 *   those scrapes make most of the cold p99, a Go binary has no such phase (docs/benchmarks.md);
 * - scrapes/s at `--connections` connections for `--duration` seconds (wrk if installed, else a
 *   keep-alive load loop in this process), twice, in alternating order;
 * - CPU seconds per 1000 scrapes: utime+stime+cutime+cstime of the target's pid from
 *   /proc/<pid>/stat, read before and after each phase (cutime/cstime catch CPU of children);
 * - peak RSS: VmHWM from /proc/<pid>/status at the end;
 * - processes spawned per scrape: strace -f attached to every thread of the target during
 *   `--fork-scrapes` scrapes, counting fork/vfork/clone/clone3 calls without CLONE_THREAD (new
 *   processes) and execve; clone calls with CLONE_THREAD are reported as threads created. This
 *   sees every process creation, however short-lived (sampling /proc/<pid>/task/*\/children would
 *   miss quick ones). Without strace the row says n/a.
 *
 * nodetap runs in its production form by default (`--runtime=auto`/`bundle`): the esbuild bundle
 * `npm start` runs and the binary and the image embed, `node dist/start/nodetap.cjs` with the
 * image's MALLOC_ARENA_MAX=2; `--runtime=dist` runs the tsc build in .bench/dist, `tsx` the sources.
 * Memory rows: VmRSS before the first scrape (idle), VmRSS after the load (steady), VmHWM (peak).
 */
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import {
  buildStartBundle,
  NODE_EXPORTER_BIN,
  REPO_ROOT,
  startAgent,
  startNodeExporter,
  tempDir,
  type AgentProcess,
  type AgentRuntime,
  type ManagedProcess,
  type PeerProcess,
} from "../test/helpers/agent-process.js";
import { getJson } from "../test/helpers/http.js";
import { NODE_EXPORTER_ONLY, SAME_FILTERS } from "../test/helpers/peer-flags.js";
import { runtimeSettingsEnv } from "../agent/runtime-settings.js";
import { enterPodVolumeNamespace, podVolumeFlags } from "./bench-pod-volumes.js";

interface Options {
  runtime: AgentRuntime | "auto";
  build: boolean;
  scrapes: number;
  warmup: number;
  rounds: number;
  duration: number;
  connections: number;
  forkScrapes: number;
  podVolumes: number;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    runtime: "auto",
    build: true,
    scrapes: 500,
    warmup: 50,
    rounds: 5,
    duration: 8,
    connections: 4,
    forkScrapes: 50,
    podVolumes: 0,
    out: path.join(REPO_ROOT, ".bench/metrics.md"),
  };
  for (const arg of argv) {
    const [k, v] = arg.replace(/^--/, "").split("=", 2);
    switch (k) {
      case "quick":
        Object.assign(o, { scrapes: 100, warmup: 20, rounds: 2, duration: 3, forkScrapes: 20 });
        break;
      case "runtime":
        if (v !== "auto" && v !== "bundle" && v !== "dist" && v !== "tsx")
          throw new Error(`--runtime=${v}: allowed auto, bundle, dist, tsx`);
        o.runtime = v;
        break;
      case "no-build":
        o.build = false;
        break;
      case "scrapes":
      case "warmup":
      case "rounds":
      case "duration":
      case "connections":
      case "fork-scrapes":
      case "pod-volumes": {
        const n = Number(v);
        if (!Number.isFinite(n) || n <= 0) throw new Error(`--${k}=${v}: expected a positive number`);
        if (k === "fork-scrapes") o.forkScrapes = n;
        else if (k === "pod-volumes") o.podVolumes = n;
        else o[k] = n;
        break;
      }
      case "out":
        o.out = path.resolve(v);
        break;
      case "help":
        process.stdout.write(fs.readFileSync(new URL(import.meta.url), "utf8").split("*/")[0] + "*/\n");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg} (see --help)`);
    }
  }
  return o;
}

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** utime+stime+cutime+cstime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime is field 14.
  return (Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14])) / CLK_TCK;
}

function statusField(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** One GET on a keep-alive agent; resolves with the time to the last byte (ms) and the size. */
function scrapeOnce(url: string, agent: http.Agent): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get(url, { agent }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.on("end", () => {
        if (res.statusCode !== 200) reject(new Error(`${url}: HTTP ${res.statusCode}`));
        else resolve({ ms: performance.now() - t0, bytes });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

interface Target {
  name: "nodetap" | "node_exporter";
  proc: ManagedProcess;
  url: string;
  agent: http.Agent;
  latencies: number[];
  latencyCpu: number;
  /** The same sequential rounds after the throughput phase, when V8 has optimized the scrape path. */
  warmLatencies: number[];
  warmLatencyCpu: number;
  loadRequests: number;
  loadSeconds: number;
  loadCpu: number;
  loadErrors: number;
  bytes: number;
  forks?: { processes: number; execs: number; threads: number; scrapes: number };
}

async function sequential(t: Target, n: number, record: "cold" | "warm" | false): Promise<void> {
  const cpu0 = cpuSeconds(t.proc.pid);
  const latencies = record === "warm" ? t.warmLatencies : t.latencies;
  for (let i = 0; i < n; i++) {
    const r = await scrapeOnce(`${t.url}/metrics`, t.agent);
    t.bytes = r.bytes;
    if (record) latencies.push(r.ms);
  }
  const cpu = cpuSeconds(t.proc.pid) - cpu0;
  if (record === "cold") t.latencyCpu += cpu;
  else if (record === "warm") t.warmLatencyCpu += cpu;
}

function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

function runWrk(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** Load at `connections` for `seconds`: wrk when installed, else keep-alive loops here. */
async function load(t: Target, connections: number, seconds: number): Promise<void> {
  const cpu0 = cpuSeconds(t.proc.pid);
  const t0 = performance.now();
  if (hasCommand("wrk")) {
    const threads = Math.min(2, connections);
    // Asynchronously: this process keeps reading the targets' stdout and stderr meanwhile (with
    // spawnSync a target that logs would fill its pipe and stall on it).
    const r = await runWrk([`-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--timeout", "10s", `${t.url}/metrics`]);
    if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
    const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1]);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
    const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout);
    t.loadRequests += requests - non2xx;
    t.loadErrors += non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  } else {
    const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
    const deadline = performance.now() + seconds * 1000;
    let done = 0;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < deadline) {
          try {
            await scrapeOnce(`${t.url}/metrics`, agent);
            done++;
          } catch {
            t.loadErrors++;
          }
        }
      }),
    );
    agent.destroy();
    t.loadRequests += done;
  }
  t.loadSeconds += (performance.now() - t0) / 1000;
  t.loadCpu += cpuSeconds(t.proc.pid) - cpu0;
}

/** Every thread of pid traced (TracerPid set), or the deadline passed. */
async function waitTraced(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const tids = fs.readdirSync(`/proc/${pid}/task`);
    const traced = tids.every((tid) => {
      try {
        return !/^TracerPid:\s+0$/m.test(fs.readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8"));
      } catch {
        return true; // the thread ended
      }
    });
    if (traced) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** Counts process and thread creations of the target during `scrapes` sequential scrapes. */
async function countForks(t: Target, scrapes: number, dir: string): Promise<void> {
  const file = path.join(dir, `strace-${t.name}.txt`);
  const strace = spawn("strace", ["-f", "-qq", "-e", "trace=clone,clone3,fork,vfork,execve", "-o", file, "-p", String(t.proc.pid)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  strace.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => strace.on("close", () => resolve()));
  if (!(await waitTraced(t.proc.pid, 10_000))) {
    strace.kill("SIGKILL");
    throw new Error(`strace did not attach to ${t.name}: ${stderr}`);
  }
  await sequential(t, scrapes, false);
  await new Promise((r) => setTimeout(r, 200));
  strace.kill("SIGINT");
  await exited;
  let processes = 0;
  let threads = 0;
  let execs = 0;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    // A successful exec (PATH lookups try several files first); the call may be split in two lines.
    if (/^\d+\s+(execve\(|<\.\.\. execve resumed>).*\) = 0$/.test(line)) execs++;
    const m = /^\d+\s+(clone3?|v?fork)\((.*)$/.exec(line);
    if (!m) continue;
    if (m[1].startsWith("clone") && /CLONE_THREAD/.test(m[2])) threads++;
    else processes++;
  }
  t.forks = { processes, execs, threads, scrapes };
}

function nodeExporterCollectors(): Set<string> {
  const help = spawnSync(NODE_EXPORTER_BIN, ["--help"], { encoding: "utf8" });
  return new Set([...(help.stdout + help.stderr).matchAll(/--collector\.([a-z0-9_]+)\s+Enable the/g)].map((m) => m[1]));
}

const DIST_DIR = path.join(REPO_ROOT, ".bench/dist");

function build(): { ok: boolean; detail: string } {
  const t0 = Date.now();
  fs.rmSync(DIST_DIR, { recursive: true, force: true });
  const r = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json", "--outDir", DIST_DIR], { cwd: REPO_ROOT, encoding: "utf8" });
  const ok = r.status === 0 && fs.existsSync(path.join(DIST_DIR, "main.js"));
  return {
    ok,
    detail: ok ? `built in ${((Date.now() - t0) / 1000).toFixed(0)}s` : (r.stdout + r.stderr).split("\n").slice(0, 5).join(" "),
  };
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? (a / b).toFixed(2) : "n/a");

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.podVolumes > 0) {
    const status = enterPodVolumeNamespace(o.podVolumes);
    if (status !== undefined) {
      process.exitCode = status;
      return;
    }
  }
  // auto: the bundle `npm start` runs (what the binary and the image embed), else the tsc build.
  let runtime: AgentRuntime = o.runtime === "tsx" ? "tsx" : o.runtime === "dist" ? "dist" : "bundle";
  let runtimeNote = "";
  if (runtime === "bundle") {
    try {
      buildStartBundle();
    } catch (err) {
      if (o.runtime === "bundle") throw err;
      runtime = "dist";
      runtimeNote = ` (bundle failed: ${(err as Error).message})`;
    }
  }
  if (runtime === "dist" && o.build) {
    process.stderr.write("building .bench/dist (tsc -p tsconfig.build.json --outDir .bench/dist)...\n");
    const b = build();
    if (!b.ok) {
      if (o.runtime === "dist") throw new Error(`build failed: ${b.detail}`);
      runtime = "tsx";
      runtimeNote = ` (build failed, fell back to tsx: ${b.detail})`;
    } else runtimeNote = ` (${b.detail})`;
  }
  const agentEnv = runtimeSettingsEnv();
  const runtimeText =
    runtime === "bundle"
      ? `node dist/start/nodetap.cjs, ${Object.entries(agentEnv)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")} (as npm start and the image)${runtimeNote}`
      : runtime === "dist"
        ? `node .bench/dist/main.js${runtimeNote}`
        : `node --import tsx agent/main.ts${runtimeNote}`;

  // The shared collector set: nodetap's default collectors that node_exporter also has.
  const probe = await startAgent({ runtime, distDir: DIST_DIR, args: SAME_FILTERS, env: agentEnv });
  const nodetapDefaults = (await getJson<{ collectors: Array<{ name: string }> }>(`${probe.url}/status`)).collectors.map((c) => c.name);
  await probe.stop();
  const peerCollectors = nodeExporterCollectors();
  const collectors = nodetapDefaults.filter((c) => peerCollectors.has(c)).sort();
  const textfileDir = tempDir("nodetap-bench-textfile-");
  const common = [
    ...SAME_FILTERS,
    "--collector.disable-defaults",
    ...collectors.map((c) => `--collector.${c}`),
    `--collector.textfile.directory=${textfileDir}`,
  ];

  process.stderr.write(`starting nodetap (${runtime}) and node_exporter with ${collectors.length} collectors...\n`);
  const [agentProc, peerProc]: [AgentProcess, PeerProcess] = await Promise.all([
    startAgent({ runtime, distDir: DIST_DIR, args: [...common, ...podVolumeFlags(o.podVolumes)], env: agentEnv }),
    startNodeExporter([...common, ...NODE_EXPORTER_ONLY]),
  ]);
  const targets: Target[] = [
    { name: "nodetap", proc: agentProc, url: agentProc.url },
    { name: "node_exporter", proc: peerProc, url: peerProc.url },
  ].map((t) => ({
    ...(t as Pick<Target, "name" | "proc" | "url">),
    agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
    latencies: [],
    latencyCpu: 0,
    warmLatencies: [],
    warmLatencyCpu: 0,
    loadRequests: 0,
    loadSeconds: 0,
    loadCpu: 0,
    loadErrors: 0,
    bytes: 0,
  }));
  const [nt, ne] = targets;
  try {
    // nodetap gathers its host inventory (systeminformation, which spawns helpers) once after
    // start: let it finish so that it counts in neither CPU nor forks.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const s = await getJson<{ host: { gatheredAt?: string; error?: string } }>(`${nt.url}/status`);
      if (s.host.gatheredAt !== undefined || s.host.error !== undefined) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 2000));
    const idleRss = [statusField(nt.proc.pid, "VmRSS"), statusField(ne.proc.pid, "VmRSS")];
    const ps = await getJson<{ collectors: Array<{ name: string }> }>(`${nt.url}/status`);
    const running = ps.collectors.map((c) => c.name).sort();
    if (running.join() !== collectors.join()) throw new Error(`nodetap runs ${running.join()}, expected ${collectors.join()}`);

    process.stderr.write(`warmup ${o.warmup} scrapes each...\n`);
    for (const t of targets) await sequential(t, o.warmup, false);

    process.stderr.write(`latency: ${o.scrapes} sequential scrapes each in ${o.rounds} interleaved rounds...\n`);
    const perRound = Math.ceil(o.scrapes / o.rounds);
    const latencyRounds = async (phase: "cold" | "warm") => {
      for (let r = 0; r < o.rounds; r++) for (const t of r % 2 === 0 ? [nt, ne] : [ne, nt]) await sequential(t, perRound, phase);
    };
    await latencyRounds("cold");

    process.stderr.write(`throughput: ${o.connections} connections, 2 x ${o.duration}s each...\n`);
    for (const order of [
      [nt, ne],
      [ne, nt],
    ])
      for (const t of order) await load(t, o.connections, o.duration);

    process.stderr.write(`latency again, warm: ${o.scrapes} sequential scrapes each in ${o.rounds} interleaved rounds...\n`);
    await latencyRounds("warm");

    const straceOk = hasCommand("strace");
    if (straceOk) {
      process.stderr.write(`forks: strace during ${o.forkScrapes} scrapes each...\n`);
      const dir = tempDir("nodetap-bench-strace-");
      for (const t of targets) await countForks(t, o.forkScrapes, dir);
    }

    // A collector that fails under load makes a scrape cheaper, not better: they are counted.
    const collectorFailures = (
      await getJson<{ collectors: Array<{ name: string; failures: number }> }>(`${nt.url}/status`)
    ).collectors.filter((c) => c.failures > 0);
    const rows: Array<[string, number, number, string]> = [];
    const p = (t: Target, q: number, phase: "cold" | "warm" = "cold") =>
      quantile(
        [...(phase === "warm" ? t.warmLatencies : t.latencies)].sort((a, b) => a - b),
        q,
      );
    const afterLoad = `after the throughput phase (${nt.loadRequests + o.warmup + nt.latencies.length} scrapes in)`;
    rows.push([`scrape latency p50, 1 connection, from scrape ${o.warmup + 1} (ms)`, p(nt, 0.5), p(ne, 0.5), "<= 1.0"]);
    rows.push([`scrape latency p99, 1 connection, from scrape ${o.warmup + 1} (ms)`, p(nt, 0.99), p(ne, 0.99), "<= 1.0"]);
    rows.push([`scrape latency p50, 1 connection, ${afterLoad} (ms)`, p(nt, 0.5, "warm"), p(ne, 0.5, "warm"), "<= 1.0"]);
    rows.push([`scrape latency p99, 1 connection, ${afterLoad} (ms)`, p(nt, 0.99, "warm"), p(ne, 0.99, "warm"), "<= 1.0"]);
    rows.push([`scrapes/s, ${o.connections} connections`, nt.loadRequests / nt.loadSeconds, ne.loadRequests / ne.loadSeconds, ">= 1.0"]);
    rows.push([
      `CPU seconds per 1000 scrapes, ${o.connections} connections`,
      (nt.loadCpu / nt.loadRequests) * 1000,
      (ne.loadCpu / ne.loadRequests) * 1000,
      "<= 1.0",
    ]);
    rows.push([
      "CPU seconds per 1000 scrapes, 1 connection",
      (nt.latencyCpu / nt.latencies.length) * 1000,
      (ne.latencyCpu / ne.latencies.length) * 1000,
      "<= 1.0",
    ]);
    rows.push([
      "CPU seconds per 1000 scrapes, 1 connection, warm",
      (nt.warmLatencyCpu / nt.warmLatencies.length) * 1000,
      (ne.warmLatencyCpu / ne.warmLatencies.length) * 1000,
      "<= 1.0",
    ]);
    rows.push(["idle RSS before the first scrape, VmRSS (MiB)", idleRss[0] / 1024, idleRss[1] / 1024, "(info)"]);
    rows.push([
      "steady RSS after the load, VmRSS (MiB)",
      statusField(nt.proc.pid, "VmRSS") / 1024,
      statusField(ne.proc.pid, "VmRSS") / 1024,
      "(info)",
    ]);
    rows.push(["peak RSS, VmHWM (MiB)", statusField(nt.proc.pid, "VmHWM") / 1024, statusField(ne.proc.pid, "VmHWM") / 1024, "(info)"]);
    rows.push(["response size (KiB, uncompressed)", nt.bytes / 1024, ne.bytes / 1024, "(info)"]);
    const perScrape = (t: Target, k: "processes" | "execs" | "threads") => (t.forks ? t.forks[k] / t.forks.scrapes : NaN);
    rows.push([
      "processes spawned per scrape (fork/vfork/clone without CLONE_THREAD)",
      perScrape(nt, "processes"),
      perScrape(ne, "processes"),
      "nodetap must be 0",
    ]);
    rows.push(["execve per scrape", perScrape(nt, "execs"), perScrape(ne, "execs"), "nodetap must be 0"]);
    rows.push(["threads created per scrape", perScrape(nt, "threads"), perScrape(ne, "threads"), "(info)"]);

    const cpuModel = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "?";
    const versionRun = spawnSync(NODE_EXPORTER_BIN, ["--version"], { encoding: "utf8" });
    const peerVersion = /version (\S+)/.exec(versionRun.stdout + versionRun.stderr)?.[1] ?? "?";
    const lines = [
      `# nodetap vs node_exporter: /metrics scrape benchmark`,
      ``,
      `- date: ${new Date().toISOString()}; host: ${cpuModel}, ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}; load average at start ${os.loadavg()[0].toFixed(2)} (shared machine: absolute numbers are noisy, ratios less so)`,
      `- nodetap: ${runtimeText}, Node ${process.version}, --logs.enabled=false; node_exporter ${peerVersion} (${NODE_EXPORTER_BIN})`,
      `- same ${collectors.length} collectors on both (--collector.disable-defaults + ${collectors.join(", ")}), same filter flags, empty textfile directory`,
      ...(o.podVolumes > 0
        ? [
            `- mount table of a node with ${o.podVolumes} pods: as many tmpfs mounts at kubelet's projected-volume paths, in a mount namespace of the run's own; nodetap given ${podVolumeFlags(o.podVolumes).join(" ")}`,
          ]
        : []),
      `- latency: ${nt.latencies.length} sequential scrapes each after ${o.warmup} warmup, one keep-alive connection, ${o.rounds} interleaved rounds, and as many again after the throughput phase (warm); throughput: ${o.connections} connections, 2 x ${o.duration}s each (${hasCommand("wrk") ? "wrk" : "Node keep-alive loop"}), ${nt.loadRequests} / ${ne.loadRequests} scrapes, errors ${nt.loadErrors} / ${ne.loadErrors}; nodetap collector failures over the run: ${collectorFailures.length === 0 ? "none" : collectorFailures.map((c) => `${c.name} ${c.failures}`).join(", ")}`,
      `- CPU from /proc/<pid>/stat (utime+stime+cutime+cstime, ${CLK_TCK} ticks/s); forks counted with ${straceOk ? `strace -f over ${o.forkScrapes} scrapes each` : "n/a (strace not installed)"}`,
      `- command: npm run bench:metrics -- ${process.argv.slice(2).join(" ")}`,
      ``,
      `| metric | nodetap | node_exporter | nodetap/node_exporter | goal |`,
      `|---|---:|---:|---:|---|`,
      ...rows.map(([name, a, b, goal]) => `| ${name} | ${fmt(a)} | ${fmt(b)} | ${ratio(a, b)} | ${goal} |`),
      ``,
    ];
    const report = lines.join("\n");
    fs.mkdirSync(path.dirname(o.out), { recursive: true });
    fs.writeFileSync(o.out, report);
    process.stdout.write(report + `\n(written to ${path.relative(REPO_ROOT, o.out)})\n`);
    if (nt.forks && (nt.forks.processes > 0 || nt.forks.execs > 0)) {
      process.stderr.write(`nodetap spawned processes on the scrape path: ${JSON.stringify(nt.forks)}\n`);
      process.exitCode = 1;
    }
  } finally {
    for (const t of targets) t.agent.destroy();
    await Promise.all([agentProc.stop(), peerProc.stop()]);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-metrics: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
