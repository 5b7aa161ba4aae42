/**
 * Turns out-of-order sink acknowledgements into a position that only moves forward over
 * contiguous acknowledged data.
 *
 * A source issues one ticket per emission (a chunk of records read from one file, in file
 * order) carrying the position that is safe to commit once those records and every earlier one
 * are acknowledged. Batches settle tickets in any order; the committed position advances only
 * through the longest prefix of fully settled tickets, so an offset never moves past a record
 * the sink has not accepted.
 */

/** What a batch needs from a ticket, whatever the position type. */
export interface Acknowledgeable {
  /** Acknowledges `count` records of this ticket. */
  ack(count: number): void;
}

export class AckTicket<P> implements Acknowledgeable {
  readonly issuedAt = Date.now();

  constructor(
    readonly position: P,
    /** Records of this ticket not yet acknowledged. */
    public remaining: number,
    private readonly tracker: AckTracker<P>,
  ) {}

  ack(count: number): void {
    this.tracker.settle(this, count);
  }
}

export class AckTracker<P> {
  private queue: AckTicket<P>[] = [];
  private head = 0;
  private committedPosition: P | undefined;

  constructor(
    private readonly onCommit: (position: P) => void,
    initial?: P,
  ) {
    this.committedPosition = initial;
  }

  /** A ticket for `records` records; with 0 records it only moves the position (e.g. skipped bytes). */
  issue(position: P, records: number): AckTicket<P> {
    const ticket = new AckTicket<P>(position, records, this);
    this.queue.push(ticket);
    if (records === 0) this.advance();
    return ticket;
  }

  /** Marks `count` records of the ticket acknowledged. */
  settle(ticket: AckTicket<P>, count: number): void {
    if (count > ticket.remaining) throw new Error(`ack tracker: settling ${count} records of a ticket with ${ticket.remaining} left`);
    ticket.remaining -= count;
    if (ticket.remaining === 0 && this.queue[this.head] === ticket) this.advance();
  }

  get committed(): P | undefined {
    return this.committedPosition;
  }

  /** Tickets issued and not yet committed. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** When the oldest unacknowledged ticket was issued (ms since epoch), or undefined when none. */
  oldestPendingIssuedAt(): number | undefined {
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i].remaining > 0) return this.queue[i].issuedAt;
    return undefined;
  }

  private advance(): void {
    let moved = false;
    while (this.head < this.queue.length && this.queue[this.head].remaining === 0) {
      this.committedPosition = this.queue[this.head].position;
      this.head++;
      moved = true;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    } else if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    if (moved) this.onCommit(this.committedPosition as P);
  }
}
