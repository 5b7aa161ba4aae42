import type { FileHandle } from "node:fs/promises";
import type { Logger } from "pino";
import { AckTracker, type AckTicket } from "../ack-tracker.js";
import type { InFlightBudget } from "../in-flight-budget.js";
import type { LogMetrics } from "../metrics.js";
import type { LogOrigin, LogRecord } from "../record.js";
import { nowRfc3339 } from "../time.js";
import type { DecoderContext, LineDecoder } from "../parsers/decoder.js";
import { createFormatDecoder } from "../parsers/format.js";
import { MultilineDecoder } from "../parsers/multiline.js";
import type { FileSourceSpec, TailSettings } from "./file-source-spec.js";
import { computeFingerprint, readHead, fingerprintOf, type FileIdentity } from "./file-identity.js";
import { HoleWatch } from "./hole-watch.js";
import { LineSplitter, type LineHandler } from "./line-splitter.js";

/** Smallest read while the in-flight budget is nearly full. */
const MIN_READ_BYTES = 16 * 1024;

/**
 * active: the discovered path still names this file. rotated: renamed away or deleted (see
 * `unlinked`); read to its end, then closed after rotateWait without growth. closed: no
 * descriptor; the identity and offsets are kept so a later scan can reopen it if it grows.
 */
export type TailerState = "active" | "rotated" | "closed";

export interface TailerDeps {
  readonly metrics: LogMetrics;
  readonly logger: Logger;
  readonly settings: TailSettings;
  /** Bytes held in memory (line carry, partial pieces, multiline assemblies) are counted here. */
  readonly budget: InFlightBudget;
  /** Hands records (in file order) to the pipeline; the ticket is settled as they are acknowledged. */
  submit(records: LogRecord[], ticket: AckTicket<number>, lane: string): void;
  /** An offset of the current file generation is committed (all records before it acknowledged). */
  commit(tailer: FileTailer, offset: number): void;
  /**
   * The file was truncated or rewritten in place (copytruncate): the previous generation, with
   * its fingerprint and the offset acknowledged in it, may live on in a copy to drain. The new
   * generation's start is not committed: the callee commits it once that copy holds a
   * checkpoint of its own, or the rest was counted lost (until then the file's entry is all that
   * leads a restart to the copy).
   * Without this callback it is committed at once.
   * `emitHeld` sends what the old generation held when the truncation was found (a line, or a
   * multiline record, not ended where reading stopped): the callee calls it when the old
   * generation's rest is not read from a copy, which gives it whole.
   */
  superseded?(tailer: FileTailer, previous: SupersededGeneration, emitHeld: () => void): void;
}

/** A file generation that a truncation or rewrite in place replaced. */
export interface SupersededGeneration {
  fingerprintBytes: number;
  fingerprint: string;
  /** Offset acknowledged in it. */
  committed: number;
  /** Offset up to which its records went out. */
  issued: number;
  /**
   * When the tailer last saw it (ms, before that stat): copies the rotator made after this time
   * hold generations that came and went unseen while reading waited (budget, rotated files).
   */
  seenAt: number;
  /**
   * When the new generation was found (ms, once the stat or read that found it had returned):
   * every copy of an older generation was written before it; a copy written later is of the
   * current generation (the rotator's next round), still in the file and read from there.
   */
  detectedAt: number;
  /** Bytes of it never read, as far as known: its size when last seen minus what was read. */
  unreadBytes: number;
  /**
   * Where reading had stopped in it: a copy that ends before this lacks what was read last (the
   * head of a line held here, written between the rotator's copy and its truncate).
   */
  readEnd: number;
}

export type ReadOutcome = "more" | "eof" | "error";

const FINGERPRINT_RECHECK_MS = 1000;
/**
 * Once read to its end, a file is checked again before reading on if this long passed: a
 * copytruncate followed by more writes than had been read (a file that waited behind its rotated
 * files, or a slow poll) would otherwise be read on as if it were the old file.
 */
const FINGERPRINT_RECHECK_AFTER_END_MS = 100;

/**
 * Reads one file: descriptor, read offset, line splitting, decoding, and the ack tracker whose
 * commits become the file's checkpoint. Copytruncate starts a new generation (offset 0, new
 * fingerprint, new tracker); late acknowledgements of the old generation are then ignored.
 */
export class FileTailer {
  state: TailerState = "active";
  /** The file has no name left (nlink 0): once drained and closed it is gone for good. */
  unlinked = false;
  private rotationCounted = false;
  handle: FileHandle | undefined;
  readOffset: number;
  size: number;
  lastGrowthAt = Date.now();
  /** Path as last seen by a scan (the record's origin keeps the path it was discovered at). */
  path: string;
  /**
   * The active path whose data this file carries (itself while active; the name it rotated out
   * of afterwards). Files of one stream share a delivery lane, so a rotated file's records and
   * its successor's arrive in order.
   */
  stream: string;
  /** The stream's symlink target, where the stream's path is a symlink (stream-targets.ts). */
  target: string | undefined;
  /** The target is in another directory than the symlink: watch events do not tell of its changes. */
  targetElsewhere = false;
  /** For a copy unpacked from a .gz: the .gz's device:inode (FileCheckpoint.copyOf). */
  copyOf: string | undefined;
  /** Rotated and read to its end at least once: its successor may be read now. */
  drainedOnce = false;
  /** The fingerprint the tailer started with (a checkpoint's when it resumed one). */
  readonly initialFingerprint: string;
  /**
   * Its own checkpoint, not resumed because the generation it names is gone from the file (a
   * hole ends at its offset: file-identity.ts, holeBefore), though its first bytes match.
   */
  declined?: { fingerprint: string; offset: number };
  private generation = 0;
  private fingerprintCheckedAt = 0;
  /** When the current generation was last stat'ed (see SupersededGeneration.seenAt). */
  private seenAt = Date.now();
  /** The last read found no more data (see FINGERPRINT_RECHECK_AFTER_END_MS). */
  private reachedEnd = true;
  /** Rewrites in place that neither the size nor the first bytes show (hole-watch.ts). */
  private readonly holes = new HoleWatch();
  private tracker: AckTracker<number>;
  /** Position of the last ticket issued, to skip tickets that would move nothing. */
  private lastIssued: number;
  private splitter: LineSplitter;
  private decoder: LineDecoder;
  private readonly ctx: DecoderContext;
  private readonly warned = new Set<string>();
  private batch: LogRecord[] = [];
  private lines = 0;
  private truncatedLines = 0;
  private invalidLines = 0;
  /** Bytes the splitter and decoder hold, as last counted in the budget. */
  private heldCounted = 0;

  constructor(
    readonly key: string,
    readonly identity: FileIdentity,
    readonly spec: FileSourceSpec,
    readonly origin: LogOrigin,
    handle: FileHandle,
    startOffset: number,
    size: number,
    private readonly deps: TailerDeps,
    /** The checkpoint's fingerprint when the tailer resumed one (`identity` may hold more bytes). */
    resumedFrom?: string,
  ) {
    this.path = origin.file ?? "";
    this.stream = this.path;
    this.initialFingerprint = resumedFrom ?? identity.fingerprint;
    this.handle = handle;
    this.readOffset = startOffset;
    this.size = size;
    this.ctx = {
      origin,
      metrics: deps.metrics,
      maxMergedBytes: deps.settings.maxMergedBytes,
      readTime: nowRfc3339(),
      warnOnce: (kind, message) => this.warnOnce(kind, message),
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
    const generation = this.generation;
    return new AckTracker<number>((offset) => {
      if (generation === this.generation) this.deps.commit(this, offset);
    }, initial);
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

  get lagBytes(): number {
    return Math.max(0, this.size - this.readOffset);
  }

  get isOpen(): boolean {
    return this.handle !== undefined;
  }

  /** Reads one chunk (if there is data) into `buf`'s memory and submits its records. */
  async readOnce(buf: Buffer): Promise<ReadOutcome> {
    const handle = this.handle;
    if (handle === undefined) return "eof";
    try {
      const statAt = Date.now();
      const st = await handle.stat();
      if (st.nlink === 0 && !this.unlinked) {
        this.unlinked = true;
        if (this.state === "active") this.state = "rotated";
      }
      if (this.state !== "active" && !this.rotationCounted) {
        this.rotationCounted = true;
        this.deps.metrics.rotations.inc({ kind: this.unlinked ? "delete" : "rename" });
      }
      // Smaller than what was read, or than it was when last seen: log files only grow, so it
      // was truncated (and may have grown again, past what was read, while reading waited).
      const generation = this.generation;
      if (st.size < this.readOffset || st.size < this.size) {
        const was = Math.max(this.readOffset, this.size);
        await this.startNewGeneration(handle, st.size, `file shrank from ${was} to ${st.size} bytes`);
      } else if (st.size > this.readOffset && this.fingerprintCheckDue()) {
        await this.checkFingerprint(handle, st.size);
      }
      this.seenAt = statAt;
      this.size = st.size;
      // A new generation is read on the next turn: the old one's copies go first (the manager
      // holds the stream while it looks for them).
      if (generation !== this.generation) return "more";
      // Only where reading stands at a generation's start or in a hole: on data, a rewrite turns
      // what was read into NULs, which holeAtReadStart sees.
      if (this.holes.inHole) await this.holes.arm(handle, st.size, this.readOffset);
      // No more than the budget has room for (but a minimum, to make progress on a long line):
      // the records of one read are their encoded size in the budget, 2-3 times the bytes read
      // for short lines, so a full buffer read into a nearly full budget overshot it by that much.
      const want = Math.min(buf.length, this.size - this.readOffset, Math.max(MIN_READ_BYTES, this.deps.budget.room));
      if (want <= 0) {
        this.atEnd();
        return "eof";
      }
      const { bytesRead } = await handle.read(buf, 0, want, this.readOffset);
      if (bytesRead === 0) {
        this.atEnd();
        return "eof";
      }
      const chunk = buf.subarray(0, bytesRead);
      const hole =
        (await this.holes.holeAtReadStart(handle, chunk, this.readOffset)) ?? this.holes.hiddenRewrite(chunk, this.readOffset, this.size);
      if (hole !== undefined) {
        await this.startNewGeneration(handle, this.size, hole.why, hole.unreadBytes);
        return "more";
      }
      this.lastGrowthAt = Date.now();
      this.consume(buf.subarray(0, bytesRead));
      this.reachedEnd = this.readOffset >= this.size;
      if (this.state !== "active" && this.readOffset >= this.size) this.drainedOnce = true;
      return this.readOffset < this.size ? "more" : "eof";
    } catch (err) {
      this.deps.metrics.fileErrors.inc({ reason: "read" });
      this.warnOnce(
        `read:${(err as NodeJS.ErrnoException).code ?? ""}`,
        `read failed: ${(err as Error).message}; retrying on the next poll`,
      );
      return "error";
    }
  }

  /** Where reading of this generation first met data (FileCheckpoint.dataFrom). */
  get firstDataAt(): number | undefined {
    return this.holes.firstDataAt;
  }

  set firstDataAt(offset: number | undefined) {
    this.holes.firstDataAt = offset;
  }

  /** Arms the hole check at a size just seen (HoleWatch.arm); the opener calls it when it opens the file. */
  armDataAt(handle: FileHandle, size: number): Promise<void> {
    return this.holes.arm(handle, size, this.readOffset);
  }

  private consume(chunk: Buffer): void {
    this.ctx.readTime = nowRfc3339();
    this.holes.consumed(chunk, this.readOffset);
    this.splitter.push(chunk, this.readOffset, this.onLine);
    this.readOffset += chunk.length;
    this.deps.metrics.bytesRead.inc({ source: this.spec.name }, chunk.length);
    const nuls = this.splitter.takeSkippedNuls();
    if (nuls !== undefined) {
      this.deps.metrics.nulBytesSkipped.inc({ source: this.spec.name }, nuls.bytes);
      this.warnOnce(
        "nul",
        `skipped ${nuls.bytes} NUL bytes from offset ${nuls.at} where a line would start: a hole in the file, as left by a copytruncate when the writer does not open the file O_APPEND (it writes on at its old offset); counted in nodetap_log_nul_bytes_skipped_total`,
      );
    }
    this.emit();
  }

  private readonly onLine: LineHandler = (line, start, truncated, validUtf8) => {
    this.lines++;
    if (truncated) {
      this.truncatedLines++;
      this.warnOnce("long-line", `line longer than tail.maxLineBytes (${this.deps.settings.maxLineBytes}) cut at offset ${start}`);
    }
    if (!validUtf8) {
      this.invalidLines++;
      this.warnOnce("utf8", `line at offset ${start} is not valid UTF-8; invalid bytes replaced by U+FFFD`);
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
      this.deps.submit(records, ticket, this.stream);
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

  /** Called at the end of the data: flushes a last line or held records when their time has come. */
  private atEnd(): void {
    this.reachedEnd = true;
    const now = Date.now();
    const idleFor = now - this.lastGrowthAt;
    if (this.state !== "active") this.drainedOnce = true;
    if (this.state === "active") {
      if (this.splitter.hasPartial && idleFor >= this.deps.settings.partialLineFlushAfterMs) {
        this.splitter.flushPartial(this.readOffset, this.onLine);
        this.emit();
      }
      return;
    }
    if (idleFor >= this.deps.settings.rotateWaitMs) this.finishRotated();
  }

  /**
   * Time-based work without I/O: multiline records whose flushAfter passed, and runtime partial
   * pieces (CRI `P`, docker) of an active file idle for partialLineFlushAfter. A container killed
   * mid-line never writes the final piece; held, the pieces would pin memory and the checkpoint.
   */
  flushExpired(now: number): void {
    let emitted = 0;
    if (this.state === "active" && now - this.lastGrowthAt >= this.deps.settings.partialLineFlushAfterMs) {
      emitted += this.decoder.flushHeldPieces?.(this.collect) ?? 0;
    }
    if (this.decoder instanceof MultilineDecoder && this.decoder.holding) emitted += this.decoder.flushExpired(now, this.collect);
    if (emitted > 0) this.emit();
  }

  get holdsPartialData(): boolean {
    return this.splitter.hasPartial || this.decoder.pendingStart() !== Infinity;
  }

  /** The file was rotated away and read to its end: emit everything held, then close. */
  private finishRotated(): void {
    this.splitter.flushPartial(this.readOffset, this.onLine);
    this.decoder.flush(this.collect);
    this.emit();
    void this.closeHandle();
  }

  /**
   * Copytruncate (or a rewrite): reading restarts at 0 once the old generation's copy was looked
   * for. `unreadBytes`: of the old generation, where the file's size cannot tell (a hole met).
   */
  private async startNewGeneration(handle: FileHandle, size: number, why: string, unreadBytes?: number): Promise<void> {
    // Not the time the stat was started: a truncation it saw may be later than that, and so may
    // the copy the rotator made just before it.
    const detectedAt = Date.now();
    this.deps.metrics.rotations.inc({ kind: "truncate" });
    this.deps.logger.info({ file: this.path, why }, "file truncated or rewritten in place; reading it again from the start");
    // Where the old generation's copy is read on from: the start of a line (or record) still held
    // here, not where reading stopped inside it, or the copy would give its rest as a record of
    // its own. The held part goes out only where no copy gives it whole (a fragment otherwise).
    const issued = Math.min(this.lastIssued, this.splitter.safeOffset, this.decoder.pendingStart());
    const emitHeld = this.heldEmitter();
    const previous: SupersededGeneration = {
      fingerprintBytes: this.identity.fingerprintBytes,
      fingerprint: this.identity.fingerprint,
      committed: this.committedOffset,
      issued,
      seenAt: this.seenAt,
      detectedAt,
      unreadBytes: unreadBytes ?? Math.max(0, this.size - this.readOffset),
      readEnd: this.readOffset,
    };
    this.generation++;
    const fp = await computeFingerprint(handle, size, this.deps.settings.fingerprintBytes);
    this.identity.fingerprintBytes = fp.bytes;
    this.identity.fingerprint = fp.hash;
    this.readOffset = 0;
    this.holes.reset();
    // Armed at once: the next read waits for the old generation's copies, and another rotation
    // may come in between.
    await this.holes.arm(handle, size, 0);
    this.splitter = new LineSplitter(this.deps.settings.maxLineBytes, 0);
    this.decoder = this.newDecoder();
    this.tracker = this.newTracker(0);
    this.lastIssued = 0;
    this.countHeld(); // what the old generation held is kept aside (emitHeld), out of the budget
    if (this.deps.superseded) {
      this.deps.superseded(this, previous, emitHeld);
    } else {
      emitHeld();
      this.deps.commit(this, 0);
    }
  }

  /** Sends, once, what the current generation's splitter and decoder hold (for startNewGeneration). */
  private heldEmitter(): () => void {
    const splitter = this.splitter;
    const decoder = this.decoder;
    const end = this.readOffset;
    let done = false;
    return () => {
      if (done || this.state === "closed") return;
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

  /**
   * While the fingerprint is still growing, at every read; after that at most once a second
   * (a shrink is caught by the size check anyway; this catches a truncation that was followed by
   * more writes than we had read, before the next read).
   */
  private fingerprintCheckDue(): boolean {
    const now = Date.now();
    const since = now - this.fingerprintCheckedAt;
    const full = this.identity.fingerprintBytes >= this.deps.settings.fingerprintBytes;
    // After a gap since the last stat (reading waited for the budget or for rotated files), the
    // file may have been truncated and grown past what was read and its last size.
    const gap = now - this.seenAt >= FINGERPRINT_RECHECK_AFTER_END_MS;
    if (full && !gap && since < (this.reachedEnd ? FINGERPRINT_RECHECK_AFTER_END_MS : FINGERPRINT_RECHECK_MS)) return false;
    this.fingerprintCheckedAt = now;
    return true;
  }

  /** Grows the fingerprint with the file, or detects that the file's start was rewritten. */
  private async checkFingerprint(handle: FileHandle, size: number): Promise<void> {
    const want = Math.min(size, this.deps.settings.fingerprintBytes);
    const have = this.identity.fingerprintBytes;
    const head = await readHead(handle, want);
    if (head.length < have || fingerprintOf(head.subarray(0, have)) !== this.identity.fingerprint) {
      await this.startNewGeneration(handle, size, "the first bytes changed");
      return;
    }
    if (want > have) {
      this.identity.fingerprintBytes = head.length;
      this.identity.fingerprint = fingerprintOf(head);
    }
  }

  /** The discovered path no longer names this file: read it to its end, then close it. */
  markRotated(): void {
    if (this.state === "active") this.state = "rotated";
  }

  /** Reattaches a descriptor to a closed tailer (the caller verified the identity). */
  reopen(handle: FileHandle, state: TailerState): void {
    this.handle = handle;
    this.state = state;
    this.lastGrowthAt = Date.now();
  }

  async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.state = "closed";
    if (this.heldCounted > 0) {
      // A closed file's leftovers (at shutdown) are no longer read: stop counting them.
      this.deps.budget.releaseHeld(this.heldCounted);
      this.heldCounted = 0;
    }
    if (handle) await handle.close().catch(() => undefined);
  }

  warnOnce(kind: string, message: string): void {
    if (this.warned.has(kind)) return;
    if (this.warned.size > 32) return;
    this.warned.add(kind);
    this.deps.logger.warn({ file: this.path, source: this.spec.name }, message);
  }

  status(): Record<string, unknown> {
    return {
      path: this.path,
      source: this.spec.name,
      state: this.unlinked && this.state !== "active" ? `${this.state} (deleted)` : this.state,
      identity: `${this.identity.dev}:${this.identity.ino}:${this.identity.fingerprint.slice(0, 12)}`,
      size: this.size,
      readOffset: this.readOffset,
      committedOffset: this.committedOffset,
      ...(this.stream !== this.path ? { stream: this.stream } : {}),
      lagBytes: this.lagBytes,
      deliveryLagBytes: Math.max(0, this.size - this.committedOffset),
      unackedTickets: this.tracker.pending,
    };
  }
}
