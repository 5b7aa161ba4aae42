import type { Acknowledgeable } from "../ack-tracker.js";
import { recordSize, type LogRecord } from "../record.js";

export interface BatchLimits {
  maxBytes: number;
  maxRecords: number;
  maxWaitMs: number;
}

/**
 * Records sent together, with the tickets they belong to as runs (ticket, count): records of
 * one emission are contiguous, so a batch of thousands of records holds a handful of runs.
 */
export class Batch {
  readonly records: LogRecord[] = [];
  readonly tickets: Acknowledgeable[] = [];
  readonly counts: number[] = [];
  bytes = 0;
  readonly createdAt = Date.now();
  /** The encoded (and e.g. compressed) body, started ahead of sending so it overlaps the request before it. */
  prepared?: Promise<Buffer>;

  push(record: LogRecord, size: number, ticket: Acknowledgeable): void {
    this.records.push(record);
    this.bytes += size;
    const last = this.tickets.length - 1;
    if (last >= 0 && this.tickets[last] === ticket) this.counts[last]++;
    else {
      this.tickets.push(ticket);
      this.counts.push(1);
    }
  }

  /** Acknowledges every record of the batch to its ticket's tracker. */
  settle(): void {
    for (let i = 0; i < this.tickets.length; i++) this.tickets[i].ack(this.counts[i]);
  }

  /** Splits in two halves (for a destination that rejects the size), keeping ticket runs right. */
  split(): [Batch, Batch] {
    const half = Math.ceil(this.records.length / 2);
    const a = new Batch();
    const b = new Batch();
    let i = 0;
    for (let run = 0; run < this.tickets.length; run++) {
      for (let k = 0; k < this.counts[run]; k++, i++) {
        const r = this.records[i];
        (i < half ? a : b).push(r, recordSize(r), this.tickets[run]);
      }
    }
    return [a, b];
  }
}

/**
 * Groups records into batches by bytes, count and time. A batch is sealed (handed to
 * `onSealed`) when adding would pass maxBytes or maxRecords, or maxWait after its first record.
 * A single record larger than maxBytes travels alone.
 */
export class Batcher {
  private current: Batch | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: BatchLimits,
    private readonly onSealed: (batch: Batch) => void,
  ) {}

  /** Adds records that all belong to `ticket`; returns their total size. */
  add(records: readonly LogRecord[], ticket: Acknowledgeable): number {
    let total = 0;
    for (const record of records) {
      const size = recordSize(record);
      total += size;
      let batch = this.current;
      if (batch !== undefined && (batch.bytes + size > this.limits.maxBytes || batch.records.length >= this.limits.maxRecords)) {
        this.seal();
        batch = undefined;
      }
      if (batch === undefined) {
        batch = this.current = new Batch();
        this.timer = setTimeout(() => this.seal(), this.limits.maxWaitMs);
      }
      batch.push(record, size, ticket);
    }
    if (this.current !== undefined && (this.current.bytes >= this.limits.maxBytes || this.current.records.length >= this.limits.maxRecords))
      this.seal();
    return total;
  }

  /** Seals the open batch now (shutdown, or its time is up). */
  seal(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.current;
    this.current = undefined;
    if (batch !== undefined && batch.records.length > 0) this.onSealed(batch);
  }

  get openRecords(): number {
    return this.current?.records.length ?? 0;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
