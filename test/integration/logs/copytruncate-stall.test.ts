// copytruncate while nodetap cannot look at the active file: its reading waits for the in-flight
// budget (a sink refusing) or for the stream's rotated files to be drained first. Whole
// generations of the file can come and go meanwhile; each lives on only in its copy
// (app.log.1, app.log.2, ...), and each must be read from there. Found by the crash matrix on
// a loaded CI machine (copytruncate × startup lost one generation of each file).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { havePrograms } from "../../helpers/test-programs.js";
import { AgentProcess, metricValue, waitFor, writeAgentConfig } from "./harness/agent-process.js";
import { LogReceiver } from "./harness/receiver.js";

const line = (seq: number) => `w=t s=${seq} ${"x".repeat(60)}\n`;
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => line(from + i)).join("");

interface Env {
  logDir: string;
  active: string;
  stateDir: string;
  cfg: string;
  receiver: LogReceiver;
  got: Set<number>;
  /** First arrivals of a line below one that arrived before: order broken. */
  late: number;
  /** Records that are not a whole line (the head of one that reading stopped inside; in `got` too). */
  fragments: string[];
}

describe("copytruncate while nodetap cannot read the active file (real agent process)", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  async function setup(include = "*.log", checkpointInterval = "50ms"): Promise<Env> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-ctstall-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const logDir = path.join(dir, "log");
    fs.mkdirSync(logDir);
    const got = new Set<number>();
    let highest = -1;
    const receiver = new LogReceiver((r) => {
      const m = /s=(\d+)/.exec(r.message);
      if (!m) return;
      const seq = Number(m[1]);
      if (`${r.message}\n` !== line(seq)) env.fragments.push(r.message);
      if (!got.has(seq) && seq < highest) env.late++;
      highest = Math.max(highest, seq);
      got.add(seq);
    });
    await receiver.listen();
    cleanup.push(() => receiver.close());
    const cfg = path.join(dir, "nodetap.yaml");
    const stateDir = path.join(dir, "state");
    writeAgentConfig(cfg, {
      checkpoint: { dir: stateDir, interval: checkpointInterval },
      // A small budget and small reads: a refusing sink stops the reading within a few KiB.
      maxInFlightBytes: 64 * 1024,
      tail: { readBufferBytes: 4096 },
      sources: { files: { include: [`${logDir}/${include}`] } },
      sink: { type: "http", http: { url: receiver.url }, batch: { maxBytes: 4096 } },
    });
    const env: Env = { logDir, active: path.join(logDir, "app.log"), stateDir, cfg, receiver, got, late: 0, fragments: [] };
    return env;
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

  /** logrotate copytruncate: app.log.N -> app.log.N+1, copy app.log to app.log.1, truncate app.log. */
  function copyTruncate(active: string, keep = 8): void {
    for (let n = keep - 1; n >= 1; n--) if (fs.existsSync(`${active}.${n}`)) fs.renameSync(`${active}.${n}`, `${active}.${n + 1}`);
    fs.copyFileSync(active, `${active}.1`);
    fs.truncateSync(active, 0);
  }

  /** Waits until the agent stopped reading: its in-flight budget is used up (the sink refuses). */
  const budgetUsedUp = (agent: AgentProcess) =>
    waitFor(
      "the in-flight budget used up",
      async () => metricValue(await agent.metrics(), "nodetap_log_in_flight_bytes") >= 60 * 1024,
      30_000,
    );

  const missing = (env: Env, upTo: number) => Array.from({ length: upTo }, (_, i) => i).filter((s) => !env.got.has(s));

  /** The file's checkpoint, once the checkpoint file also says the source ran (a restart, not a first start, follows). */
  function checkpointOf(env: Env, file: string): { offset: number; fingerprintBytes: number } | undefined {
    try {
      const doc = JSON.parse(fs.readFileSync(path.join(env.stateDir, "checkpoints.json"), "utf8")) as {
        sources?: string[];
        files: Array<{ path: string; offset: number; fingerprintBytes: number }>;
      };
      if (!doc.sources?.includes("files")) return undefined;
      return doc.files.find((f) => f.path === file);
    } catch {
      return undefined;
    }
  }

  it("reads every generation from its copy when two copytruncates pass while the sink refuses", { timeout: 90_000 }, async () => {
    const env = await setup();
    fs.writeFileSync(env.active, lines(0, 500));
    const agent = await start(env);
    await waitFor("500 lines", () => env.got.size >= 500, 30_000);

    await env.receiver.refuse();
    fs.appendFileSync(env.active, lines(500, 4500)); // ~300 KB: far more than the budget lets it read
    await budgetUsedUp(agent);
    copyTruncate(env.active); // 500-4500 partly read: its rest is in app.log.1
    fs.appendFileSync(env.active, lines(4500, 5000)); // a generation nodetap never looks at
    copyTruncate(env.active); // ... now app.log.1; the first copy is app.log.2
    fs.appendFileSync(env.active, lines(5000, 5200));
    await new Promise((r) => setTimeout(r, 500));
    await env.receiver.reopen();

    await waitFor("5200 lines", () => env.got.size >= 5200, 30_000).catch(() => undefined);
    expect(missing(env, 5200)).toEqual([]);
    // The generations arrive in the order they were written (each copy before its successor).
    expect(env.late).toBe(0);
    // A line that reading stopped inside comes whole from the copy, not also as its head.
    expect(env.fragments).toEqual([]);
    expect(metricValue(await agent.metrics(), "nodetap_log_files_lost_total")).toBe(0);
  });

  it("reads the copies next to the target when the glob names a symlink to the file", { timeout: 90_000 }, async () => {
    // include links/*.log, links/app.log -> real/app.log: logrotate copies and truncates the
    // target, so its copies are real/app.log.N, not next to the symlink.
    const env = await setup("links/*.log");
    const realDir = path.join(env.logDir, "real");
    fs.mkdirSync(realDir);
    fs.mkdirSync(path.join(env.logDir, "links"));
    const target = path.join(realDir, "app.log");
    fs.writeFileSync(target, lines(0, 500));
    fs.symlinkSync(target, path.join(env.logDir, "links", "app.log"));
    const agent = await start(env);
    await waitFor("500 lines", () => env.got.size >= 500, 30_000);

    await env.receiver.refuse();
    fs.appendFileSync(target, lines(500, 4500));
    await budgetUsedUp(agent);
    copyTruncate(target);
    fs.appendFileSync(target, lines(4500, 4700));
    await new Promise((r) => setTimeout(r, 500));
    await env.receiver.reopen();

    await waitFor("4700 lines", () => env.got.size >= 4700, 30_000).catch(() => undefined);
    expect(missing(env, 4700)).toEqual([]);
    expect(env.late).toBe(0);
    expect(metricValue(await agent.metrics(), "nodetap_log_files_lost_total")).toBe(0);
  });

  it(
    "reads the generation it resumed with a fingerprint of an empty file after it was copytruncated unread",
    { timeout: 90_000 },
    async () => {
      const env = await setup();
      fs.writeFileSync(env.active, "");
      let agent = await start(env);
      // The checkpoint of a file seen empty: a fingerprint over 0 bytes matches any content.
      await waitFor("checkpoint of the empty app.log", () => checkpointOf(env, env.active)?.fingerprintBytes === 0, 10_000);
      agent.kill("SIGKILL");
      await agent.exited;

      // While nodetap is down: a rotated file it never saw (drained first at start-up, held up by
      // the refusing sink), and lines in app.log.
      fs.writeFileSync(`${env.active}.1`, lines(0, 4000));
      fs.writeFileSync(env.active, lines(4000, 4500));
      await env.receiver.refuse();
      agent = await start(env);
      await budgetUsedUp(agent);
      copyTruncate(env.active); // 4000-4500 never read from app.log: only in the new app.log.1 now
      fs.appendFileSync(env.active, lines(4500, 4700));
      await new Promise((r) => setTimeout(r, 500));
      await env.receiver.reopen();

      await waitFor("4700 lines", () => env.got.size >= 4700, 30_000).catch(() => undefined);
      expect(missing(env, 4700)).toEqual([]);
      expect(env.late).toBe(0);
      expect(metricValue(await agent.metrics(), "nodetap_log_files_lost_total")).toBe(0);
    },
  );

  it.runIf(havePrograms("copytruncate + compress", "logrotate"))(
    "reads every generation from the .gz the real logrotate made of its copy (copytruncate + compress) while the sink refused",
    { timeout: 90_000 },
    async () => {
      // compress without delaycompress: logrotate copies app.log to app.log.1, truncates app.log,
      // then gzips app.log.1 to app.log.1.gz and removes app.log.1. By the time reading resumes
      // the unread rest of each generation is only in a .gz.
      const env = await setup();
      const conf = path.join(path.dirname(env.logDir), "logrotate.conf");
      fs.writeFileSync(conf, `${env.active} {\n  rotate 8\n  copytruncate\n  compress\n}\n`);
      const logrotate = () => execFileSync("logrotate", ["-f", "-s", path.join(path.dirname(env.logDir), "logrotate.state"), conf]);
      fs.writeFileSync(env.active, lines(0, 500));
      const agent = await start(env);
      await waitFor("500 lines", () => env.got.size >= 500, 30_000);

      await env.receiver.refuse();
      fs.appendFileSync(env.active, lines(500, 4500));
      await budgetUsedUp(agent);
      logrotate();
      fs.appendFileSync(env.active, lines(4500, 5000));
      logrotate();
      fs.appendFileSync(env.active, lines(5000, 5200));
      expect(fs.readdirSync(env.logDir).sort()).toEqual(["app.log", "app.log.1.gz", "app.log.2.gz"]);
      await new Promise((r) => setTimeout(r, 500));
      await env.receiver.reopen();

      await waitFor("5200 lines", () => env.got.size >= 5200, 30_000).catch(() => undefined);
      expect(missing(env, 5200)).toEqual([]);
      expect(env.late).toBe(0);
      const metrics = await agent.metrics();
      expect(metricValue(metrics, "nodetap_log_files_lost_total")).toBe(0);
      expect(metricValue(metrics, "nodetap_log_file_errors_total", { reason: "decompress" })).toBe(0);
    },
  );

  it("counts what a plain truncation removed before it was read as lost, in lines' bytes", { timeout: 90_000 }, async () => {
    // `: > app.log` (or a rotator whose copies go elsewhere, logrotate's olddir): no copy to read
    // the rest from. Lost, but not silently.
    const env = await setup();
    fs.writeFileSync(env.active, lines(0, 500));
    const agent = await start(env);
    await waitFor("500 lines", () => env.got.size >= 500, 30_000);
    await env.receiver.refuse();
    fs.appendFileSync(env.active, lines(500, 4500));
    await budgetUsedUp(agent);
    await new Promise((r) => setTimeout(r, 300));
    fs.truncateSync(env.active, 0);
    fs.appendFileSync(env.active, lines(4500, 4600));
    await new Promise((r) => setTimeout(r, 500));
    await env.receiver.reopen();

    await waitFor("line 4599", () => env.got.has(4599), 30_000).catch(() => undefined);
    const gone = missing(env, 4600);
    const metrics = await agent.metrics();
    console.log(
      `plain truncation: ${gone.length} lines lost (${gone[0]}-${gone[gone.length - 1]}), counted ${metricValue(metrics, "nodetap_log_lost_bytes_total")} bytes`,
    );
    expect(gone.length).toBeGreaterThan(3000);
    expect(gone.every((s) => s >= 500 && s < 4500)).toBe(true);
    expect(metricValue(metrics, "nodetap_log_files_lost_total")).toBe(1);
    // With no copy, the head of the line reading stopped in goes out as it is (else it was lost too).
    expect(env.fragments).toHaveLength(1);
    // The lines' bytes, and the rest of the line reading stopped in (its start went out cut short).
    const goneBytes = gone.reduce((n, s) => n + line(s).length, 0);
    expect(metricValue(metrics, "nodetap_log_lost_bytes_total")).toBeGreaterThanOrEqual(goneBytes);
    expect(metricValue(metrics, "nodetap_log_lost_bytes_total")).toBeLessThan(goneBytes + line(gone[0] - 1).length);
  });

  it("does not count a truncated rest lost again after a crash right after it was counted", { timeout: 90_000 }, async () => {
    // The loss is counted at runtime; the checkpoint still names the old generation until it is
    // written (checkpoint.interval, here the longest, 1 s). A crash in between made the restart
    // find the old generation's checkpoint, no copy, and count the same rest lost a second time.
    const env = await setup("*.log", "1s");
    fs.writeFileSync(env.active, lines(0, 500));
    const first = await start(env);
    await waitFor("500 lines", () => env.got.size >= 500, 30_000);
    await env.receiver.refuse();
    fs.appendFileSync(env.active, lines(500, 4500));
    await budgetUsedUp(first);
    await new Promise((r) => setTimeout(r, 300));
    fs.truncateSync(env.active, 0);
    fs.appendFileSync(env.active, lines(4500, 4600));
    await env.receiver.reopen();
    await waitFor("the loss counted", () => first.logsMatching(/unread rest cannot be read/).length > 0, 30_000, 5);
    // Long enough for a write the loss itself asks for, far shorter than the interval.
    await new Promise((r) => setTimeout(r, 150));
    first.kill("SIGKILL");
    await first.exited;

    const second = await start(env);
    await waitFor("line 4599", () => env.got.has(4599), 30_000);
    await new Promise((r) => setTimeout(r, 500));
    const metrics = await second.metrics();
    expect(second.logsMatching(/lost|gone/).map((l) => l.msg)).toEqual([]);
    expect(metricValue(metrics, "nodetap_log_files_lost_total")).toBe(0);
    expect(metricValue(metrics, "nodetap_log_lost_bytes_total")).toBe(0);
  });

  it("counts nothing lost when the source's globs name the copy too and read it as a file of its own", { timeout: 90_000 }, async () => {
    // include app.log*: the scan may open app.log.1 before the truncation is seen, and reads it
    // whole (duplicates, not loss); the truncated generation's rest is then not lost.
    const env = await setup("app.log*");
    fs.writeFileSync(env.active, lines(0, 500));
    const agent = await start(env);
    await waitFor("500 lines", () => env.got.size >= 500, 30_000);
    await env.receiver.refuse();
    fs.appendFileSync(env.active, lines(500, 4500));
    await budgetUsedUp(agent);
    copyTruncate(env.active);
    fs.appendFileSync(env.active, lines(4500, 4600));
    await new Promise((r) => setTimeout(r, 500));
    await env.receiver.reopen();

    await waitFor("4600 lines", () => env.got.size >= 4600, 30_000).catch(() => undefined);
    expect(missing(env, 4600)).toEqual([]);
    const metrics = await agent.metrics();
    expect(metricValue(metrics, "nodetap_log_files_lost_total")).toBe(0);
    expect(metricValue(metrics, "nodetap_log_lost_bytes_total")).toBe(0);
  });
});
