import type { FileTailer } from "./file-tailer.js";
import { compareRotationAge } from "./rotation-names.js";

/** Which streams (lanes) must not be read on for now, and when to look again. */
export interface ReadGate {
  blocked(lane: string): boolean;
  onRoom(listener: () => void): void;
}

/**
 * Which file the one read buffer serves next, so that a stream's records go out in file order
 * across rotations: a stream's rotated files before its active file, one rotated file of a stream
 * at a time (the oldest first), nothing of a stream whose truncated file's copies are being looked
 * for, and nothing of a lane its sink has no room for (the gate).
 */
export class ReadOrder {
  private readonly activeQueue = new Set<FileTailer>();
  private readonly rotatedQueue = new Set<FileTailer>();
  /** Rotated files not yet read to their end, by stream: the stream's active file waits for them. */
  private readonly draining = new Map<string, Set<FileTailer>>();
  /** Streams whose active file was truncated and whose copies are being looked for: held till found. */
  private readonly copyLookups = new Set<string>();

  constructor(private readonly gate: ReadGate | undefined) {}

  /** Asks for `t` to be read (again); files not open are not. */
  enqueue(t: FileTailer): void {
    if (!t.isOpen) return;
    if (t.state === "active") this.activeQueue.add(t);
    else this.rotatedQueue.add(t);
  }

  /** `t` is closed (idle): not read until enqueued again. */
  dequeue(t: FileTailer): void {
    this.activeQueue.delete(t);
  }

  /** `t` rotated out of its stream: the stream's active file waits until it was read to its end. */
  rotated(t: FileTailer): void {
    if (t.drainedOnce) return;
    let set = this.draining.get(t.stream);
    if (set === undefined) this.draining.set(t.stream, (set = new Set()));
    set.add(t);
  }

  /** Lets the stream go on once `t` was read to its end (or closed). */
  noteDrained(t: FileTailer): void {
    if (t.state === "active" || (!t.drainedOnce && t.isOpen)) return;
    const set = this.draining.get(t.stream);
    if (set?.delete(t) && set.size === 0) this.draining.delete(t.stream);
  }

  holdForCopies(stream: string): void {
    this.copyLookups.add(stream);
  }

  releaseCopies(stream: string): void {
    this.copyLookups.delete(stream);
  }

  /** The next file to read, taken off its queue; undefined when every queued file must wait. */
  next(): FileTailer | undefined {
    // Files whose records wait on a full sink stay queued; the sink's room kicks the pump again.
    const gate = this.gate;
    for (const t of this.rotatedQueue) {
      if (gate !== undefined && gate.blocked(t.stream)) continue;
      // A stream whose truncated file's copy is being looked up waits for it, rotated files too
      // (the truncated file renamed meanwhile; its new generation's start is not committed yet).
      if (this.copyLookups.size > 0 && this.copyLookups.has(t.stream)) continue;
      // One rotated file of a stream at a time, the oldest first: reading them by turns would
      // interleave their records in the lane.
      const oldest = this.oldestDraining(t.stream);
      if (oldest !== undefined && oldest !== t && oldest.isOpen) continue;
      this.rotatedQueue.delete(t);
      return t;
    }
    for (const t of this.activeQueue) {
      if (gate !== undefined && gate.blocked(t.stream)) continue;
      // Waits (stays queued) while a rotated file of its stream has unread data.
      if (this.draining.size > 0 && this.draining.has(t.stream)) continue;
      if (this.copyLookups.size > 0 && this.copyLookups.has(t.stream)) continue;
      this.activeQueue.delete(t);
      return t;
    }
    return undefined;
  }

  /**
   * The stream's rotated file with the oldest data: by the rotated names where they tell (files
   * found after a restart are opened in no particular order), else the first one that rotated.
   */
  private oldestDraining(stream: string): FileTailer | undefined {
    let oldest: FileTailer | undefined;
    // The name it was found under: an unpacked .gz is named by its .gz.
    const name = (t: FileTailer) => t.origin.file ?? t.path;
    for (const t of this.draining.get(stream) ?? []) if (oldest === undefined || compareRotationAge(name(t), name(oldest)) < 0) oldest = t;
    return oldest;
  }
}
