import type { FileHandle } from "node:fs/promises";
import type { Logger } from "pino";
import type { AckTicket } from "../ack-tracker.js";
import type { InFlightBudget } from "../in-flight-budget.js";
import type { LogMetrics } from "../metrics.js";
import type { LogOrigin, LogRecord } from "../record.js";
import type { FileSourceSpec, TailSettings } from "./file-source-spec.js";
import { computeFingerprint, readHead, fingerprintOf, type FileIdentity } from "./file-identity.js";
import { HoleWatch } from "./hole-watch.js";
import { RecordAssembler } from "./record-assembler.js";

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
 * Reads one file: descriptor, read offset, rotation, truncation and rewrites in place; its
 * RecordAssembler turns the bytes read into records. Copytruncate starts a new generation (offset
 * 0, new fingerprint, new ack tracker); late acknowledgements of the old generation are ignored.
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
  private fingerprintCheckedAt = 0;
  /** When the current generation was last stat'ed (see SupersededGeneration.seenAt). */
  private seenAt = Date.now();
  /** The last read found no more data (see FINGERPRINT_RECHECK_AFTER_END_MS). */
  private reachedEnd = true;
  /** Rewrites in place that neither the size nor the first bytes show (hole-watch.ts). */
  private readonly holes = new HoleWatch();
  private readonly assembler: RecordAssembler;
  private readonly warned = new Set<string>();

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
    this.assembler = new RecordAssembler(spec, origin, deps, this, (offset) => deps.commit(this, offset), startOffset);
  }

  get committedOffset(): number {
    return this.assembler.committedOffset;
  }

  get pendingTickets(): number {
    return this.assembler.pendingTickets;
  }

  oldestUnackedAt(): number | undefined {
    return this.assembler.oldestUnackedAt();
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
      const generation = this.assembler.generation;
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
      if (generation !== this.assembler.generation) return "more";
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
    this.holes.consumed(chunk, this.readOffset);
    this.assembler.push(chunk, this.readOffset);
    this.readOffset += chunk.length;
    this.deps.metrics.bytesRead.inc({ source: this.spec.name }, chunk.length);
    this.assembler.submitRead();
  }

  /** Called at the end of the data: flushes a last line or held records when their time has come. */
  private atEnd(): void {
    this.reachedEnd = true;
    const now = Date.now();
    const idleFor = now - this.lastGrowthAt;
    if (this.state !== "active") this.drainedOnce = true;
    if (this.state === "active") {
      if (this.assembler.holdsPartialLine && idleFor >= this.deps.settings.partialLineFlushAfterMs)
        this.assembler.flushPartialLine(this.readOffset);
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
    this.assembler.flushExpired(now, this.state === "active" && now - this.lastGrowthAt >= this.deps.settings.partialLineFlushAfterMs);
  }

  get holdsPartialData(): boolean {
    return this.assembler.holdsPartialData;
  }

  /** The file was rotated away and read to its end: emit everything held, then close. */
  private finishRotated(): void {
    this.assembler.flushAll(this.readOffset);
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
    const { committed, issued, emitHeld } = this.assembler.retire(this.readOffset);
    const previous: SupersededGeneration = {
      fingerprintBytes: this.identity.fingerprintBytes,
      fingerprint: this.identity.fingerprint,
      committed,
      issued,
      seenAt: this.seenAt,
      detectedAt,
      unreadBytes: unreadBytes ?? Math.max(0, this.size - this.readOffset),
      readEnd: this.readOffset,
    };
    const fp = await computeFingerprint(handle, size, this.deps.settings.fingerprintBytes);
    this.identity.fingerprintBytes = fp.bytes;
    this.identity.fingerprint = fp.hash;
    this.readOffset = 0;
    this.holes.reset();
    // Armed at once: the next read waits for the old generation's copies, and another rotation
    // may come in between.
    await this.holes.arm(handle, size, 0);
    this.assembler.restart();
    if (this.deps.superseded) {
      this.deps.superseded(this, previous, emitHeld);
    } else {
      emitHeld();
      this.deps.commit(this, 0);
    }
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
    // A closed file's leftovers (at shutdown) are no longer read: stop counting them.
    this.assembler.releaseHeld();
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
      unackedTickets: this.assembler.pendingTickets,
    };
  }
}
