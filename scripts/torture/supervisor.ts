import type fs from "node:fs";
import { AgentRun } from "./agent.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Keeps one agent at a time: spawns, SIGKILLs on request, and counts. An agent that exits on
 * its own (not killed here) is counted and replaced after a second, unless the run is stopping.
 */
export class Supervisor {
  current?: AgentRun;
  readonly runs: AgentRun[] = [];
  spawns = 0;
  kills = 0;
  /** Kills that landed before the agent had logged "nodetap started". */
  killsBeforeStarted = 0;
  unexpectedExits: string[] = [];
  stopping = false;
  private peakRss = 0;
  private readonly ours = new Set<AgentRun>();

  constructor(
    private readonly configFile: string,
    private readonly agentArgs: readonly string[],
    private readonly counts: Map<string, number>,
    private readonly logFile: fs.WriteStream,
    private readonly note: (what: string) => void,
  ) {}

  get restarts(): number {
    return Math.max(0, this.spawns - 1);
  }

  get peakRssBytes(): number {
    return Math.max(this.peakRss, this.current?.peakRssBytes ?? 0);
  }

  spawn(): AgentRun {
    const run = new AgentRun(this.configFile, this.agentArgs, this.counts, this.logFile, (r) =>
      this.note(`agent pid ${r.pid} started (${r.startedAt! - r.spawnedAt} ms after spawn)`),
    );
    this.spawns++;
    this.runs.push(run);
    this.current = run;
    this.note(`spawned agent pid ${run.pid}`);
    void run.exited.then(({ code, signal }) => {
      this.peakRss = Math.max(this.peakRss, run.peakRssBytes);
      if (this.ours.has(run)) return;
      this.unexpectedExits.push(`pid ${run.pid}: code ${code} signal ${signal}`);
      this.note(`agent pid ${run.pid} exited on its own: code ${code} signal ${signal}`);
      setTimeout(() => {
        if (this.current === run && !this.stopping) this.spawn();
      }, 1000);
    });
    return run;
  }

  /** Milliseconds within [fromMs, toMs] during which a started agent was running. */
  upMsBetween(fromMs: number, toMs: number): number {
    let up = 0;
    for (const r of this.runs) {
      if (r.startedAt === undefined) continue;
      up += Math.max(0, Math.min(r.exitedAt ?? Date.now(), toMs) - Math.max(r.startedAt, fromMs));
    }
    return up;
  }

  /** SIGKILLs the current agent (if alive) and waits for it to be gone. */
  async kill(): Promise<void> {
    const run = this.current;
    if (!run?.alive) return;
    this.ours.add(run);
    const started = run.started;
    run.kill("SIGKILL");
    await run.exited;
    this.kills++;
    if (!started) this.killsBeforeStarted++;
    this.note(`SIGKILL agent pid ${run.pid}, ${Date.now() - run.spawnedAt} ms after spawn${started ? "" : ", before it had started"}`);
  }

  /** Spawns an agent if none is alive and waits until one has started (a few tries). */
  async ensureStarted(timeoutMs: number, tries = 3): Promise<boolean> {
    for (let i = 0; i < tries; i++) {
      if (!this.current?.alive) this.spawn();
      const run = this.current!;
      const until = Date.now() + timeoutMs;
      while (run.alive && !run.started && Date.now() < until) await sleep(50);
      if (run.started && run.alive) return true;
      if (run.alive) return false;
    }
    return false;
  }

  /** SIGTERM to the current agent (SIGKILL after `graceMs`); how it ended. */
  async stop(graceMs: number): Promise<string> {
    this.stopping = true;
    const run = this.current;
    if (!run?.alive) return "not running";
    this.ours.add(run);
    const { code, signal } = await run.stop(graceMs);
    this.peakRss = Math.max(this.peakRss, run.peakRssBytes);
    return signal ? `signal ${signal}` : `code ${code}`;
  }

  /** SIGKILL whatever is left (cleanup after an error). */
  async abort(): Promise<void> {
    this.stopping = true;
    const run = this.current;
    if (!run?.alive) return;
    this.ours.add(run);
    run.kill("SIGKILL");
    await run.exited;
  }
}
