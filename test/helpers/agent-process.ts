/**
 * Real processes for integration tests and benchmarks: the nodetap agent (from its TypeScript
 * sources through tsx, or the compiled dist/js), and peers (Debian's prometheus-node-exporter,
 * prometheus) on loopback.
 *
 * Ports: nodetap accepts port 0 in --web.listen-address (parseListenAddress allows 0-65535), so it
 * is started on 127.0.0.1:0 and the kernel-chosen port is read from its "nodetap started" log
 * line: no two test files (vitest runs them in parallel forks) can collide. Peers that cannot
 * report their port get a free port probed just before start, with a retry when they lose the
 * race for it ("address already in use").
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { httpRequest } from "./http.js";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const NODE_EXPORTER_BIN = "/usr/bin/prometheus-node-exporter";
export const PROMETHEUS_BIN = "/usr/bin/prometheus";
export const PROMTOOL_BIN = "/usr/bin/promtool";

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** One pino JSON log line. */
export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  // Never leave a peer behind when a test file dies half-way.
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** A child process whose output is captured and whose exit can be awaited. */
export class ManagedProcess {
  stdout = "";
  stderr = "";
  readonly exited: Promise<ExitResult>;
  private waiters: Array<() => void> = [];
  private result?: ExitResult;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    live.add(child);
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stdout?.on("data", (d: string) => {
      this.stdout += d;
      this.notify();
    });
    child.stderr?.on("data", (d: string) => {
      this.stderr += d;
      this.notify();
    });
    this.exited = new Promise<ExitResult>((resolve) => {
      child.on("close", (code, signal) => {
        live.delete(child);
        this.result = { code, signal, stdout: this.stdout, stderr: this.stderr };
        this.notify();
        resolve(this.result);
      });
      child.on("error", (err) => {
        this.stderr += `\n[spawn error] ${err.message}\n`;
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid (spawn failed?)`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.result === undefined;
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `check` returns a value (checked on every output chunk and on exit). */
  async waitFor<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      if (!this.running)
        throw new Error(`${this.name} exited (${this.result?.code ?? this.result?.signal}) before ${what}\n${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}\n${this.describe()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILLs after `timeoutMs` (and reports that as signal SIGKILL). */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 20_000): Promise<ExitResult> {
    if (this.running) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  describe(): string {
    const tail = (s: string) => (s.length > 4000 ? "..." + s.slice(-4000) : s);
    return `--- ${this.name} stdout ---\n${tail(this.stdout)}\n--- ${this.name} stderr ---\n${tail(this.stderr)}`;
  }
}

/** Environment for a child: ours without NODETAP_* (an engineer's shell must not change a test), plus `extra`. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("NODETAP_")) env[k] = v;
  return { ...env, ...extra };
}

export type AgentRuntime = "tsx" | "dist" | "bundle";

/** Where `npm start` puts the bundled agent (package.json "prestart"). */
export const START_BUNDLE = path.join(REPO_ROOT, "dist/start/nodetap.cjs");

/** Builds the bundle `npm start` runs, as its prestart script does (well under a second). */
export function buildStartBundle(): void {
  const r = spawnSync("npm", ["run", "--silent", "prestart"], { cwd: REPO_ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`npm run prestart failed: ${r.stderr}`);
}

/**
 * The command that runs nodetap. "tsx": the sources, with tsx as a loader in the same process
 * (`node --import tsx agent/main.ts`, as `npx tsx agent/main.ts` but without a wrapper process, so
 * the pid is the agent's). "dist": the compiled `node dist/js/main.js` (npm run build). "bundle":
 * what `npm start` runs, `node dist/start/nodetap.cjs` (buildStartBundle first).
 */
export function agentCommand(
  runtime: AgentRuntime = "tsx",
  distDir = path.join(REPO_ROOT, "dist/js"),
): { command: string; args: string[] } {
  if (runtime === "dist") return { command: process.execPath, args: [path.join(distDir, "main.js")] };
  if (runtime === "bundle") return { command: process.execPath, args: [START_BUNDLE] };
  return { command: process.execPath, args: ["--import", "tsx", path.join(REPO_ROOT, "agent/main.ts")] };
}

export interface AgentOptions {
  /** Flags after the command (node_exporter-style). */
  args?: string[];
  /** Extra environment (NODETAP_* from the parent are never inherited). */
  env?: Record<string, string>;
  /** --web.listen-address; default 127.0.0.1:0 (the port is read back from the log). */
  listen?: string;
  /** Keep the log pipeline on (default: --logs.enabled=false, the tests here are about metrics). */
  logs?: boolean;
  /** CA to trust when the agent serves https (for the readiness probe). */
  ca?: Buffer;
  /** Client certificate for the readiness probe when the agent requires one (mTLS). */
  clientCert?: { cert: Buffer; key: Buffer };
  runtime?: AgentRuntime;
  /** Where the compiled agent is for runtime "dist" (default dist/js). */
  distDir?: string;
  timeoutMs?: number;
  /** A command that execs the agent's command line after its own arguments, e.g. ["nsenter", "--mount=FILE", "--"]. */
  wrapper?: string[];
}

export class AgentProcess extends ManagedProcess {
  /** e.g. http://127.0.0.1:41234 (https:// with TLS) */
  url = "";
  port = 0;

  /** stderr (where the agent logs) parsed as pino JSON lines (non-JSON lines are skipped). */
  logs(): LogLine[] {
    const out: LogLine[] = [];
    for (const line of this.stderr.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        out.push(JSON.parse(line) as LogLine);
      } catch {
        // a partial line at the end of the buffer
      }
    }
    return out;
  }

  findLog(msg: string | RegExp): LogLine | undefined {
    return this.logs().find((l) => (typeof msg === "string" ? l.msg === msg : msg.test(l.msg)));
  }

  waitForLog(msg: string | RegExp, timeoutMs = 20_000): Promise<LogLine> {
    return this.waitFor(() => this.findLog(msg), timeoutMs, `log line ${String(msg)}`);
  }
}

function agentArgv(opts: AgentOptions): string[] {
  const args = [`--web.listen-address=${opts.listen ?? "127.0.0.1:0"}`];
  if (!opts.logs) args.push("--logs.enabled=false");
  return [...args, ...(opts.args ?? [])];
}

function spawnAgent(
  argv: string[],
  opts: { env?: Record<string, string>; runtime?: AgentRuntime; distDir?: string; wrapper?: string[] },
): AgentProcess {
  const { command, args } = agentCommand(opts.runtime, opts.distDir);
  const line = [...(opts.wrapper ?? []), command, ...args, ...argv];
  const child = spawn(line[0], line.slice(1), { cwd: REPO_ROOT, env: childEnv(opts.env), stdio: ["ignore", "pipe", "pipe"] });
  return new AgentProcess("nodetap", child);
}

/** Starts nodetap, waits for its "nodetap started" log line and for /readyz to answer 200. */
export async function startAgent(opts: AgentOptions = {}): Promise<AgentProcess> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const agent = spawnAgent(agentArgv(opts), opts);
  try {
    const started = await agent.waitForLog("nodetap started", timeoutMs);
    const address = String(started.address ?? "");
    const m = /^(https?):\/\/(.+):(\d+)$/.exec(address);
    if (!m) throw new Error(`cannot read the listen address from ${JSON.stringify(started)}`);
    agent.port = Number(m[3]);
    agent.url = address;
    await waitForHttp(`${address}/readyz`, { ca: opts.ca, ...opts.clientCert, timeoutMs, process: agent });
    return agent;
  } catch (err) {
    await agent.stop("SIGKILL");
    throw err;
  }
}

/** Runs nodetap to completion (for --version, check-config, exit codes). Kills it after `timeoutMs`. */
export async function runAgent(
  argv: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number; runtime?: AgentRuntime } = {},
): Promise<ExitResult> {
  const agent = spawnAgent(argv, opts);
  const timer = setTimeout(() => agent.child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  try {
    return await agent.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `url` until it answers `status` (default 200). */
export async function waitForHttp(
  url: string,
  opts: { ca?: Buffer; cert?: Buffer; key?: Buffer; timeoutMs?: number; status?: number; process?: ManagedProcess } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last = "";
  while (Date.now() < deadline) {
    if (opts.process && !opts.process.running)
      throw new Error(`${opts.process.name} exited while waiting for ${url}\n${opts.process.describe()}`);
    try {
      const res = await httpRequest(url, { ca: opts.ca, cert: opts.cert, key: opts.key, timeoutMs: 5_000 });
      if (res.status === (opts.status ?? 200)) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${url} (${last})${opts.process ? "\n" + opts.process.describe() : ""}`);
}

/** A port that was free a moment ago on `host` (the kernel's pick for port 0). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface PeerProcess extends ManagedProcess {
  url: string;
  port: number;
}

/**
 * Starts a peer that takes its listen address as a flag and serves `readyPath` once up; retries
 * on a port lost to another process between probing and binding.
 */
export async function startPeer(spec: {
  name: string;
  command: string;
  args: (listen: string) => string[];
  readyPath: string;
  cwd?: string;
  timeoutMs?: number;
}): Promise<PeerProcess> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    const child = spawn(spec.command, spec.args(listen), {
      cwd: spec.cwd ?? os.tmpdir(),
      env: childEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const peer = new ManagedProcess(spec.name, child) as PeerProcess;
    peer.port = port;
    peer.url = `http://${listen}`;
    try {
      await waitForHttp(`${peer.url}${spec.readyPath}`, { timeoutMs: spec.timeoutMs ?? 60_000, process: peer });
      return peer;
    } catch (err) {
      lastError = err;
      await peer.stop("SIGKILL");
      if (!/address already in use/i.test(peer.stderr + peer.stdout)) throw err;
    }
  }
  throw lastError;
}

/** Debian's prometheus-node-exporter (1.5.0 here) on a free loopback port. */
export function startNodeExporter(args: string[] = []): Promise<PeerProcess> {
  if (!fs.existsSync(NODE_EXPORTER_BIN)) throw new Error(`${NODE_EXPORTER_BIN} is missing: run scripts/install-test-deps.sh`);
  return startPeer({
    name: "node_exporter",
    command: NODE_EXPORTER_BIN,
    args: (listen) => [`--web.listen-address=${listen}`, ...args],
    readyPath: "/metrics",
  });
}

const tempDirs: string[] = [];

/** Removes every directory tempDir() made (test files call it in afterAll: vitest workers may end without an exit event). */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}
process.on("exit", removeTempDirs);

/** A fresh temporary directory, removed by removeTempDirs() or when the process exits. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
