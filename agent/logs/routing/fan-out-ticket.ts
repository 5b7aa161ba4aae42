import type { Acknowledgeable } from "../ack-tracker.js";

/**
 * A source's ticket for `records` records whose copies went to several sinks (`deliveries` in
 * all, after filters and routes): the source's ticket is settled, as a whole, once every copy
 * was acknowledged (or dead-lettered) by its sink. Records filtered out or routed nowhere have
 * no copy and count as delivered with the rest.
 */
export class FanOutTicket implements Acknowledgeable {
  constructor(
    private readonly ticket: Acknowledgeable,
    private readonly records: number,
    private remaining: number,
  ) {}

  ack(count: number): void {
    if (count > this.remaining) throw new Error(`fan-out ticket: ${count} acknowledgements for ${this.remaining} copies left`);
    this.remaining -= count;
    if (this.remaining === 0) this.ticket.ack(this.records);
  }
}
