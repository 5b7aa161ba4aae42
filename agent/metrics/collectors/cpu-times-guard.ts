import type { Logger } from "pino";
import { zeroCpuTimes, type CpuTimes } from "../parsers/proc-stat.js";

/** An idle counter falling back by this many seconds means the CPU was hot-plugged: start over. */
export const JUMP_BACK_SECONDS = 3.0;

const MODES = ["idle", "user", "nice", "system", "iowait", "irq", "softirq", "steal", "guest", "guestNice"] as const;

/**
 * Keeps /proc/stat CPU times monotonic across scrapes, as node_exporter's cpu collector does:
 * the kernel's per-CPU counters can step back slightly (e.g. iowait, or idle on some
 * hypervisors), which Prometheus would read as a counter reset. A value that went down is held
 * at its previous value; an idle drop of JUMP_BACK_SECONDS or more resets the CPU (hotplug).
 * CPUs that disappeared from /proc/stat are forgotten.
 */
export class CpuTimesGuard {
  private readonly last = new Map<number, CpuTimes>();

  constructor(private readonly logger?: Logger) {}

  /** Merges a new reading and returns the guarded times per CPU (the map is owned by the guard). */
  update(current: ReadonlyMap<number, CpuTimes>): ReadonlyMap<number, CpuTimes> {
    for (const [cpu, now] of current) {
      let kept = this.last.get(cpu);
      if (kept === undefined) {
        kept = zeroCpuTimes();
        this.last.set(cpu, kept);
      } else if (kept.idle - now.idle >= JUMP_BACK_SECONDS) {
        this.logger?.debug(
          { cpu, old_value: kept.idle, new_value: now.idle },
          "CPU idle counter jumped backwards, possible hotplug event; resetting CPU stats",
        );
        Object.assign(kept, zeroCpuTimes());
      }
      for (const mode of MODES) {
        if (now[mode] >= kept[mode]) kept[mode] = now[mode];
        else this.logger?.debug({ cpu, mode, old_value: kept[mode], new_value: now[mode] }, "CPU counter jumped backwards");
      }
    }
    if (this.last.size !== current.size) {
      for (const cpu of this.last.keys()) if (!current.has(cpu)) this.last.delete(cpu);
    }
    return this.last;
  }
}
