import type { Counter } from "prom-client";
import type { Acknowledgeable } from "../ack-tracker.js";
import type { LogRecord } from "../record.js";
import { FanOutTicket } from "./fan-out-ticket.js";
import { MAX_SINKS, type CompiledRoute } from "./routes.js";
import type { SinkBudget } from "./sink-budget.js";

/** A sink as the router sees it: where its copies go and the budget they count in. */
export interface RoutedSink {
  readonly name: string;
  readonly budget: SinkBudget;
  submit(records: readonly LogRecord[], ticket: Acknowledgeable, lane: string): void;
}

/** The filter chain as the router runs it (agent/logs/filters/chain.ts). */
export interface RecordFilter {
  readonly length: number;
  apply(record: LogRecord, now: number): LogRecord | null;
}

export interface RouterMetrics {
  routed: Counter<"route">;
  unrouted: Counter;
}

/**
 * Between the sources and the sinks' deliveries: runs the filters on each record, picks its sinks
 * by the routes (every sink when no route is configured; the sinks of every route that matches
 * otherwise), and hands each sink its copies in file order. The source's ticket settles when
 * every copy was acknowledged (FanOutTicket), so a file's checkpoint never passes a record one of
 * its sinks still holds: at-least-once per sink.
 *
 * Back-pressure per sink: a file (lane) with copies waiting on a full sink is not read on
 * (blocked), while files whose records go to other sinks are; the lines wait on disk.
 */
export class Router {
  /** Copies queued or in flight, per lane, per sink (index as in `sinks`). */
  private readonly pending = new Map<string, Uint32Array>();
  /** Sink indexes of each route mask, built on first use. */
  private readonly targetsByMask = new Map<number, readonly number[]>();
  private readonly allSinks: readonly number[];

  constructor(
    private readonly sinks: readonly RoutedSink[],
    private readonly routes: readonly CompiledRoute[] | undefined,
    private readonly filters: RecordFilter | undefined,
    private readonly metrics: RouterMetrics,
  ) {
    if (sinks.length > MAX_SINKS) throw new Error(`at most ${MAX_SINKS} sinks`);
    this.allSinks = sinks.map((_, i) => i);
  }

  submit(records: readonly LogRecord[], ticket: Acknowledgeable, lane: string): void {
    const now = Date.now();
    const copies: LogRecord[][] = this.sinks.map(() => []);
    const routeCounts = this.routes === undefined ? undefined : new Array<number>(this.routes.length).fill(0);
    let deliveries = 0;
    let unrouted = 0;
    for (let i = 0; i < records.length; i++) {
      const record = this.filters === undefined ? records[i] : this.filters.apply(records[i], now);
      if (record === null) continue;
      const targets = this.targetsOf(record, routeCounts);
      if (targets.length === 0) {
        unrouted++;
        continue;
      }
      for (const s of targets) copies[s].push(record);
      deliveries += targets.length;
    }
    if (unrouted > 0) this.metrics.unrouted.inc(unrouted);
    if (routeCounts !== undefined) {
      for (let r = 0; r < routeCounts.length; r++)
        if (routeCounts[r] > 0) this.metrics.routed.inc({ route: this.routes![r].name }, routeCounts[r]);
    }
    if (deliveries === 0) {
      ticket.ack(records.length);
      return;
    }
    const fan = new FanOutTicket(ticket, records.length, deliveries);
    let pending = this.pending.get(lane);
    if (pending === undefined) {
      pending = new Uint32Array(this.sinks.length);
      this.pending.set(lane, pending);
    }
    const counts = pending;
    for (let s = 0; s < copies.length; s++) {
      const batch = copies[s];
      if (batch.length === 0) continue;
      counts[s] += batch.length;
      const sinkTicket: Acknowledgeable = {
        ack: (count) => {
          counts[s] -= count;
          if (this.pending.get(lane) === counts && counts.every((c) => c === 0)) this.pending.delete(lane);
          fan.ack(count);
        },
      };
      this.sinks[s].submit(batch, sinkTicket, lane);
    }
  }

  /** The lane has copies waiting on a sink that is full: do not read it on. */
  blocked(lane: string): boolean {
    const counts = this.pending.get(lane);
    if (counts === undefined) return false;
    for (let s = 0; s < counts.length; s++) if (counts[s] > 0 && this.sinks[s].budget.full) return true;
    return false;
  }

  /** Blocked lanes per full sink, for the nodetap_log_files_blocked gauge. */
  blockedBySink(): Map<string, number> {
    const out = new Map<string, number>(this.sinks.map((sink) => [sink.name, 0]));
    for (const counts of this.pending.values()) {
      for (let s = 0; s < counts.length; s++)
        if (counts[s] > 0 && this.sinks[s].budget.full) out.set(this.sinks[s].name, out.get(this.sinks[s].name)! + 1);
    }
    return out;
  }

  /** Names of the full sinks each blocked lane waits on, for /status. */
  blockedLanes(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [lane, counts] of this.pending) {
      const full = this.sinks.filter((sink, s) => counts[s] > 0 && sink.budget.full).map((sink) => sink.name);
      if (full.length > 0) out[lane] = full;
    }
    return out;
  }

  /** Calls `listener` whenever a full sink has room again (blocked lanes may read on). */
  onRoom(listener: () => void): void {
    for (const sink of this.sinks) sink.budget.onRoom(listener);
  }

  private targetsOf(record: LogRecord, routeCounts: number[] | undefined): readonly number[] {
    const routes = this.routes;
    if (routes === undefined) return this.allSinks;
    let mask = 0;
    for (let r = 0; r < routes.length; r++) {
      const route = routes[r];
      if (route.matches !== undefined && !route.matches(record)) continue;
      routeCounts![r]++;
      mask |= route.sinkMask;
    }
    let targets = this.targetsByMask.get(mask);
    if (targets === undefined) {
      targets = this.allSinks.filter((s) => (mask & (1 << s)) !== 0);
      this.targetsByMask.set(mask, targets);
    }
    return targets;
  }
}
