import { execSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import YAML from "yaml";
import { runtimeSettingsEnv } from "../agent/runtime-settings.js";

const gunzip = promisify(zlib.gunzip);
const CLK_TCK = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;

/** CPU seconds (user + system, children included) of a process so far. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime, stime, cutime, cstime are fields 14-17 (1-based), i.e. 11-14 after the comm field.
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLK_TCK;
}

export function peakRssBytes(pid: number): number {
  return Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
}

/** Counts delivered lines and hands received text to `onText` (for latency). */
export interface Counter {
  lines: number;
  firstAt: number;
  onText?: (text: string, nowUs: number) => void;
}

const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

function countNewlines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** An HTTP receiver for nodetap's NDJSON POSTs: answers 200 once the body is in, then counts. */
export async function startHttpCounter(counter: Counter): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = nowUs();
      res.writeHead(200).end();
      if (counter.firstAt === 0) counter.firstAt = performance.now();
      const body = Buffer.concat(chunks);
      const gz = req.headers["content-encoding"] === "gzip";
      void (gz ? gunzip(body) : Promise.resolve(body)).then((plain) => {
        counter.lines += countNewlines(plain);
        counter.onText?.(plain.toString("latin1"), at);
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/ingest`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A TCP receiver for syslog-ng's network() destination (newline-separated messages). */
export async function startTcpCounter(counter: Counter): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    let carry = "";
    sock.on("data", (chunk: Buffer) => {
      if (counter.firstAt === 0) counter.firstAt = performance.now();
      counter.lines += countNewlines(chunk);
      if (counter.onText) {
        const text = carry + chunk.toString("latin1");
        const cut = text.lastIndexOf("\n") + 1;
        carry = text.slice(cut);
        counter.onText(text.slice(0, cut), nowUs());
      }
    });
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface Peer {
  proc: ChildProcess;
  pid: number;
  /** performance.now() when the peer was ready to read. */
  readyAt: number;
  /** CPU seconds used before it was ready (startup), subtracted from the measurement. */
  startupCpu: number;
  stop(): Promise<void>;
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once("exit", () => resolve());
      proc.kill("SIGTERM");
      setTimeout(() => proc.kill("SIGKILL"), 20_000).unref();
    });
}

/** The real agent (the bundle `npm start` runs), tailing `include` into an HTTP sink. */
export function startNodetap(
  work: string,
  include: string[],
  url: string,
  compression: "gzip" | "none",
  repoRoot: string,
  opts: { metrics?: boolean } = {},
): Promise<AgentPeer> {
  return startNodetapWithSink(work, include, { type: "http", http: { url, compression } }, repoRoot, opts);
}

export interface AgentPeer extends Peer {
  /** The agent's HTTP address (for /metrics). */
  address: string;
}

/** Where `npm start` bundles the agent (package.json prestart); buildAgentBundle makes it. */
export const AGENT_BUNDLE = "dist/start/nodetap.cjs";

/** Builds the agent as `npm start` runs it (esbuild, well under a second). */
export function buildAgentBundle(repoRoot: string): void {
  const r = spawnSync("npm", ["run", "--silent", "prestart"], { cwd: repoRoot, stdio: "inherit" });
  if (r.status !== 0) throw new Error("npm run prestart (the agent bundle) failed");
}

/**
 * The real agent in its production form (the bundle `npm start`, the image and the binary run,
 * with the image's runtime settings, agent/runtime-settings.ts: MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ and
 * NODE_OPTIONS, to which BENCH_LOGS_NODE_OPTIONS is appended, e.g. a heap limit),
 * tailing `include` into the given `logs.sink` configuration;
 * logs pipeline only unless `metrics` (then the default collectors too).
 */
export async function startNodetapWithSink(
  work: string,
  include: string[],
  sink: Record<string, unknown>,
  repoRoot: string,
  opts: { metrics?: boolean; routing?: Record<string, unknown> } = {},
): Promise<AgentPeer> {
  const cfg = path.join(work, "nodetap.yaml");
  // With routing (logs.sinks, routes, filters) the single sink is left out.
  const output = opts.routing ?? { sink };
  fs.writeFileSync(
    cfg,
    YAML.stringify({
      log: { level: "warn" },
      logs: {
        checkpoint: { dir: path.join(work, "state") },
        sources: { pods: { enabled: false }, host: { enabled: false }, files: { include } },
        ...output,
      },
    }),
  );
  const nodeArgs = (process.env.BENCH_LOGS_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
  const proc = spawn(
    process.execPath,
    [
      ...nodeArgs,
      AGENT_BUNDLE,
      "--config",
      cfg,
      ...(opts.metrics ? [] : ["--collector.disable-defaults"]),
      "--web.listen-address=127.0.0.1:0",
      "--log.level=info",
      // Extra agent flags for experiments (e.g. --logs.max-in-flight-bytes=8388608).
      ...(process.env.BENCH_LOGS_AGENT_ARGS ?? "").split(" ").filter((a) => a !== ""),
    ],
    {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_NAME: "bench-node",
        ...runtimeSettingsEnv(process.env.BENCH_LOGS_NODE_OPTIONS),
      },
    },
  );
  const pid = proc.pid as number;
  // "nodetap started" is logged once the server listens and the log pipeline runs.
  const address = await new Promise<string>((resolve, reject) => {
    let carry = "";
    proc.stderr?.on("data", (c: Buffer) => {
      const lines = (carry + c.toString()).split("\n");
      carry = lines.pop() ?? "";
      for (const l of lines) if (l.includes('"nodetap started"')) resolve(String((JSON.parse(l) as { address: string }).address));
    });
    proc.once("exit", (code) => reject(new Error(`nodetap exited with ${code} before starting`)));
  });
  return { proc, pid, address, readyAt: performance.now(), startupCpu: cpuSeconds(pid), stop: stopper(proc) };
}

/**
 * syslog-ng (Debian's syslog-ng-core) in the foreground with its own config: one file() source
 * per file (follow-freq 1 s, no-parse: the raw line is the message), flow control (no drops,
 * like nodetap's backpressure) and a network() destination writing "$MSG\n" over TCP.
 */
export async function startSyslogNg(work: string, files: string[], port: number, opts: { wildcardDir?: string } = {}): Promise<Peer> {
  const cfg = path.join(work, "syslog-ng.conf");
  const sources = files.map(
    (f, i) => `source s${i} { file("${f}" follow-freq(1) flags(no-parse) log-fetch-limit(1000) log-iw-size(100000)); };`,
  );
  // Every *.log under a directory, new ones included (like nodetap's pods glob).
  if (opts.wildcardDir !== undefined)
    sources.push(
      `source s${files.length} { wildcard-file(base-dir("${opts.wildcardDir}") filename-pattern("*.log") recursive(yes) ` +
        `follow-freq(1) flags(no-parse) max-files(1000) log-fetch-limit(1000) log-iw-size(100000)); };`,
    );
  const logs = sources.map((_s, i) => `log { source(s${i}); destination(d_net); flags(flow-control); };`).join("\n");
  fs.writeFileSync(
    cfg,
    `@version: 3.38\noptions { flush-lines(1000); };\n${sources.join("\n")}\n` +
      `destination d_net { network("127.0.0.1" port(${port}) transport("tcp") template("$MSG\\n") log-fifo-size(100000)); };\n${logs}\n`,
  );
  const proc = spawn(
    "/usr/sbin/syslog-ng",
    ["-F", "-f", cfg, "-R", path.join(work, "persist"), "-p", path.join(work, "pid"), "-c", path.join(work, "ctl"), "--no-caps"],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  const pid = proc.pid as number;
  const errors: string[] = [];
  proc.stderr?.on("data", (c: Buffer) => errors.push(c.toString()));
  await new Promise((r) => setTimeout(r, 200));
  if (proc.exitCode !== null) throw new Error(`syslog-ng exited: ${errors.join("")}`);
  return { proc, pid, readyAt: performance.now(), startupCpu: cpuSeconds(pid), stop: stopper(proc) };
}
