import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

export type AgentLogLine = Record<string, unknown> & { level?: number; msg?: string };

/**
 * The real nodetap process (`node --import tsx agent/main.ts --config FILE`), metrics
 * collectors off, HTTP server on a free port. Keeps its JSON log lines for assertions.
 */
export class AgentProcess {
  readonly logs: AgentLogLine[] = [];
  readonly stderr: string[] = [];
  /** What the agent printed on stdout (the stdout sink's records; nothing with an HTTP sink). */
  readonly stdout: string[] = [];
  address?: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly proc: ChildProcess;
  private readonly started: Promise<void>;
  private readonly maxLogs: number;

  constructor(configFile: string, opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv; maxLogs?: number } = {}) {
    this.maxLogs = opts.maxLogs ?? 20_000;
    this.proc = spawn(
      process.execPath,
      ["--import", "tsx", "agent/main.ts", "--config", configFile, "--collector.disable-defaults", "--web.listen-address=127.0.0.1:0"],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_NAME: "test-node", ...opts.env },
        uid: opts.uid,
        gid: opts.gid,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let resolveStarted: () => void;
    let rejectStarted: (e: Error) => void;
    this.started = new Promise((res, rej) => {
      resolveStarted = res;
      rejectStarted = rej;
    });
    // A kill during startup is a normal test event; whenStarted() reports it to whoever waits.
    this.started.catch(() => undefined);
    // The agent logs JSON lines to stderr (stdout is the stdout sink's).
    let carry = "";
    this.proc.stderr?.on("data", (chunk: Buffer) => {
      const text = carry + chunk.toString("utf8");
      const lines = text.split("\n");
      carry = lines.pop() ?? "";
      for (const line of lines) {
        let obj: AgentLogLine;
        try {
          obj = JSON.parse(line) as AgentLogLine;
        } catch {
          if (this.stderr.length < 1000) this.stderr.push(line + "\n");
          continue;
        }
        if (this.logs.length < this.maxLogs) this.logs.push(obj);
        if (obj.msg === "nodetap started") {
          this.address = String(obj.address);
          resolveStarted();
        }
      }
    });
    this.proc.stdout?.on("data", (c: Buffer) => {
      if (this.stdout.length < 1000) this.stdout.push(c.toString("utf8"));
    });
    this.exited = new Promise((resolve) => {
      // "close" (not "exit"): all of stdout and stderr has been read by then.
      this.proc.on("close", (code, signal) => {
        const lastLogs = this.logs.slice(-5).map((l) => JSON.stringify(l));
        rejectStarted(
          new Error(
            `agent exited before start: code ${code} signal ${signal}: ${this.stderr.join("").slice(-2000)} ${lastLogs.join("\n")}`,
          ),
        );
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Resolves once the agent logged "nodetap started" (HTTP server listening, pipeline running). */
  async whenStarted(timeoutMs = 60_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.started,
      new Promise((_r, rej) => {
        timer = setTimeout(() => rej(new Error("agent did not start in time")), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  kill(signal: NodeJS.Signals): void {
    this.proc.kill(signal);
  }

  async metrics(): Promise<string> {
    const res = await fetch(`${this.address}/metrics`);
    return res.text();
  }

  async status(): Promise<{ logs: Record<string, unknown> & { files: Array<Record<string, unknown>> } }> {
    const res = await fetch(`${this.address}/status`);
    return (await res.json()) as { logs: Record<string, unknown> & { files: Array<Record<string, unknown>> } };
  }

  /** Resident set size of the agent process in bytes (from /proc). */
  rssBytes(): number {
    const status = fs.readFileSync(`/proc/${this.pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
    return Number(kb ?? 0) * 1024;
  }

  /** Peak resident set size (VmHWM) in bytes. */
  peakRssBytes(): number {
    const status = fs.readFileSync(`/proc/${this.pid}/status`, "utf8");
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  }

  logsMatching(pattern: RegExp): AgentLogLine[] {
    return this.logs.filter((l) => pattern.test(String(l.msg ?? "")));
  }
}

/** Sum of a metric's samples in an exposition text, optionally filtered by label values. */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of exposition.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

/** Writes an agent config YAML (the logs section deep-merged over test defaults). */
export function writeAgentConfig(file: string, logs: Record<string, unknown>): void {
  const base = {
    log: { level: "info" },
    logs: {
      sources: { pods: { enabled: false }, host: { enabled: false } },
      tail: { scanInterval: "200ms", pollInterval: "200ms", rotateWait: "1s", partialLineFlushAfter: "1s" },
      sink: { batch: { maxWait: "100ms" }, retry: { initialBackoff: "50ms", maxBackoff: "1s" } },
    },
  };
  fs.writeFileSync(file, YAML.stringify(deepMerge(base, { logs })));
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isObject(prev) && isObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
