import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { writeTortureConfig } from "./config.js";
import { FileHistory } from "./history.js";
import { Ledger, type SeqRun } from "./ledger.js";
import { resolveOptions, type TortureOptions } from "./options.js";
import { Prng } from "./prng.js";
import { Receiver } from "./receiver.js";
import { layoutFor, newRotator, writerReportsFiles } from "./rotators.js";
import { planSchedule, type Schedule } from "./schedule.js";
import { Supervisor } from "./supervisor.js";
import { TortureWriter } from "./writer.js";

export type { TortureOptions } from "./options.js";

export interface TortureResult {
  options: TortureOptions;
  /** The kill moments, restart delays, rotation times and sink outages drawn from the seed. */
  schedule: Schedule;
  /** Lines written, all writers. */
  written: number;
  /** Distinct lines that arrived at the receiver. */
  received: number;
  /** Lines written and never received, rotator race lines not included. */
  lost: number;
  /**
   * The first lost runs (inclusive sequence ranges per writer); for a run whose first line's
   * last plain file the rotator deleted or compressed: when (s after t0) and how long a started
   * agent had been running between that line's write and then.
   */
  lostRuns: Array<SeqRun & { goneAtS?: number; agentUpMsBeforeGone?: number }>;
  lostRunCount: number;
  /**
   * Of `lost`: lines whose last plain file the rotator deleted or compressed before any started
   * agent ran after they were written (the rotator outran a down agent; still counted as lost).
   */
  lostGoneBeforeAnyAgentUp: number;
  /** Arrivals of a line already received. */
  duplicates: number;
  /** First arrivals with a lower sequence number than one already received from the same writer. */
  outOfOrder: number;
  /** Where the first runs of out-of-order arrivals began (s after t0): which line came after which. */
  outOfOrderRuns: Array<{ writer: string; seq: number; after: number; atS: number }>;
  /** The 20 longest runs of lines received again: writer, first sequence number, length, when. */
  duplicateRuns: Array<{ writer: string; from: number; count: number; atS: number }>;
  /** copytruncate: lines never received that were written between the copy and the truncate. */
  rotatorRaceLines: number;
  /** copytruncate: all lines written inside those windows (received or not). */
  rotatorRaceWindowLines: number;
  kills: number;
  killsBeforeStarted: number;
  restarts: number;
  /** Agents that exited without being killed by the harness (code/signal). */
  unexpectedExits: string[];
  /** Rotation rounds (each rotates every file). */
  rotations: number;
  /** Agent log messages: warnings, errors, and those about checkpoints, rotation or loss. */
  agentLogCounts: Record<string, number>;
  /** How the wait for the last lines ended: all there, nothing new for settleQuiet s, or settleMax reached. */
  settled: "complete" | "quiet" | "cap";
  /** How the last agent ended on SIGTERM. */
  finalExit: string;
  /** Records that were not the writers' lines. */
  foreign: number;
  foreignSamples: string[];
  receiverAnswers: Record<string, number>;
  elapsedMs: number;
  agentPeakRssBytes: number;
  /** The temp dir, when kept (--keep-dir): logs/, state/, nodetap.yaml, agent.log. */
  dir?: string;
  /** What happened when (seconds after writing began). */
  timeline: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sleepUntil = (t: number) => sleep(Math.max(0, t - Date.now()));

/** Resolves waiters as rotation rounds finish; false for rounds that never come. */
class RoundSignal {
  private done = -1;
  private ended = false;
  private waiters: Array<{ round: number; resolve: (ok: boolean) => void }> = [];

  finished(round: number): void {
    this.done = round;
    this.flush();
  }

  end(): void {
    this.ended = true;
    this.flush();
  }

  wait(round: number): Promise<boolean> {
    return new Promise((resolve) => {
      this.waiters.push({ round, resolve });
      this.flush();
    });
  }

  private flush(): void {
    this.waiters = this.waiters.filter((w) => {
      if (w.round <= this.done) w.resolve(true);
      else if (this.ended) w.resolve(false);
      else return true;
      return false;
    });
  }
}

/**
 * Starts the real agent, writes numbered lines into real files, rotates them like a real
 * rotator, SIGKILLs and restarts the agent on a seeded schedule, and accounts for every line at
 * an HTTP receiver.
 */
export async function runTorture(options: Partial<TortureOptions> = {}): Promise<TortureResult> {
  const opts = resolveOptions(options);
  const schedule = planSchedule(opts);
  const began = Date.now();
  let t0 = began;
  const timeline: string[] = [];
  const note = (what: string) => {
    const line = `${((Date.now() - t0) / 1000).toFixed(2)}s ${what}`;
    if (timeline.length < 2000) timeline.push(line);
    if (opts.verbose) process.stderr.write(`[torture] ${line}\n`);
  };

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-torture-"));
  const ledger = new Ledger();
  const receiver = new Receiver((m) => ledger.add(m));
  await receiver.listen();
  const layout = layoutFor(opts.scheme, path.join(dir, "logs"), opts.files);
  const configFile = path.join(dir, "nodetap.yaml");
  writeTortureConfig(configFile, { url: receiver.url, stateDir: path.join(dir, "state"), sources: layout.sources });
  const agentLog = fs.createWriteStream(path.join(dir, "agent.log"));
  const counts = new Map<string, number>();
  const history = new FileHistory();
  const writers = layout.files.map((f, i) => {
    const id = `f${i}`;
    const onOpen = writerReportsFiles(opts.scheme) ? (seq: number, ino: number) => history.opened(id, seq, ino) : undefined;
    // copytruncate-noappend: a writer without O_APPEND writes on at its offset after the truncate.
    const mode = opts.scheme === "copytruncate-noappend" ? "w" : "a";
    return new TortureWriter(f, id, opts.rate, layout.format, opts.lineBytes, onOpen, mode);
  });
  const rotators = writers.map((w, i) => newRotator(opts.scheme, w, opts.keep, Prng.fork(opts.seed, `reopen-${i}`), history));
  const sup = new Supervisor(configFile, opts.agentArgs, counts, agentLog, note);
  let progress: NodeJS.Timeout | undefined;
  let writing = false;

  try {
    if (!(await sup.ensureStarted(60_000, 1))) throw new Error(`the agent did not start; see ${path.join(dir, "agent.log")}`);
    t0 = Date.now();
    note(`writing: ${opts.files} files x ${opts.rate} lines/s for ${opts.duration} s, scheme ${opts.scheme}, crash ${opts.crash}`);
    for (const w of writers) w.start();
    writing = true;
    let rotations = 0;
    const rounds = new RoundSignal();
    const written = () => writers.reduce((n, w) => n + w.seq, 0);
    if (opts.verbose) {
      progress = setInterval(() => {
        const a = sup.current;
        note(
          `progress: written ${written()}, received ${ledger.received}, duplicates ${ledger.duplicates}, agent ${a?.alive ? (a.started ? "up" : "starting") : "down"}`,
        );
      }, 5000);
    }

    const rotateLoop = async () => {
      try {
        for (let r = 0; r < schedule.rotationsAtMs.length; r++) {
          await sleepUntil(t0 + schedule.rotationsAtMs[r]);
          if (!writing) break;
          for (const rot of rotators) await rot.rotate();
          rotations++;
          rounds.finished(r);
        }
      } finally {
        rounds.end();
      }
    };

    const crashLoop = async () => {
      for (const step of schedule.kills) {
        const m = step.moment;
        if (m.kind === "at") await sleepUntil(t0 + m.ms);
        else if (m.kind === "afterRotation") {
          if (!(await rounds.wait(m.round))) break;
          await sleep(m.delayMs);
        } else await sleepUntil((sup.current?.spawnedAt ?? Date.now()) + m.delayMs);
        if (!writing) break;
        if (!sup.current?.alive) sup.spawn();
        await sup.kill();
        await sleep(step.restartDelayMs);
        if (sup.stopping) break;
        sup.spawn();
      }
    };

    const outageLoop = async () => {
      for (const o of schedule.outages) {
        await sleepUntil(t0 + o.startMs);
        if (!writing) break;
        await receiver.setMode(o.mode);
        note(`receiver: ${o.mode} for ${o.endMs - o.startMs} ms`);
        await sleepUntil(t0 + o.endMs);
        await receiver.setMode("accept");
        note("receiver: accepting");
      }
    };

    const loops = Promise.all([rotateLoop(), crashLoop(), outageLoop()]);
    loops.catch(() => undefined); // awaited below, after the writing time
    await sleepUntil(t0 + opts.duration * 1000);
    for (const w of writers) w.stop();
    writing = false;
    note(`writing stopped: ${written()} lines`);
    await loops;
    await receiver.setMode("accept");
    if (!(await sup.ensureStarted(60_000))) note("the final agent did not start");

    // Every line there (race lines aside), or nothing new for settleQuiet s, or settleMax.
    const excused = rotators.map((r) => (s: number) => r.raceWindows.some(([a, b]) => s >= a && s < b));
    const allArrived = () =>
      writers.every((w, i) => {
        for (let s = 0; s < w.seq; s++) if (!ledger.has(w.id, s) && !excused[i](s)) return false;
        return true;
      });
    const settleStart = Date.now();
    let settled: TortureResult["settled"];
    for (;;) {
      if (allArrived()) settled = "complete";
      else if (Date.now() - Math.max(ledger.lastArrivalAt, settleStart) >= opts.settleQuiet * 1000) settled = "quiet";
      else if (Date.now() - settleStart >= opts.settleMax * 1000) settled = "cap";
      else {
        await sleep(250);
        continue;
      }
      break;
    }
    note(`settled (${settled}) after ${((Date.now() - settleStart) / 1000).toFixed(1)} s`);
    clearInterval(progress);
    const finalExit = await sup.stop(15_000);
    note(`agent stopped: ${finalExit}`);

    const runs = writers.flatMap((w, i) => ledger.missingRuns(w.id, w.seq, excused[i]));
    let raceLines = 0;
    let raceWindowLines = 0;
    writers.forEach((w, i) => {
      for (const [a, b] of rotators[i].raceWindows) {
        raceLines += ledger.countMissing(w.id, a, b);
        raceWindowLines += b - a;
      }
    });
    // When a line was written (steady rate from t0) and whether an agent had a chance at it.
    const writtenAt = (seq: number) => t0 + (seq / opts.rate) * 1000;
    let goneUnseen = 0;
    for (const r of runs) {
      for (let s = r.from; s <= r.to; s++) {
        const gone = history.goneAt(r.writer, s);
        if (gone !== undefined && sup.upMsBetween(writtenAt(s), gone) === 0) goneUnseen++;
      }
    }
    const annotated = runs.slice(0, 20).map((r) => {
      const gone = history.goneAt(r.writer, r.from);
      if (gone === undefined) return r;
      return { ...r, goneAtS: Number(((gone - t0) / 1000).toFixed(2)), agentUpMsBeforeGone: sup.upMsBetween(writtenAt(r.from), gone) };
    });
    const sortedCounts = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    return {
      options: opts,
      schedule,
      written: written(),
      received: ledger.received,
      lost: runs.reduce((n, r) => n + r.to - r.from + 1, 0),
      lostRuns: annotated,
      lostRunCount: runs.length,
      lostGoneBeforeAnyAgentUp: goneUnseen,
      duplicates: ledger.duplicates,
      outOfOrder: ledger.outOfOrder,
      outOfOrderRuns: ledger.outOfOrderRuns.map(({ atMs, ...r }) => ({ ...r, atS: Number(((atMs - t0) / 1000).toFixed(2)) })),
      duplicateRuns: [...ledger.duplicateRuns]
        .sort((a, b) => b.count - a.count)
        .slice(0, 20)
        .map(({ atMs, ...r }) => ({ ...r, atS: Number(((atMs - t0) / 1000).toFixed(2)) })),
      rotatorRaceLines: raceLines,
      rotatorRaceWindowLines: raceWindowLines,
      kills: sup.kills,
      killsBeforeStarted: sup.killsBeforeStarted,
      restarts: sup.restarts,
      unexpectedExits: sup.unexpectedExits,
      rotations,
      agentLogCounts: Object.fromEntries(sortedCounts),
      settled,
      finalExit,
      foreign: ledger.foreign,
      foreignSamples: ledger.foreignSamples,
      receiverAnswers: Object.fromEntries([...receiver.answers.entries()].map(([k, v]) => [String(k), v])),
      elapsedMs: Date.now() - began,
      agentPeakRssBytes: sup.peakRssBytes,
      dir: opts.keepDir ? dir : undefined,
      timeline,
    };
  } finally {
    writing = false;
    clearInterval(progress);
    for (const w of writers) w.close();
    await sup.abort();
    await receiver.close();
    await new Promise<void>((r) => agentLog.end(() => r()));
    if (!opts.keepDir) fs.rmSync(dir, { recursive: true, force: true });
  }
}
