import { AckTracker } from "../ack-tracker.js";
import type { LogOrigin, LogRecord } from "../record.js";
import { nowRfc3339 } from "../time.js";
import type { DecoderContext, LineDecoder } from "../parsers/decoder.js";
import { createFormatDecoder } from "../parsers/format.js";
import { MultilineDecoder } from "../parsers/multiline.js";
import type { FileSourceSpec } from "./file-source-spec.js";
import type { FileTailer, TailerDeps } from "./file-tailer.js";
import { LineSplitter, type LineHandler } from "./line-splitter.js";

/** What the assembler needs of its file: its delivery lane, whether it is closed, its warnings. */
export type AssembledFile = Pick<FileTailer, "stream" | "state" | "warnOnce">;

/** The old generation, as a truncation or rewrite in place left it (see FileTailer's startNewGeneration). */
export interface RetiredGeneration {
  /** Offset acknowledged in it. */
  committed: number;
  /** Where its copy is read on from: the start of a line (or record) still held, or what went out. */
  issued: number;
  /** Sends, once, what it held (a line or multiline record not ended): only where no copy gives it whole. */
  emitHeld: () => void;
}

/**
 * A tailed file's bytes to records: lines split, decoded (format, multiline), batched, and
 * submitted under tickets of the current generation's ack tracker, whose commits become the
 * file's checkpoint. What the splitter and decoder hold is counted in the in-flight budget.
 */
export class RecordAssembler {
  private generationNumber = 0;
  private tracker: AckTracker<number>;
  /** Position of the last ticket issued, to skip tickets that would move nothing. */
  private lastIssued: number;
  private splitter: LineSplitter;
  private decoder: LineDecoder;
  private readonly ctx: DecoderContext;
  private batch: LogRecord[] = [];
  private lines = 0;
  private truncatedLines = 0;
  private invalidLines = 0;
  /** Bytes the splitter and decoder hold, as last counted in the budget. */
  private heldCounted = 0;

  constructor(
    private readonly spec: FileSourceSpec,
    origin: LogOrigin,
    private readonly deps: Pick<TailerDeps, "metrics" | "settings" | "budget" | "submit">,
    private readonly file: AssembledFile,
    /** An offset of the current generation is committed (all records before it acknowledged). */
    private readonly commit: (offset: number) => void,
    startOffset: number,
  ) {
    this.ctx = {
      origin,
      metrics: deps.metrics,
      maxMergedBytes: deps.settings.maxMergedBytes,
      readTime: nowRfc3339(),
      warnOnce: (kind, message) => this.file.warnOnce(kind, message),
    };
    this.splitter = new LineSplitter(deps.settings.maxLineBytes, startOffset);
    this.decoder = this.newDecoder();
    this.tracker = this.newTracker(startOffset);
    this.lastIssued = startOffset;
  }

  private newDecoder(): LineDecoder {
    const format = createFormatDecoder(this.spec.format, this.ctx);
    const m = this.spec.multiline;
    return m ? new MultilineDecoder(format, m.newRule, m.limits, this.deps.metrics) : format;
  }

  private newTracker(initial: number): AckTracker<number> {
    const generation = this.generationNumber;
    return new AckTracker<number>((offset) => {
      if (generation === this.generationNumber) this.commit(offset);
    }, initial);
  }

  /** Counts the file's generations: a retired one's late acknowledgements commit nothing. */
  get generation(): number {
    return this.generationNumber;
  }

  get committedOffset(): number {
    return this.tracker.committed ?? 0;
  }

  get pendingTickets(): number {
    return this.tracker.pending;
  }

  oldestUnackedAt(): number | undefined {
    return this.tracker.oldestPendingIssuedAt();
  }

  get holdsPartialData(): boolean {
    return this.splitter.hasPartial || this.decoder.pendingStart() !== Infinity;
  }

  get holdsPartialLine(): boolean {
    return this.splitter.hasPartial;
  }

  /** Splits a chunk read at `offset` into lines and decodes them; `submitRead` sends them. */
  push(chunk: Buffer, offset: number): void {
    this.ctx.readTime = nowRfc3339();
    this.splitter.push(chunk, offset, this.onLine);
  }

  /** After `push`: counts NULs skipped and submits the records of the read. */
  submitRead(): void {
    const nuls = this.splitter.takeSkippedNuls();
    if (nuls !== undefined) {
      this.deps.metrics.nulBytesSkipped.inc({ source: this.spec.name }, nuls.bytes);
      this.file.warnOnce(
        "nul",
        `skipped ${nuls.bytes} NUL bytes from offset ${nuls.at} where a line would start: a hole in the file, as left by a copytruncate when the writer does not open the file O_APPEND (it writes on at its old offset); counted in nodetap_log_nul_bytes_skipped_total`,
      );
    }
    this.emit();
  }

  /** Sends the line held unended at `end` (the end of the data) as it is. */
  flushPartialLine(end: number): void {
    this.splitter.flushPartial(end, this.onLine);
    this.emit();
  }

  /** Sends everything held (the file was read to its end for good). */
  flushAll(end: number): void {
    this.splitter.flushPartial(end, this.onLine);
    this.decoder.flush(this.collect);
    this.emit();
  }

  /**
   * Time-based flushes: multiline records whose flushAfter passed, and, when `piecesDue`, runtime
   * partial pieces (CRI `P`, docker) held.
   */
  flushExpired(now: number, piecesDue: boolean): void {
    let emitted = 0;
    if (piecesDue) emitted += this.decoder.flushHeldPieces?.(this.collect) ?? 0;
    if (this.decoder instanceof MultilineDecoder && this.decoder.holding) emitted += this.decoder.flushExpired(now, this.collect);
    if (emitted > 0) this.emit();
  }

  /**
   * Ends the current generation where reading stopped (`readEnd`): its tracker's later commits
   * are ignored from now on. Always followed by `restart`; in between (the caller awaits the new
   * generation's fingerprint) the old splitter, decoder and tracker are still the current ones,
   * so records a timed flush sends in between go out under a ticket whose commits are ignored
   * (delivered all the same; the checkpoint moves with the new generation only).
   */
  retire(readEnd: number): RetiredGeneration {
    const issued = Math.min(this.lastIssued, this.splitter.safeOffset, this.decoder.pendingStart());
    const emitHeld = this.heldEmitter(readEnd);
    const committed = this.committedOffset;
    this.generationNumber++;
    return { committed, issued, emitHeld };
  }

  /** A new generation from offset 0; what the retired one held is kept aside (emitHeld), out of the budget. */
  restart(): void {
    this.splitter = new LineSplitter(this.deps.settings.maxLineBytes, 0);
    this.decoder = this.newDecoder();
    this.tracker = this.newTracker(0);
    this.lastIssued = 0;
    this.countHeld();
  }

  /** The file is closed: what it still holds is no longer read, nor counted. */
  releaseHeld(): void {
    if (this.heldCounted > 0) {
      this.deps.budget.releaseHeld(this.heldCounted);
      this.heldCounted = 0;
    }
  }

  private readonly onLine: LineHandler = (line, start, truncated, validUtf8) => {
    this.lines++;
    if (truncated) {
      this.truncatedLines++;
      this.file.warnOnce("long-line", `line longer than tail.maxLineBytes (${this.deps.settings.maxLineBytes}) cut at offset ${start}`);
    }
    if (!validUtf8) {
      this.invalidLines++;
      this.file.warnOnce("utf8", `line at offset ${start} is not valid UTF-8; invalid bytes replaced by U+FFFD`);
    }
    this.decoder.decode(line, start, truncated, this.collect);
  };

  private readonly collect = (record: LogRecord): void => {
    this.batch.push(record);
  };

  /** Submits the records collected so far under one ticket whose position is safe to commit. */
  private emit(): void {
    const m = this.deps.metrics;
    const source = this.spec.name;
    if (this.lines > 0) m.linesRead.inc({ source }, this.lines);
    if (this.truncatedLines > 0) m.linesTruncated.inc({ reason: "line" }, this.truncatedLines);
    if (this.invalidLines > 0) m.invalidUtf8Lines.inc({ source }, this.invalidLines);
    this.lines = this.truncatedLines = this.invalidLines = 0;
    const position = Math.min(this.splitter.safeOffset, this.decoder.pendingStart());
    const records = this.batch;
    if (records.length === 0 && position === this.lastIssued) {
      this.countHeld();
      return;
    }
    this.batch = [];
    this.lastIssued = position;
    const ticket = this.tracker.issue(position, records.length);
    if (records.length > 0) {
      m.recordsEmitted.inc({ source }, records.length);
      this.deps.submit(records, ticket, this.file.stream);
    }
    this.countHeld();
  }

  /** Brings the budget's count of what this file holds in memory up to date. */
  private countHeld(): void {
    const held = this.splitter.carriedBytes + (this.decoder.heldBytes?.() ?? 0);
    const delta = held - this.heldCounted;
    this.heldCounted = held;
    if (delta > 0) this.deps.budget.addHeld(delta);
    else if (delta < 0) this.deps.budget.releaseHeld(-delta);
  }

  /** Sends, once, what the current generation's splitter and decoder hold (for retire). */
  private heldEmitter(end: number): () => void {
    const splitter = this.splitter;
    const decoder = this.decoder;
    let done = false;
    return () => {
      if (done || this.file.state === "closed") return;
      done = true;
      const current = this.decoder;
      this.decoder = decoder; // onLine decodes into this.decoder
      try {
        splitter.flushPartial(end, this.onLine);
        decoder.flush(this.collect);
      } finally {
        this.decoder = current;
      }
      this.emit();
    };
  }
}
