import type { LogMetrics } from "../metrics.js";
import type { LogOrigin, LogRecord } from "../record.js";

/** Receives a decoded record and the file offset of the first line it was made from. */
export type RecordHandler = (record: LogRecord, start: number) => void;

/**
 * Turns lines of one file into records. A decoder may hold lines back (a CRI/docker partial
 * line waiting for its final piece, a multiline record waiting for its continuation); it then
 * reports the offset of the first held-back line so that checkpoints stay before it.
 */
export interface LineDecoder {
  /** `line` excludes the newline and is valid only during the call. */
  decode(line: Buffer, start: number, truncated: boolean, out: RecordHandler): void;
  /** Offset of the first line held back, or Infinity when nothing is held. */
  pendingStart(): number;
  /** Emits whatever is held back, as it is (the file ended, was truncated, or went idle). */
  flush(out: RecordHandler): void;
  /** Bytes held in memory (partial pieces, records being assembled), counted in the in-flight budget. */
  heldBytes?(): number;
  /**
   * Emits runtime partial pieces (CRI `P`, docker pieces) still waiting for their final piece,
   * each as a record marked `attributes.partial = "true"`: the file went idle (a container
   * killed mid-line never writes the rest). Returns how many were emitted.
   */
  flushHeldPieces?(out: RecordHandler): number;
}

/** What a decoder needs besides the bytes; one per tailed file. */
export interface DecoderContext {
  readonly origin: LogOrigin;
  readonly metrics: LogMetrics;
  /** Cap on a record merged from partial lines. */
  readonly maxMergedBytes: number;
  /** RFC 3339 time of the current read, for lines that carry no time of their own. */
  readTime: string;
  /** Logs a warning the first time a kind of problem occurs in this file. */
  warnOnce(kind: string, message: string): void;
}
