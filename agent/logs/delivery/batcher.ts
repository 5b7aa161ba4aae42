import type { Acknowledgeable } from "../ack-tracker.js";
import { recordSize, type LogRecord } from "../record.js";
import type { BufferPool } from "./buffer-pool.js";
import { GrowableBuffer } from "./growable-buffer.js";
import type { RecordEncoder } from "./sink.js";

export interface BatchLimits {
  maxBytes: number;
  maxRecords: number;
  maxWaitMs: number;
}

/**
 * Records sent together, with the tickets they belong to as runs (ticket, count): records of
 * one emission are contiguous, so a batch of thousands of records holds a handful of runs.
 *
 * Two kinds. A record batch holds the records; the sink encodes them when the batch is sent
 * (Loki, OTLP, syslog, Elasticsearch group or frame them per request). An encoded batch (sinks
 * whose encoder has append(): NDJSON) holds each record's line, written as the record arrived:
 * the records themselves die young, which is what keeps V8's heap small at full speed (records
 * held until acknowledged were promoted to the old generation and V8 grew the heap for them).
 * Its `bytes` are the encoded bytes, so the in-flight budget bounds the memory it really holds.
 */
export class Batch {
  readonly records: LogRecord[] = [];
  readonly tickets: Acknowledgeable[] = [];
  readonly counts: number[] = [];
  count = 0;
  bytes = 0;
  readonly createdAt = Date.now();
  /** Encoded batch being filled (undefined once sealed, and always for a record batch). */
  lines: GrowableBuffer | undefined;
  /**
   * Encoded batch: its lines once sealed, until the prepared body replaces them (a transport
   * that can restore them from the body lets them go; see Delivery.prepare).
   */
  raw: Buffer | undefined;
  /** The buffer `raw` is a view of (see BufferPool). */
  backing: Buffer | undefined;
  /** The encoded (and e.g. compressed) body, started ahead of sending so it overlaps the request before it. */
  prepared?: Promise<Buffer>;

  constructor(
    readonly encoded = false,
    capacity = 0,
    reuse?: Buffer,
  ) {
    if (encoded && capacity > 0) this.lines = new GrowableBuffer(capacity, reuse);
  }

  push(record: LogRecord, size: number, ticket: Acknowledgeable): void {
    this.records.push(record);
    this.pushEncoded(size, ticket);
  }

  /** Counts a record whose line was appended to `lines` (or `raw`) already. */
  pushEncoded(size: number, ticket: Acknowledgeable): void {
    this.count++;
    this.bytes += size;
    const last = this.tickets.length - 1;
    if (last >= 0 && this.tickets[last] === ticket) this.counts[last]++;
    else {
      this.tickets.push(ticket);
      this.counts.push(1);
    }
  }

  /** No more records: an encoded batch's lines become `raw`. */
  seal(): void {
    if (this.lines === undefined) return;
    this.raw = this.lines.bytes();
    this.backing = this.lines.backing;
    this.lines = undefined;
  }

  /**
   * The records at `indexes` (any order, repeats and out-of-range ones dropped), ascending, each
   * with the ticket it belongs to: what a subset of the batch needs to keep acknowledgements right.
   */
  ticketsAt(indexes: readonly number[]): Array<{ index: number; ticket: Acknowledgeable }> {
    const sorted = [...new Set(indexes)].filter((i) => i >= 0 && i < this.count).sort((a, b) => a - b);
    const out: Array<{ index: number; ticket: Acknowledgeable }> = [];
    let run = 0;
    let runEnd = this.counts[0] ?? 0;
    for (const index of sorted) {
      while (index >= runEnd) runEnd += this.counts[++run];
      out.push({ index, ticket: this.tickets[run] });
    }
    return out;
  }

  /** Acknowledges every record of the batch to its ticket's tracker. */
  settle(): void {
    for (let i = 0; i < this.tickets.length; i++) this.tickets[i].ack(this.counts[i]);
  }

  /** Splits a record batch in two halves (for a destination that rejects the size), keeping ticket runs right. */
  split(): [Batch, Batch] {
    if (this.encoded) throw new Error("split() is for record batches; encoded batches split their lines (encoded-lines.ts)");
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

/** Room a new encoded batch starts with beyond maxBytes, so that the line that crosses it fits without growing. */
const ENCODED_SLACK_BYTES = 64 * 1024;
/** Encoded batches start at most this big (a larger maxBytes grows them as needed). */
const ENCODED_START_BYTES = 4 * 1024 * 1024;

/** What an encoded batch's buffer starts with for batches of `maxBytes`. */
export function encodedBatchCapacity(maxBytes: number): number {
  return Math.min(maxBytes, ENCODED_START_BYTES) + ENCODED_SLACK_BYTES;
}

/**
 * Groups records into batches by bytes, count and time. A batch is sealed (handed to
 * `onSealed`) when adding would pass maxBytes or maxRecords, or maxWait after its first record.
 * A single record larger than maxBytes travels alone. With an encoder that appends lines, the
 * batches are encoded ones and maxBytes counts encoded bytes.
 */
export class Batcher {
  private current: Batch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly appendLine: ((out: GrowableBuffer, record: LogRecord) => void) | undefined;
  /** The last batch was sealed at least half full (see open). */
  private lastFull = false;

  constructor(
    private readonly limits: BatchLimits,
    private readonly onSealed: (batch: Batch) => void,
    encoder?: RecordEncoder,
    /** Buffers of encoded batches whose lines went (see BufferPool). */
    private readonly pool?: BufferPool,
  ) {
    this.appendLine = encoder?.append?.bind(encoder);
  }

  /** Adds records that all belong to `ticket`; returns their total size (what the batches count). */
  add(records: readonly LogRecord[], ticket: Acknowledgeable): number {
    if (this.appendLine !== undefined) return this.addEncoded(records, ticket, this.appendLine);
    let total = 0;
    for (const record of records) {
      const size = recordSize(record);
      total += size;
      let batch = this.current;
      if (batch !== undefined && (batch.bytes + size > this.limits.maxBytes || batch.count >= this.limits.maxRecords)) {
        this.seal();
        batch = undefined;
      }
      batch ??= this.open();
      batch.push(record, size, ticket);
    }
    this.sealIfFull();
    return total;
  }

  private addEncoded(
    records: readonly LogRecord[],
    ticket: Acknowledgeable,
    appendLine: (out: GrowableBuffer, record: LogRecord) => void,
  ): number {
    let total = 0;
    for (let i = 0; i < records.length; i++) {
      let batch = this.current;
      if (batch !== undefined && batch.count >= this.limits.maxRecords) {
        this.seal();
        batch = undefined;
      }
      batch ??= this.open();
      const out = batch.lines as GrowableBuffer;
      const before = out.length;
      appendLine(out, records[i]);
      const size = out.length - before;
      if (batch.count > 0 && out.length > this.limits.maxBytes) {
        // The line would take the batch past maxBytes: it starts the next one instead.
        const line = Buffer.from(out.bytes().subarray(before));
        out.length = before;
        this.seal();
        batch = this.open();
        (batch.lines as GrowableBuffer).append(line);
      }
      batch.pushEncoded(size, ticket);
      total += size;
    }
    this.sealIfFull();
    return total;
  }

  private open(): Batch {
    const capacity = encodedBatchCapacity(this.limits.maxBytes);
    const encoded = this.appendLine !== undefined;
    // A pooled buffer is resident in full; a new one only where it is written. So batches that
    // fill up (a backlog) reuse buffers, and those that time out half empty (a trickle) take new
    // ones. (At 20,000 lines/s batches fill up, so bench:logs' steady RSS does not show it.)
    const reuse = encoded && this.lastFull ? this.pool?.take(capacity) : undefined;
    const batch = (this.current = new Batch(encoded, capacity, reuse));
    this.timer = setTimeout(() => this.seal(), this.limits.maxWaitMs);
    return batch;
  }

  private sealIfFull(): void {
    const c = this.current;
    if (c !== undefined && (c.bytes >= this.limits.maxBytes || c.count >= this.limits.maxRecords)) this.seal();
  }

  /** Seals the open batch now (shutdown, or its time is up). */
  seal(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.current;
    this.current = undefined;
    if (batch === undefined || batch.count === 0) return;
    this.lastFull = batch.bytes >= this.limits.maxBytes / 2 || batch.count >= this.limits.maxRecords;
    batch.seal();
    this.onSealed(batch);
  }

  get openRecords(): number {
    return this.current?.count ?? 0;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
