import type { Gauge } from "prom-client";
import type { InFlightBudget } from "../in-flight-budget.js";

/** What a sink's delivery needs of a budget: bytes in when records are queued, out when they settle. */
export interface ByteBudget {
  add(bytes: number): void;
  release(bytes: number): void;
}

/**
 * One sink's share of the in-flight budget. Its bytes count in the node-wide budget too (which
 * pauses all reading when full), and past its own limit the files with records waiting on this
 * sink stop being read (see Router.blocked): a slow or dead sink holds at most its share, and
 * files routed elsewhere go on.
 */
export class SinkBudget implements ByteBudget {
  private used = 0;
  private readonly roomListeners = new Set<() => void>();

  constructor(
    readonly sink: string,
    readonly limit: number,
    private readonly total: InFlightBudget,
    private readonly gauges: { bytes: Gauge<"sink">; limit: Gauge<"sink"> },
  ) {
    gauges.limit.set({ sink }, limit);
    gauges.bytes.set({ sink }, 0);
  }

  get bytes(): number {
    return this.used;
  }

  /** At or past its limit: files with records waiting on this sink wait too. */
  get full(): boolean {
    return this.used >= this.limit;
  }

  add(bytes: number): void {
    this.used += bytes;
    this.total.add(bytes);
    this.gauges.bytes.set({ sink: this.sink }, this.used);
  }

  release(bytes: number): void {
    const wasFull = this.full;
    this.used = Math.max(0, this.used - bytes);
    this.total.release(bytes);
    this.gauges.bytes.set({ sink: this.sink }, this.used);
    if (wasFull && !this.full) for (const listener of [...this.roomListeners]) listener();
  }

  /** Calls `listener` each time the sink goes from full to having room. */
  onRoom(listener: () => void): void {
    this.roomListeners.add(listener);
  }
}
