import type { Logger } from "pino";
import type { Acknowledgeable } from "../ack-tracker.js";
import type { ByteBudget } from "../routing/sink-budget.js";
import type { LogMetrics } from "../metrics.js";
import type { LogRecord } from "../record.js";
import { Batch, Batcher, encodedBatchCapacity, type BatchLimits } from "./batcher.js";
import { BufferPool } from "./buffer-pool.js";
import type { DeadLetterFile } from "./dead-letter.js";
import { RetryPolicy, sleep } from "./retry-policy.js";
import type { DeliveryResult, ItemRejection, RecordEncoder, SinkDefinition } from "./sink.js";
import { encodedHalves } from "./encoded-lines.js";
import { subsetOf } from "./batch-subset.js";

interface LaneState {
  attempt: number;
  lastError?: string;
  nextAttemptAt?: number;
  /** Records of the batch being delivered that went to the dead-letter file (not counted as sent). */
  deadLettered?: number;
}

/**
 * One request slot: batches go out one at a time, in order, each retried until it is accepted
 * or dead-lettered. Files are pinned to lanes, so a file's records reach the destination in
 * file order even with several lanes (and retries) in flight.
 */
class DeliveryLane {
  private readonly queue: Batch[] = [];
  private running: Promise<void> | undefined;
  readonly state: LaneState = { attempt: 0 };
  readonly batcher: Batcher;
  /** Records of pinned files queued or in flight here (for least-loaded placement). */
  load = 0;

  constructor(
    limits: BatchLimits,
    private readonly delivery: Delivery,
  ) {
    this.batcher = new Batcher(limits, (batch) => this.push(batch), delivery.encoder, delivery.bufferPool);
  }

  get queuedBatches(): number {
    return this.queue.length;
  }

  get idle(): boolean {
    return this.running === undefined && this.queue.length === 0 && this.batcher.openRecords === 0;
  }

  private push(batch: Batch): void {
    this.queue.push(batch);
    this.prepareNext();
    // A rejection here must never go unhandled (it would crash the agent): log it instead.
    this.running ??= this.run()
      .catch((err: unknown) => this.delivery.laneFailed(err))
      .finally(() => (this.running = undefined));
  }

  /** Encodes (and compresses) the batch after the one in flight, so the two overlap. */
  private prepareNext(): void {
    const next = this.queue[1];
    if (next !== undefined && next.prepared === undefined) this.delivery.prepare(next);
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0 && !this.delivery.aborted) {
      const batch = this.queue[0];
      this.prepareNext();
      this.state.deadLettered = 0;
      const delivered = await this.delivery.deliver(batch, this.state);
      if (!delivered) return;
      this.queue.shift();
      this.delivery.done(batch, this.state.deadLettered);
    }
  }

  whenIdle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }
}

export interface DeliveryOptions {
  /** The sink's name in metrics (`sink` label), logs and /status; default: its transport's name (its type). */
  name?: string;
  sink: SinkDefinition;
  limits: BatchLimits;
  retry: RetryPolicy;
  deadLetter: DeadLetterFile;
  budget: ByteBudget;
  metrics: LogMetrics;
  logger: Logger;
  /** Encoded batches reuse buffers (BufferPool); default true. */
  reuseBuffers?: boolean;
}

/**
 * From submitted records to acknowledgements: batching per lane, encoding, the transport's
 * attempts with backoff, dead letters for permanent rejections, and on success the ticket
 * settlements that move checkpoints, plus the in-flight budget release.
 */
export class Delivery {
  private readonly lanes: DeliveryLane[];
  /** Start of the current run of failed attempts (undefined: the last attempt succeeded). */
  private failingSince?: number;
  private failedAttempts = 0;
  /** Lane of each file (lane key) that has records queued or in flight. */
  private readonly pins = new Map<string, { lane: DeliveryLane; records: number }>();
  private readonly controller = new AbortController();
  private readonly sinkName: string;
  readonly encoder: RecordEncoder;
  /** Encoded batches' buffers, back once their body is made (transports that can restore the lines from it). */
  readonly bufferPool: BufferPool;
  private lastErrorLogAt = 0;
  private suppressedErrors = 0;

  constructor(private readonly opts: DeliveryOptions) {
    this.encoder = opts.sink.encoder;
    this.sinkName = opts.name ?? opts.sink.transport.name;
    // One per lane's open batch and two being prepared; a buffer grown for a long line is let go.
    this.bufferPool = new BufferPool(opts.reuseBuffers === false ? 0 : opts.sink.lanes + 2, encodedBatchCapacity(opts.limits.maxBytes));
    this.lanes = Array.from({ length: opts.sink.lanes }, () => new DeliveryLane(opts.limits, this));
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Queues records of one ticket; `lane` (the file's identity) picks the request slot. */
  submit(records: readonly LogRecord[], ticket: Acknowledgeable, lane: string): void {
    if (this.lanes.length === 1) {
      this.opts.budget.add(this.lanes[0].batcher.add(records, ticket));
      return;
    }
    // A file keeps its lane while any of its records are queued or in flight (its order), and
    // otherwise goes to the least loaded lane (a few busy files spread over all lanes).
    let pin = this.pins.get(lane);
    if (pin === undefined) {
      pin = { lane: this.leastLoadedLane(), records: 0 };
      this.pins.set(lane, pin);
    }
    const target = pin;
    target.records += records.length;
    target.lane.load += records.length;
    const tracked: Acknowledgeable = {
      ack: (count) => {
        ticket.ack(count);
        target.lane.load -= count;
        target.records -= count;
        if (target.records === 0 && this.pins.get(lane) === target) this.pins.delete(lane);
      },
    };
    this.opts.budget.add(target.lane.batcher.add(records, tracked));
  }

  private leastLoadedLane(): DeliveryLane {
    let best = this.lanes[0];
    for (const l of this.lanes) if (l.load < best.load) best = l;
    return best;
  }

  /**
   * Starts encoding (and preparing, e.g. compressing) a batch; deliver() awaits the result. An
   * encoded batch lets its lines go once the body is made, when the transport can restore them
   * (a gzip body is a fraction of its lines; the rare dead letter or split gunzips it).
   */
  prepare(batch: Batch): Promise<Buffer> {
    const { transport } = this.opts.sink;
    batch.prepared ??= (async () => {
      const payload = this.payloadOf(batch);
      if (transport.prepare === undefined) return payload;
      const body = await transport.prepare(payload);
      if (batch.encoded && transport.restore !== undefined) {
        const backing = batch.backing;
        batch.raw = undefined;
        batch.backing = undefined;
        // A body of its own (compressed): nothing reads the lines any more, their buffer is
        // reused. Uncompressed, the body is the lines themselves, still to be sent.
        if (backing !== undefined && body.buffer !== backing.buffer) this.bufferPool.give(backing);
      }
      return body;
    })();
    // Failures are handled where the body is awaited (deliver dead-letters the batch).
    batch.prepared.catch(() => undefined);
    return batch.prepared;
  }

  private payloadOf(batch: Batch): Buffer {
    if (!batch.encoded) return this.opts.sink.encoder.encode(batch.records);
    if (batch.raw === undefined) throw new Error("an encoded batch was prepared twice");
    return batch.raw;
  }

  /** An encoded batch's lines, from the batch or restored from its prepared body. */
  private async linesOf(batch: Batch): Promise<Buffer> {
    if (batch.raw !== undefined) return batch.raw;
    const restore = this.opts.sink.transport.restore;
    if (restore === undefined || batch.prepared === undefined) throw new Error("an encoded batch lost its lines");
    return restore.call(this.opts.sink.transport, await batch.prepared);
  }

  /** Sends one batch until it is delivered or dead-lettered; false only when aborted at shutdown. */
  async deliver(batch: Batch, state: LaneState): Promise<boolean> {
    const { sink, retry, metrics } = this.opts;
    const signal = this.controller.signal;
    let body: Buffer;
    try {
      body = await this.prepare(batch);
    } catch (err) {
      return this.deadLetter(batch, { kind: "reject", reason: "encode", detail: (err as Error).message }, state);
    }
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return false;
      state.attempt = attempt;
      const started = performance.now();
      let result: DeliveryResult;
      try {
        result = await sink.transport.deliver(body, signal);
      } catch (err) {
        result = { kind: "retry", reason: "other", detail: (err as Error).message };
      }
      metrics.requestDuration.observe({ sink: this.sinkName, outcome: result.kind }, (performance.now() - started) / 1000);
      if ((result.kind === "ok" || result.kind === "partial") && result.notes) {
        for (const n of result.notes) metrics.sinkRecordOutcomes.inc({ sink: this.sinkName, outcome: n.outcome }, n.records);
      }
      if (result.kind === "ok") {
        state.attempt = 0;
        state.lastError = undefined;
        state.nextAttemptAt = undefined;
        this.noteRecovered();
        return true;
      }
      if (signal.aborted) return false;
      metrics.sendErrors.inc({ sink: this.sinkName, reason: result.reason });
      state.lastError = `${result.reason}${result.detail ? `: ${result.detail}` : ""}`;
      this.logFailure(result, batch, attempt);
      if (result.kind === "reject") {
        if ((result.status === 413 || (result.status === 400 && sink.splitRejected)) && batch.count > 1)
          return this.deliverHalves(batch, state);
        return this.deadLetter(batch, result, state);
      }
      if (result.kind === "partial") {
        // Per-record answers: rejected records are dead-lettered now; those to retry go again alone.
        if (!(await this.deadLetterItems(batch, result.reject, state))) return false;
        if (result.retry.length === 0) {
          state.attempt = 0;
          state.lastError = undefined;
          state.nextAttemptAt = undefined;
          return true;
        }
        batch = subsetOf(batch, result.retry, batch.encoded ? await this.linesOf(batch) : undefined);
        try {
          const again = this.payloadOf(batch);
          body = sink.transport.prepare ? await sink.transport.prepare(again) : again;
        } catch (err) {
          return this.deadLetter(batch, { kind: "reject", reason: "encode", detail: (err as Error).message }, state);
        }
      }
      if (retry.exhausted(attempt)) {
        return this.deadLetter(batch, { kind: "reject", reason: "retries_exhausted", detail: state.lastError }, state);
      }
      metrics.sendRetries.inc({ sink: this.sinkName, reason: result.reason });
      const wait = retry.delayMs(attempt, result.retryAfterMs);
      state.nextAttemptAt = Date.now() + wait;
      await sleep(wait, signal);
    }
  }

  /**
   * The destination said the request is too large: send each half on its own (halves split
   * again if needed). The parent batch is settled by the lane once both halves are through.
   */
  private async deliverHalves(batch: Batch, state: LaneState): Promise<boolean> {
    const [a, b] = batch.encoded ? encodedHalves(batch, await this.linesOf(batch)) : batch.split();
    return (await this.deliver(a, state)) && (await this.deliver(b, state));
  }

  /** Dead-letters the records a partial result rejected, each with the destination's own reason. */
  private async deadLetterItems(batch: Batch, items: readonly ItemRejection[], state: LaneState): Promise<boolean> {
    const groups = new Map<string, { item: ItemRejection; indexes: number[] }>();
    for (const item of items) {
      const key = `${item.reason}\0${item.status ?? ""}\0${item.detail ?? ""}`;
      const g = groups.get(key);
      if (g === undefined) groups.set(key, { item, indexes: [item.index] });
      else g.indexes.push(item.index);
    }
    const lines = batch.encoded ? await this.linesOf(batch) : undefined;
    for (const { item, indexes } of groups.values()) {
      const why = { kind: "reject" as const, reason: item.reason, status: item.status, detail: item.detail };
      if (!(await this.deadLetter(subsetOf(batch, indexes, lines), why, state))) return false;
    }
    return true;
  }

  private async deadLetter(batch: Batch, why: Extract<DeliveryResult, { kind: "reject" }>, state: LaneState): Promise<boolean> {
    const { metrics, deadLetter, retry } = this.opts;
    for (let attempt = 1; ; attempt++) {
      try {
        const reason = { sink: this.sinkName, reason: why.reason, status: why.status, detail: why.detail };
        if (batch.encoded) await deadLetter.writeLines(await this.linesOf(batch), reason);
        else await deadLetter.write(batch.records, reason);
        metrics.deadLettered.inc({ sink: this.sinkName, reason: why.reason }, batch.count);
        state.deadLettered = (state.deadLettered ?? 0) + batch.count;
        this.opts.logger.warn(
          { sink: this.sinkName, reason: why.reason, status: why.status, records: batch.count, file: deadLetter.file },
          "records rejected permanently by the sink; written to the dead-letter file",
        );
        return true;
      } catch (err) {
        metrics.deadLetterWriteErrors.inc();
        state.lastError = `dead-letter write failed: ${(err as Error).message}`;
        this.opts.logger.error(
          { file: deadLetter.file, err: (err as Error).message },
          "dead-letter write failed; retrying (the batch stays unacknowledged)",
        );
        if (this.aborted) return false;
        await sleep(retry.delayMs(attempt), this.controller.signal);
        if (this.aborted) return false;
      }
    }
  }

  /**
   * A batch left the lane delivered (or dead-lettered): settle its tickets and free its bytes.
   * `deadLettered` of its records went to the dead-letter file: counted there, not as sent.
   */
  done(batch: Batch, deadLettered = 0): void {
    batch.settle();
    this.opts.budget.release(batch.bytes);
    const sent = batch.count - deadLettered;
    if (sent > 0) this.opts.metrics.recordsSent.inc({ sink: this.sinkName }, sent);
  }

  /** A lane's run failed unexpectedly: logged (never an unhandled rejection); the next batch restarts it. */
  laneFailed(err: unknown): void {
    this.opts.logger.error(
      { sink: this.sinkName, err: err instanceof Error ? err.message : String(err) },
      "log delivery lane failed unexpectedly",
    );
  }

  /** After failed attempts, the first delivery logs that the sink works again (once per outage). */
  private noteRecovered(): void {
    if (this.failingSince === undefined) return;
    this.opts.logger.info(
      { sink: this.sinkName, failedAttempts: this.failedAttempts, outageSeconds: Math.round((Date.now() - this.failingSince) / 100) / 10 },
      "log delivery resumed",
    );
    this.failingSince = undefined;
    this.failedAttempts = 0;
  }

  private logFailure(result: Exclude<DeliveryResult, { kind: "ok" }>, batch: Batch, attempt: number): void {
    if (result.kind === "retry") {
      this.failingSince ??= Date.now();
      this.failedAttempts++;
    }
    // At most one line per 5 s while failures go on; the counters have every one.
    const now = Date.now();
    if (now - this.lastErrorLogAt < 5000) {
      this.suppressedErrors++;
      return;
    }
    this.opts.logger.warn(
      {
        sink: this.sinkName,
        reason: result.reason,
        detail: result.detail,
        attempt,
        records: batch.count,
        suppressed: this.suppressedErrors,
        retry: result.kind === "retry",
      },
      result.kind === "retry"
        ? "sink delivery failed; retrying with backoff"
        : result.kind === "partial"
          ? "sink refused some records of a batch; they are retried or dead-lettered"
          : "sink rejected a batch",
    );
    this.lastErrorLogAt = now;
    this.suppressedErrors = 0;
  }

  /** Seals open batches and waits until every lane is idle or `deadlineAt` passes; true when all were delivered. */
  async drain(deadlineAt: number): Promise<boolean> {
    for (const lane of this.lanes) lane.batcher.seal();
    while (!this.lanes.every((l) => l.idle)) {
      const left = deadlineAt - Date.now();
      if (left <= 0) return false;
      await Promise.race([Promise.all(this.lanes.map((l) => l.whenIdle())), new Promise((r) => setTimeout(r, Math.min(left, 100)))]);
    }
    return true;
  }

  /** Aborts requests and backoff waits; undelivered batches stay unacknowledged (re-read after restart). */
  abort(): void {
    this.controller.abort();
    for (const lane of this.lanes) lane.batcher.close();
  }

  status(): Record<string, unknown> {
    return {
      type: this.opts.sink.transport.name,
      ...this.opts.sink.transport.describe(),
      lanes: this.lanes.map((l) => ({
        queuedBatches: l.queuedBatches,
        openRecords: l.batcher.openRecords,
        attempt: l.state.attempt,
        lastError: l.state.lastError,
        nextAttemptAt: l.state.nextAttemptAt ? new Date(l.state.nextAttemptAt).toISOString() : undefined,
      })),
    };
  }
}
