// What rotated away while the agent was down is found and read, however it was renamed: the real
// agent process, real files renamed, compressed, copied and deleted the way logrotate does it,
// with the source's glob naming only the active file (`*.log`, like the host preset's syslog).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { AgentProcess, metricValue, waitFor, writeAgentConfig } from "./harness/agent-process.js";
import { LogReceiver } from "./harness/receiver.js";

const line = (seq: number) => `w=t g=0 s=${seq} ${"x".repeat(60)}\n`;
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => line(from + i)).join("");

/** One stream's lines as the receiver got them, in arrival order. */
class Arrivals {
  readonly seqs: number[] = [];
  add(message: string): void {
    const m = /s=(\d+)/.exec(message);
    if (m) this.seqs.push(Number(m[1]));
  }
  get unique(): Set<number> {
    return new Set(this.seqs);
  }
  missing(upTo: number): number[] {
    const got = this.unique;
    return Array.from({ length: upTo }, (_, i) => i).filter((s) => !got.has(s));
  }
  /** Arrivals of a new line below one that already arrived: order broken across the stream. */
  get outOfOrder(): number {
    let max = -1;
    let n = 0;
    const seen = new Set<number>();
    for (const s of this.seqs) {
      if (seen.has(s)) continue;
      seen.add(s);
      if (s < max) n++;
      max = Math.max(max, s);
    }
    return n;
  }
}

interface Env {
  dir: string;
  logDir: string;
  active: string;
  stateDir: string;
  cfg: string;
  arrivals: Arrivals;
  receiver: LogReceiver;
  agent?: AgentProcess;
}

describe("rotation while the agent is down (real agent process, logrotate's naming)", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  async function setup(include?: (dir: string) => string, tail: Record<string, unknown> = {}): Promise<Env> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-rotrec-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const logDir = path.join(dir, "log");
    fs.mkdirSync(logDir);
    const arrivals = new Arrivals();
    const receiver = new LogReceiver((r) => arrivals.add(r.message));
    await receiver.listen();
    cleanup.push(() => receiver.close());
    const cfg = path.join(dir, "nodetap.yaml");
    const stateDir = path.join(dir, "state");
    writeAgentConfig(cfg, {
      checkpoint: { dir: stateDir },
      sources: { files: { include: [include ? include(dir) : `${logDir}/*.log`] } },
      sink: { type: "http", http: { url: receiver.url } },
      tail,
    });
    return { dir, logDir, active: path.join(logDir, "app.log"), stateDir, cfg, arrivals, receiver };
  }

  async function start(env: Env): Promise<AgentProcess> {
    const agent = new AgentProcess(env.cfg);
    env.agent = agent;
    cleanup.push(async () => {
      agent.kill("SIGKILL");
      await agent.exited;
    });
    await agent.whenStarted();
    return agent;
  }

  /** Waits until `count` distinct lines arrived and the checkpoint file says `file` is acknowledged to its end. */
  async function settled(env: Env, count: number, file: string): Promise<void> {
    await waitFor(`${count} lines`, () => env.arrivals.unique.size >= count, 30_000);
    const size = fs.statSync(file).size;
    await waitFor(
      `checkpoint of ${file} at ${size}`,
      () => {
        const text = fs.readFileSync(path.join(env.stateDir, "checkpoints.json"), { encoding: "utf8", flag: "r" });
        const doc = JSON.parse(text) as { files: Array<{ path: string; offset: number }> };
        return doc.files.some((f) => f.path === file && f.offset === size);
      },
      10_000,
    );
  }

  async function crash(env: Env): Promise<void> {
    env.agent?.kill("SIGKILL");
    await env.agent?.exited;
  }

  /** logrotate's default: shift app.log.N up, app.log -> app.log.1, create app.log. */
  function rotateChain(active: string, keep = 8): void {
    for (let n = keep - 1; n >= 1; n--) {
      for (const ext of ["", ".gz"])
        if (fs.existsSync(`${active}.${n}${ext}`)) fs.renameSync(`${active}.${n}${ext}`, `${active}.${n + 1}${ext}`);
    }
    fs.renameSync(active, `${active}.1`);
    fs.writeFileSync(active, "");
  }

  it("drains a file renamed twice while down, and a file created and rotated away unseen, in stream order", async () => {
    const env = await setup();
    fs.writeFileSync(env.active, lines(0, 1000));
    await start(env);
    await settled(env, 1000, env.active);
    await crash(env);

    fs.appendFileSync(env.active, lines(1000, 1500)); // unread rest of the checkpointed file
    rotateChain(env.active);
    fs.appendFileSync(env.active, lines(1500, 2000)); // a file nodetap never saw
    rotateChain(env.active); // the checkpointed file is app.log.2 now, the unseen one app.log.1
    fs.appendFileSync(env.active, lines(2000, 2500));

    const agent = await start(env);
    await waitFor("2500 lines", () => env.arrivals.unique.size >= 2500, 30_000).catch(() => undefined);
    expect(env.arrivals.missing(2500)).toEqual([]);
    expect(env.arrivals.seqs.length - env.arrivals.unique.size).toBe(0);
    expect(env.arrivals.outOfOrder).toBe(0);
    const m = await agent.metrics();
    expect(metricValue(m, "nodetap_log_files_recovered_total", { how: "renamed" })).toBe(1);
    expect(metricValue(m, "nodetap_log_files_recovered_total", { how: "unseen" })).toBe(1);
    expect(metricValue(m, "nodetap_log_files_lost_total")).toBe(0);
  });

  /** The kubelet's layout: /var/log/containers/<pod>_<ns>_<c>-<id>.log -> /var/log/pods/<ns>_<pod>_<uid>/<c>/0.log. */
  function kubeletLayout(env: Env): { target: string; link: string } {
    const podDir = path.join(env.dir, "pods", "default_web_0000", "app");
    fs.mkdirSync(podDir, { recursive: true });
    const target = path.join(podDir, "0.log");
    fs.mkdirSync(path.join(env.dir, "containers"));
    const link = path.join(env.dir, "containers", "web_default_app-1234.log");
    fs.symlinkSync(target, link);
    return { target, link };
  }

  // Fluent Bit's and many users' include is the kubelet's /var/log/containers/*.log, symlinks
  // into /var/log/pods. The kubelet rotates the target (0.log -> 0.log.<time>, compressed on the
  // next rotation) and the symlink then names the new 0.log: the rotated file is next to the
  // target, not next to the symlink (the first version of this test lost lines 1000-1499).
  it("drains a file rotated while down when the glob names a symlink to it (/var/log/containers)", async () => {
    const env = await setup((dir) => `${dir}/containers/*.log`);
    const { target, link } = kubeletLayout(env);
    fs.writeFileSync(target, lines(0, 1000));
    await start(env);
    await settled(env, 1000, link);
    await crash(env);

    fs.appendFileSync(target, lines(1000, 1500)); // unread rest of the checkpointed file
    fs.renameSync(target, `${target}.20261206-063000`);
    fs.writeFileSync(target, lines(1500, 2000));

    const agent = await start(env);
    await waitFor("2000 lines", () => env.arrivals.unique.size >= 2000, 30_000).catch(() => undefined);
    expect(env.arrivals.missing(2000)).toEqual([]);
    expect(env.arrivals.outOfOrder).toBe(0);
    const m = await agent.metrics();
    expect(metricValue(m, "nodetap_log_files_recovered_total", { how: "renamed" })).toBe(1);
    expect(metricValue(m, "nodetap_log_files_lost_total")).toBe(0);
  });

  it("follows a symlinked file the kubelet rotates twice while nodetap runs (no watch event where the symlink is)", async () => {
    // Not while down, but the same layout: the rename happens in the target's directory, so the
    // symlinks' directory has no watch event, and the scans reused the symlink's cached stat until
    // a full sweep (every 10th scan): the generation between two rotations went unseen and lost.
    // The default scan interval: a sweep every 10 s (the harness' 200 ms would sweep every 2 s).
    const env = await setup((dir) => `${dir}/containers/*.log`, { scanInterval: "1s" });
    const { target } = kubeletLayout(env);
    fs.writeFileSync(target, lines(0, 500));
    await start(env);
    await waitFor("500 lines", () => env.arrivals.unique.size >= 500, 30_000);
    fs.renameSync(target, `${target}.20261206-063000`);
    fs.writeFileSync(target, lines(500, 1000));
    await new Promise((r) => setTimeout(r, 2500)); // two scans (tail.scanInterval 1 s), well before the sweep
    fs.renameSync(target, `${target}.20261206-063003`);
    fs.writeFileSync(target, lines(1000, 1500));

    await waitFor("1500 lines", () => env.arrivals.unique.size >= 1500, 30_000).catch(() => undefined);
    expect(env.arrivals.missing(1500)).toEqual([]);
    expect(env.arrivals.outOfOrder).toBe(0);
  });

  it("drains a symlinked file compressed while down after its symlink was removed with its container", async () => {
    const env = await setup((dir) => `${dir}/containers/*.log`);
    const { target, link } = kubeletLayout(env);
    fs.writeFileSync(target, lines(0, 1000));
    await start(env);
    await settled(env, 1000, link);
    await crash(env);

    fs.appendFileSync(target, lines(1000, 1500));
    const rotated = `${target}.20261206-063000`;
    fs.renameSync(target, rotated);
    fs.writeFileSync(`${rotated}.gz`, zlib.gzipSync(fs.readFileSync(rotated)));
    fs.rmSync(rotated);
    fs.rmSync(link); // the container is gone: so is its symlink, before nodetap is back

    const agent = await start(env);
    await waitFor("1500 lines", () => env.arrivals.unique.size >= 1500, 30_000).catch(() => undefined);
    expect(env.arrivals.missing(1500)).toEqual([]);
    const m = await agent.metrics();
    expect(metricValue(m, "nodetap_log_files_recovered_total", { how: "compressed" })).toBe(1);
    expect(metricValue(m, "nodetap_log_files_lost_total")).toBe(0);
  });

  it("resumes a rotated file it was draining when killed, although the glob does not name it", async () => {
    const env = await setup();
    const fd = fs.openSync(env.active, "a"); // the application's descriptor, kept across renames
    cleanup.push(() => fs.closeSync(fd));
    fs.writeSync(fd, lines(0, 1000));
    await start(env);
    await settled(env, 1000, env.active);
    await crash(env);
    fs.renameSync(env.active, `${env.active}.1`); // rotated while down; the application has not reopened yet
    fs.writeSync(fd, lines(1000, 1200));
    await start(env); // finds app.log.1 by identity and drains it: its checkpoint names app.log.1 now
    await settled(env, 1200, `${env.active}.1`);
    await crash(env);

    fs.writeSync(fd, lines(1200, 1700)); // more late lines to the rotated file while nodetap is down
    fs.writeFileSync(env.active, lines(1700, 2000)); // the application reopened: a new app.log

    await start(env);
    await waitFor("2000 lines", () => env.arrivals.unique.size >= 2000, 30_000).catch(() => undefined);
    expect(env.arrivals.missing(2000)).toEqual([]);
    expect(env.arrivals.outOfOrder).toBe(0);
    expect(env.agent!.logsMatching(/no source includes/)).toEqual([]);
  });

  it("drains a checkpointed file that was compressed while down (create + compress + delaycompress)", async () => {
    const env = await setup();
    fs.writeFileSync(env.active, lines(0, 1000));
    await start(env);
    await settled(env, 1000, env.active);
    await crash(env);

    fs.appendFileSync(env.active, lines(1000, 1600));
    rotateChain(env.active);
    fs.appendFileSync(env.active, lines(1600, 1800));
    rotateChain(env.active);
    // delaycompress: the file rotated twice (the checkpointed one, now .2) is compressed.
    const second = `${env.active}.2`;
    fs.writeFileSync(`${second}.gz`, zlib.gzipSync(fs.readFileSync(second)));
    fs.rmSync(second);
    fs.appendFileSync(env.active, lines(1800, 2000));

    const agent = await start(env);
    await waitFor("2000 lines", () => env.arrivals.unique.size >= 2000, 30_000).catch(() => undefined);
    expect(env.arrivals.missing(2000)).toEqual([]);
    expect(env.arrivals.seqs.length - env.arrivals.unique.size).toBe(0);
    expect(env.arrivals.outOfOrder).toBe(0);
    expect(metricValue(await agent.metrics(), "nodetap_log_files_recovered_total", { how: "compressed" })).toBe(1);
    // The unpacked copy is removed once drained and acknowledged.
    await waitFor("unpacked copy removed", () => fs.readdirSync(path.join(env.stateDir, "unpacked")).length === 0, 15_000);
  });

  it("does not read a .gz whole again after a crash while its unpacked copy was drained", async () => {
    // Found by the kubelet torture (129,656 duplicates of 399,957 lines): the copy unpacked from a
    // .gz is drained under a checkpoint of its own (another inode); a crash during that drain left
    // the .gz looking like a file created and rotated away unseen, read whole by the next start.
    const env = await setup();
    fs.writeFileSync(env.active, lines(0, 1000));
    await start(env);
    await settled(env, 1000, env.active);
    await crash(env);

    fs.appendFileSync(env.active, lines(1000, 1500)); // unread rest
    fs.renameSync(env.active, `${env.active}.1`);
    fs.writeFileSync(`${env.active}.1.gz`, zlib.gzipSync(fs.readFileSync(`${env.active}.1`)));
    fs.rmSync(`${env.active}.1`);
    fs.writeFileSync(env.active, lines(1500, 1600));

    await env.receiver.refuse(); // the drain of the unpacked copy cannot finish
    await start(env);
    await waitFor(
      "the unpacked copy's checkpoint written",
      () => fs.readFileSync(path.join(env.stateDir, "checkpoints.json"), "utf8").includes(`${path.sep}unpacked${path.sep}`),
      10_000,
      20,
    );
    // gzip finished just before (the kubelet compresses the previous rotation while the agent runs):
    // the .gz is newer than the crashed run's last scan, less the slack for coarse file times.
    const justBefore = new Date(Date.now() - 300);
    fs.utimesSync(`${env.active}.1.gz`, justBefore, justBefore);
    await crash(env);
    await env.receiver.reopen();

    const agent = await start(env);
    await waitFor("1600 lines", () => env.arrivals.unique.size >= 1600, 30_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1000));
    expect(env.arrivals.missing(1600)).toEqual([]);
    const again = env.arrivals.seqs.filter((seq) => seq < 1000).length - 1000;
    expect(again, "lines of the first 1,000 sent again").toBe(0);
    expect(agent.logsMatching(/created and rotated away/)).toEqual([]);
  });

  it("drains the rest of a file copytruncated while down from the copy", async () => {
    const env = await setup();
    fs.writeFileSync(env.active, lines(0, 1000));
    await start(env);
    await settled(env, 1000, env.active);
    await crash(env);

    fs.appendFileSync(env.active, lines(1000, 1400));
    fs.copyFileSync(env.active, `${env.active}.1`);
    fs.truncateSync(env.active, 0);
    fs.appendFileSync(env.active, lines(1400, 1600));

    const agent = await start(env);
    await waitFor("1600 lines", () => env.arrivals.unique.size >= 1600, 30_000).catch(() => undefined);
    expect(env.arrivals.missing(1600)).toEqual([]);
    expect(env.arrivals.seqs.length - env.arrivals.unique.size).toBe(0);
    expect(env.arrivals.outOfOrder).toBe(0);
    expect(metricValue(await agent.metrics(), "nodetap_log_files_recovered_total", { how: "copy" })).toBe(1);
  });

  it("counts and logs a checkpointed file deleted while down, with its unread bytes", async () => {
    const env = await setup();
    fs.writeFileSync(env.active, lines(0, 1000));
    await start(env);
    await settled(env, 1000, env.active);
    const ackedSize = fs.statSync(env.active).size;
    await crash(env);

    fs.appendFileSync(env.active, lines(1000, 1100)); // never read: lost with the file
    rotateChain(env.active);
    fs.rmSync(`${env.active}.1`);
    fs.appendFileSync(env.active, lines(1100, 1200));

    const agent = await start(env);
    await waitFor("the new file's lines", () => env.arrivals.unique.has(1199), 30_000);
    const m = await agent.metrics();
    expect(metricValue(m, "nodetap_log_files_lost_total", { source: "files" })).toBe(1);
    // The last size nodetap saw was what it had acknowledged: the unread rest is unknown to it.
    expect(metricValue(m, "nodetap_log_lost_bytes_total", { source: "files" })).toBe(0);
    const warned = agent.logsMatching(/its unread rest, is lost/);
    expect(warned).toHaveLength(1);
    expect(warned[0].file).toBe(env.active);
    expect(ackedSize).toBeGreaterThan(0);
  });

  it("does not count a rotated file read to its end and deleted while down as lost", async () => {
    const env = await setup();
    fs.writeFileSync(env.active, lines(0, 500));
    await start(env);
    await settled(env, 500, env.active);
    rotateChain(env.active);
    fs.appendFileSync(env.active, lines(500, 600));
    await settled(env, 600, env.active);
    await crash(env);

    fs.rmSync(`${env.active}.1`); // the rotator's `rotate` count reached it
    fs.appendFileSync(env.active, lines(600, 700));

    const agent = await start(env);
    await waitFor("the new lines", () => env.arrivals.unique.has(699), 30_000);
    const m = await agent.metrics();
    expect(metricValue(m, "nodetap_log_files_lost_total", { source: "files" }) ?? 0).toBe(0);
    expect(agent.logsMatching(/its unread rest, is lost/)).toHaveLength(0);
    expect(env.arrivals.missing(700)).toEqual([]);
  });
});
