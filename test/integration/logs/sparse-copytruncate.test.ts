// copytruncate with a writer that did not open its file O_APPEND (a shell's `app > app.log`, many
// daemons): after the truncate it writes on at its own offset, so the file becomes a hole of NUL
// bytes as long as the old generation, then the new lines. Found by writing the way such a writer
// does: nodetap sent the hole and the first new line as one record of 358,961 characters.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AgentProcess, metricValue, waitFor, writeAgentConfig } from "./harness/agent-process.js";
import { LogReceiver } from "./harness/receiver.js";

const line = (seq: number) => `w=t s=${seq} ${"x".repeat(60)}\n`;
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => line(from + i)).join("");

interface Env {
  active: string;
  cfg: string;
  receiver: LogReceiver;
  /** Arrivals per sequence number. */
  got: Map<number, number>;
  /** Records that are not one of the writer's lines (a hole sent as text). */
  odd: string[];
  /** Records that are the head of a line only (where reading stopped inside it when the truncation was found). */
  fragments: string[];
  /** The writer's descriptor: O_WRONLY, no O_APPEND. */
  fd: number;
}

describe("copytruncate of a file its writer does not append to (real agent process)", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  async function setup(): Promise<Env> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-sparse-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const logDir = path.join(dir, "log");
    fs.mkdirSync(logDir);
    const got = new Map<number, number>();
    const odd: string[] = [];
    const fragments: string[] = [];
    const receiver = new LogReceiver((r) => {
      const m = /^w=t s=(\d+) x{60}$/.exec(r.message);
      if (m) got.set(Number(m[1]), (got.get(Number(m[1])) ?? 0) + 1);
      else if (line(Number(/^w=t s=(\d+) /.exec(r.message)?.[1] ?? -1)).startsWith(r.message)) fragments.push(r.message);
      else odd.push(`${JSON.stringify(r.message.slice(0, 40))} (${r.message.length} characters)`);
    });
    await receiver.listen();
    cleanup.push(() => receiver.close());
    const cfg = path.join(dir, "nodetap.yaml");
    writeAgentConfig(cfg, {
      checkpoint: { dir: path.join(dir, "state"), interval: "50ms" },
      maxInFlightBytes: 64 * 1024,
      tail: { readBufferBytes: 16 * 1024 },
      sources: { files: { include: [`${logDir}/*.log`] } },
      sink: { type: "http", http: { url: receiver.url }, batch: { maxBytes: 16 * 1024 } },
    });
    const active = path.join(logDir, "app.log");
    const fd = fs.openSync(active, "w");
    cleanup.push(() => fs.closeSync(fd));
    return { active, cfg, receiver, got, odd, fragments, fd };
  }

  async function start(env: Env): Promise<AgentProcess> {
    const agent = new AgentProcess(env.cfg);
    cleanup.push(async () => {
      agent.kill("SIGKILL");
      await agent.exited;
    });
    await agent.whenStarted();
    return agent;
  }

  function copyTruncate(active: string): void {
    if (fs.existsSync(`${active}.1`)) fs.renameSync(`${active}.1`, `${active}.2`);
    fs.copyFileSync(active, `${active}.1`);
    fs.truncateSync(active, 0);
  }

  const missing = (env: Env, upTo: number) => Array.from({ length: upTo }, (_, i) => i).filter((s) => !env.got.has(s));
  const repeated = (env: Env) => [...env.got].filter(([, n]) => n > 1).map(([s]) => s);

  it("sends every line once, skips the hole, and counts its bytes", { timeout: 60_000 }, async () => {
    const env = await setup();
    fs.writeSync(env.fd, lines(0, 5000));
    const agent = await start(env);
    await waitFor("5000 lines", () => env.got.size >= 5000, 30_000);

    copyTruncate(env.active);
    fs.writeSync(env.fd, lines(5000, 5200)); // at the writer's offset: the hole is lines 0-4999's bytes
    expect(fs.statSync(env.active).size).toBe(Buffer.byteLength(lines(0, 5200)));
    await waitFor("5200 lines", () => env.got.size >= 5200, 20_000).catch(() => undefined);
    copyTruncate(env.active); // again: the file starts with a hole before and after
    fs.writeSync(env.fd, lines(5200, 5300));
    await waitFor("5300 lines", () => env.got.size >= 5300, 20_000).catch(() => undefined);

    expect([env.odd, env.fragments]).toEqual([[], []]);
    expect(missing(env, 5300)).toEqual([]);
    expect(repeated(env)).toEqual([]);
    const metrics = await agent.metrics();
    expect(metricValue(metrics, "nodetap_log_nul_bytes_skipped_total", { source: "files" })).toBe(Buffer.byteLength(lines(0, 5000)));
    expect(metricValue(metrics, "nodetap_log_files_lost_total")).toBe(0);
    expect(agent.logs.some((l) => l.level === 40 && String(l.msg).includes("NUL bytes"))).toBe(true);
  });

  it(
    "reads the old generation's unread rest from the copy when the hole is met behind (the sink refused)",
    { timeout: 90_000 },
    async () => {
      // The second copytruncate: the file starts with a hole before it and after it, so its first
      // bytes tell nothing; the size does not drop below what was read either (the writer's offset).
      const env = await setup();
      fs.writeSync(env.fd, lines(0, 400));
      const agent = await start(env);
      await waitFor("400 lines", () => env.got.size >= 400, 30_000);
      copyTruncate(env.active);
      fs.writeSync(env.fd, lines(400, 500));
      await waitFor("500 lines", () => env.got.size >= 500, 30_000);

      await env.receiver.refuse();
      fs.writeSync(env.fd, lines(500, 5000)); // far more than the 64 KiB budget lets it read
      await waitFor(
        "the in-flight budget used up",
        async () => metricValue(await agent.metrics(), "nodetap_log_in_flight_bytes") >= 60 * 1024,
        30_000,
      );
      copyTruncate(env.active); // the unread part of 500-4999 is only in app.log.1 now
      fs.writeSync(env.fd, lines(5000, 5200));
      await new Promise((r) => setTimeout(r, 300));
      await env.receiver.reopen();

      await waitFor("5200 lines", () => env.got.size >= 5200, 30_000).catch(() => undefined);
      expect(env.odd).toEqual([]);
      expect(env.fragments).toEqual([]);
      expect(missing(env, 5200)).toEqual([]);
      expect(metricValue(await agent.metrics(), "nodetap_log_files_lost_total")).toBe(0);
      // Found by the hole where reading had stopped, not by the size or the first bytes.
      expect(agent.logs.filter((l) => String(l.why ?? "").startsWith("a hole of NUL bytes begins"))).toHaveLength(1);
    },
  );
});
