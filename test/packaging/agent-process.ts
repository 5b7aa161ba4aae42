/** Runs a nodetap process (the binary, or the image via podman) and talks to it like a user would. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { REPO } from "./tools.js";

/** Figures for docs/benchmarks.md (sizes, start-up times), collected by the packaging tests. */
export const FIGURES = path.join(REPO, "dist/packaging-figures.json");

export function recordFigure(key: string, value: unknown): void {
  const figures = existsSync(FIGURES) ? (JSON.parse(readFileSync(FIGURES, "utf8")) as Record<string, unknown>) : {};
  figures[key] = value;
  mkdirSync(path.dirname(FIGURES), { recursive: true });
  writeFileSync(FIGURES, `${JSON.stringify(figures, null, 2)}\n`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function get(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

/** Polls until /metrics answers 200; returns the milliseconds from `since` to that answer. */
export async function waitForMetrics(base: string, since: number, deadlineMs: number, alive: () => boolean): Promise<number> {
  for (;;) {
    if (!alive()) throw new Error("the agent exited before answering /metrics");
    try {
      const r = await get(`${base}/metrics`, 2000);
      if (r.status === 200) return performance.now() - since;
    } catch {
      // not listening yet
    }
    if (performance.now() - since > deadlineMs) throw new Error(`no /metrics answer within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The value of an unlabelled sample in an exposition. */
export function sample(exposition: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(exposition);
  return m ? Number(m[1]) : undefined;
}

export function hostMemTotalBytes(): number {
  const m = /^MemTotal:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"));
  return Number(m![1]) * 1024;
}

/** A child process with its output collected, and a way to wait for a line. */
export class Proc {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  private readonly exited: Promise<void>;

  constructor(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.setEncoding("utf8").on("data", (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve();
      }),
    );
  }

  alive = () => this.exit === undefined;

  async waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const start = Date.now();
    while (!predicate()) {
      if (Date.now() - start > timeoutMs)
        throw new Error(`timed out waiting for ${what}; stdout:\n${this.stdout.slice(-3000)}\nstderr:\n${this.stderr.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits for the process to exit by itself; undefined when it has not within the time. */
  async waitExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, timeoutMs))]);
    return this.exit;
  }

  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.exit === undefined) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return this.exit!;
  }
}

/** NDJSON lines of an output that parse as objects. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a partial line
    }
  }
  return out;
}
