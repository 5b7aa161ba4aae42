import { Prng } from "./prng.js";
import type { TortureOptions } from "./options.js";
import type { ReceiverMode } from "./receiver.js";

/** When a SIGKILL lands, relative to the start of writing (t0). */
export type KillMoment =
  | { kind: "at"; ms: number }
  /** `delayMs` after rotation round `round` (0-based) finished. */
  | { kind: "afterRotation"; round: number; delayMs: number }
  /** `delayMs` after the agent now running was spawned (a kill during its startup). */
  | { kind: "afterSpawn"; delayMs: number };

export interface KillStep {
  moment: KillMoment;
  /** Pause between the kill and the next spawn. */
  restartDelayMs: number;
}

/** A window in which the receiver answers 503 or refuses connections. */
export interface Outage {
  startMs: number;
  endMs: number;
  mode: Exclude<ReceiverMode, "accept">;
}

/** Everything a run does at chosen moments, drawn from the seed before it starts. */
export interface Schedule {
  /** Rotation rounds (every file rotated) at these times after t0. */
  rotationsAtMs: number[];
  kills: KillStep[];
  outages: Outage[];
}

export function planSchedule(o: TortureOptions): Schedule {
  const durationMs = o.duration * 1000;
  const rot = Prng.fork(o.seed, "rotation");
  const rotationsAtMs: number[] = [];
  for (let r = 1; ; r++) {
    // ±10% jitter on each interval, as cron and size checks never fire exactly on time.
    const at = Math.round(r * o.rotateEvery * 1000 + rot.between(-0.1, 0.1) * o.rotateEvery * 1000);
    if (at >= durationMs) break;
    rotationsAtMs.push(at);
  }
  const p = Prng.fork(o.seed, `crash-${o.crash}`);
  const n = o.crash === "none" ? 0 : o.kills;
  const restart = () => Math.round(p.between(200, 1000));
  const schedule: Schedule = { rotationsAtMs, kills: [], outages: [] };
  switch (o.crash) {
    case "none":
      break;
    case "random": {
      const times = Array.from({ length: n }, () => Math.round(p.between(0, durationMs))).sort((a, b) => a - b);
      schedule.kills = times.map((ms) => ({ moment: { kind: "at", ms }, restartDelayMs: restart() }));
      break;
    }
    case "startup": {
      // Episodes: a kill of a running agent, then 2-4 kills of its successors 50-600 ms after
      // their spawn (before or around "nodetap started"), then the last one is left to run.
      const sizes: number[] = [];
      for (let left = n; left > 0;) {
        const size = Math.min(left, 1 + p.int(2, 4));
        sizes.push(size);
        left -= size;
      }
      const slot = durationMs / Math.max(1, sizes.length);
      sizes.forEach((size, i) => {
        const ms = Math.round(i * slot + p.between(0.1, 0.6) * slot);
        schedule.kills.push({ moment: { kind: "at", ms }, restartDelayMs: Math.round(p.between(100, 500)) });
        for (let k = 1; k < size; k++) {
          schedule.kills.push({
            moment: { kind: "afterSpawn", delayMs: Math.round(p.between(50, 600)) },
            restartDelayMs: Math.round(p.between(100, 500)),
          });
        }
      });
      break;
    }
    case "drain": {
      // Rounds apart from each other where possible, so the agent is up again by the next one.
      const order = p.shuffle(rotationsAtMs.map((_, i) => i));
      const chosen: number[] = [];
      for (const r of order) if (chosen.length < n && !chosen.some((c) => Math.abs(c - r) <= 1)) chosen.push(r);
      for (const r of order) if (chosen.length < n && !chosen.includes(r)) chosen.push(r);
      schedule.kills = chosen
        .sort((a, b) => a - b)
        .map((round) => ({ moment: { kind: "afterRotation", round, delayMs: Math.round(p.between(0, 300)) }, restartDelayMs: restart() }));
      break;
    }
    case "sink-refusing": {
      const slot = (durationMs - 500) / Math.max(1, n);
      for (let i = 0; i < n; i++) {
        const len = Math.round(Math.min(p.between(1000, 3000), slot * 0.8));
        const startMs = Math.round(500 + i * slot + p.between(0, slot - len));
        const mode = p.pick(["status503", "refuse"] as const);
        schedule.outages.push({ startMs, endMs: startMs + len, mode });
        schedule.kills.push({ moment: { kind: "at", ms: Math.round(startMs + p.between(0.2, 0.8) * len) }, restartDelayMs: restart() });
      }
      break;
    }
  }
  return schedule;
}
