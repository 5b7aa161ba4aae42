import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Agent log messages worth counting: warnings and errors, and anything about checkpoints, rotation or loss. */
const NOTABLE = /checkpoint|rotated|lost/i;

/**
 * One run of the real agent (`node --import tsx agent/main.ts`), metrics collectors off, HTTP
 * server on a free port. Its JSON log lines (stdout or stderr, whichever the agent uses) are
 * appended to `logFile` and the notable ones counted into `counts`.
 */
export class AgentRun {
  readonly spawnedAt = Date.now();
  startedAt?: number;
  exitedAt?: number;
  peakRssBytes = 0;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly proc: ChildProcess;
  private readonly rssTimer: NodeJS.Timeout;

  constructor(
    configFile: string,
    extraArgs: readonly string[],
    private readonly counts: Map<string, number>,
    private readonly logFile: fs.WriteStream,
    private readonly onStarted: (run: AgentRun) => void = () => undefined,
  ) {
    const args = ["--import", "tsx", "agent/main.ts", "--config", configFile, "--collector.disable-defaults"];
    args.push("--web.listen-address=127.0.0.1:0", ...extraArgs);
    this.proc = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_NAME: "torture-node" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.logFile.write(`--- agent pid ${this.proc.pid} spawned ${new Date(this.spawnedAt).toISOString()}\n`);
    this.follow(this.proc.stdout);
    this.follow(this.proc.stderr);
    this.rssTimer = setInterval(() => this.sampleRss(), 250);
    this.exited = new Promise((resolve) => {
      this.proc.on("close", (code, signal) => {
        clearInterval(this.rssTimer);
        this.exitedAt = Date.now();
        this.logFile.write(`--- agent pid ${this.proc.pid} exited code ${code} signal ${signal}\n`);
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get alive(): boolean {
    return this.exitedAt === undefined;
  }

  get started(): boolean {
    return this.startedAt !== undefined;
  }

  private follow(stream: NodeJS.ReadableStream | null): void {
    let carry = "";
    stream?.on("data", (chunk: Buffer) => {
      const lines = (carry + chunk.toString("utf8")).split("\n");
      carry = lines.pop() ?? "";
      for (const line of lines) this.onLine(line);
    });
  }

  private onLine(line: string): void {
    if (line === "") return;
    this.logFile.write(line + "\n");
    let obj: { level?: unknown; msg?: unknown };
    try {
      obj = JSON.parse(line) as { level?: unknown; msg?: unknown };
    } catch {
      this.count(`(not JSON) ${line.slice(0, 200)}`);
      return;
    }
    const msg = String(obj.msg ?? "");
    if (msg === "nodetap started" && this.startedAt === undefined) {
      this.startedAt = Date.now();
      this.onStarted(this);
    }
    if ((typeof obj.level === "number" && obj.level >= 40) || NOTABLE.test(msg)) this.count(msg);
  }

  private count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  private sampleRss(): void {
    try {
      const status = fs.readFileSync(`/proc/${this.pid}/status`, "utf8");
      this.peakRssBytes = Math.max(this.peakRssBytes, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024);
    } catch {
      // Gone already (or no /proc): keep the last sample.
    }
  }

  /** Sends a signal; the RSS high-water mark is read first (a SIGKILLed process leaves none). */
  kill(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    this.sampleRss();
    this.proc.kill(signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  async stop(graceMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
