import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { requireProgram } from "../../../helpers/test-programs.js";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { REPO_ROOT } from "../../logs/harness/agent-process.js";

/**
 * Real servers for the sink tests, installed or built by scripts/testenv-sinks-*.sh (cached
 * under ~/.cache/nodetap-testenv; .ci/run calls the scripts before `npm test`; a local run
 * without them skips those suites with a note). Every server listens on 127.0.0.1 on a free port, in a temp dir.
 */

/** The cached server's path (scripts/test-programs.txt names the script that builds it). */
export const testenvTool = (program: string): string => requireProgram(program);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await Promise.resolve()
      .then(check)
      .catch(() => false);
    if (ok) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A server child process with its output kept (last 64 KiB) for failure messages. */
export class ServerProcess {
  private proc?: ChildProcess;
  private output = "";
  exitedAt?: number;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ) {}

  start(): void {
    this.exitedAt = undefined;
    const proc = spawn(this.command, this.args, {
      cwd: this.opts.cwd,
      env: { ...process.env, ...this.opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (c: Buffer) => {
      this.output = (this.output + c.toString("utf8")).slice(-65536);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    proc.on("exit", () => (this.exitedAt = Date.now()));
    this.proc = proc;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  tail(chars = 4000): string {
    return this.output.slice(-chars);
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 15_000): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

export function readVersions(): Record<string, string> {
  const text = fs.readFileSync(path.join(REPO_ROOT, "scripts", "testenv-sinks-versions.sh"), "utf8");
  return Object.fromEntries([...text.matchAll(/^([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/**
 * TLS material made with the openssl CLI: a CA, a server certificate for 127.0.0.1/localhost
 * signed by it, and a second, unrelated CA (the wrong one).
 */
export function makeTlsFixtures(dir: string): { ca: string; wrongCa: string; cert: string; key: string; pkcs12?: string } {
  fs.mkdirSync(dir, { recursive: true });
  const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  for (const name of ["ca", "wrong-ca"]) {
    run(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=nodetap test ${name}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
    );
  }
  run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr");
  fs.writeFileSync(
    path.join(dir, "server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
  );
  run(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "server.ext",
    "-out",
    "server.pem",
  );
  return {
    ca: path.join(dir, "ca.pem"),
    wrongCa: path.join(dir, "wrong-ca.pem"),
    cert: path.join(dir, "server.pem"),
    key: path.join(dir, "server.key"),
  };
}
