import { makeRecord, type LogStream } from "../record.js";
import { normalizeRfc3339 } from "../time.js";
import { utf8Boundary } from "../sources/line-splitter.js";
import type { DecoderContext, LineDecoder, RecordHandler } from "./decoder.js";
import { PARTIAL_ATTRIBUTES, PartialPieces } from "./partial-merge.js";

const SPACE = 0x20;
const COLON = 0x3a;
const TAG_PARTIAL = 0x50; // P
const TAG_FULL = 0x46; // F

/** The parts of one CRI log line: `<time> <stream> <tags> <message>`. */
export interface CriLine {
  time: string;
  stream: LogStream;
  partial: boolean;
  /** Offset of the message in the line (the line's length for an empty message). */
  messageStart: number;
}

/**
 * Parses the CRI container log format (kubelet's pkg/kubelet/kuberuntime/logs): time as RFC
 * 3339 (nanoseconds), stream stdout|stderr, tags separated by ':' where P marks a partial line
 * and F a full one, then the message. Returns undefined for a line that is not in this format.
 */
export function parseCriLine(line: Buffer): CriLine | undefined {
  const sp1 = line.indexOf(SPACE);
  if (sp1 < 20) return undefined;
  const sp2 = line.indexOf(SPACE, sp1 + 1);
  if (sp2 !== sp1 + 7) return undefined;
  const stream = streamAt(line, sp1 + 1);
  if (stream === undefined) return undefined;
  let sp3 = line.indexOf(SPACE, sp2 + 1);
  if (sp3 < 0) sp3 = line.length;
  if (sp3 === sp2 + 1) return undefined;
  let partial: boolean;
  if (sp3 === sp2 + 2) {
    const tag = line[sp2 + 1];
    if (tag === TAG_PARTIAL) partial = true;
    else if (tag === TAG_FULL) partial = false;
    else return undefined;
  } else {
    partial = hasPartialTag(line, sp2 + 1, sp3);
  }
  const time = normalizeRfc3339(line.toString("latin1", 0, sp1));
  if (time === undefined) return undefined;
  return { time, stream, partial, messageStart: Math.min(sp3 + 1, line.length) };
}

function streamAt(line: Buffer, i: number): LogStream | undefined {
  // "stdout" or "stderr": both start with "std".
  if (line[i] !== 0x73 || line[i + 1] !== 0x74 || line[i + 2] !== 0x64) return undefined;
  const a = line[i + 3];
  const b = line[i + 4];
  const c = line[i + 5];
  if (a === 0x6f && b === 0x75 && c === 0x74) return "stdout";
  if (a === 0x65 && b === 0x72 && c === 0x72) return "stderr";
  return undefined;
}

function hasPartialTag(line: Buffer, from: number, to: number): boolean {
  let tokenStart = from;
  for (let i = from; i <= to; i++) {
    if (i === to || line[i] === COLON) {
      if (i - tokenStart === 1 && line[tokenStart] === TAG_PARTIAL) return true;
      tokenStart = i + 1;
    }
  }
  return false;
}

const cutBytes = (piece: Buffer, n: number) => piece.subarray(0, utf8Boundary(piece, 0, n));

/**
 * Decodes CRI lines, merging P pieces per stream up to the F piece (capped at maxMergedBytes).
 * A line that is not CRI is counted as a parse error and forwarded whole as the message.
 */
export class CriDecoder implements LineDecoder {
  private readonly stdout: PartialPieces<Buffer>;
  private readonly stderr: PartialPieces<Buffer>;

  constructor(private readonly ctx: DecoderContext) {
    this.stdout = new PartialPieces<Buffer>("stdout", ctx.maxMergedBytes);
    this.stderr = new PartialPieces<Buffer>("stderr", ctx.maxMergedBytes);
  }

  decode(line: Buffer, start: number, truncated: boolean, out: RecordHandler): void {
    const parsed = parseCriLine(line);
    if (parsed === undefined) {
      this.ctx.metrics.parseErrors.inc({ format: "cri" });
      this.ctx.warnOnce("cri", "line is not in CRI format; forwarded whole as the message");
      out(makeRecord(this.ctx.readTime, "", line.toString("utf8"), this.ctx.origin, truncated), start);
      return;
    }
    const pieces = parsed.stream === "stdout" ? this.stdout : this.stderr;
    if (parsed.partial) {
      const piece = Buffer.from(line.subarray(parsed.messageStart));
      if (pieces.add(piece, piece.length, start, parsed.time, cutBytes)) this.ctx.metrics.linesTruncated.inc({ reason: "merged" });
      return;
    }
    if (pieces.empty) {
      out(makeRecord(parsed.time, parsed.stream, line.toString("utf8", parsed.messageStart), this.ctx.origin, truncated), start);
      return;
    }
    const first = pieces.start;
    const tail = line.subarray(parsed.messageStart);
    if (pieces.add(tail, tail.length, start, parsed.time, cutBytes)) this.ctx.metrics.linesTruncated.inc({ reason: "merged" });
    const merged = pieces.take();
    const message = Buffer.concat(merged.parts).toString("utf8");
    out(makeRecord(merged.time, parsed.stream, message, this.ctx.origin, truncated || merged.truncated), first);
  }

  pendingStart(): number {
    return Math.min(this.stdout.start, this.stderr.start);
  }

  flush(out: RecordHandler): void {
    this.emitHeld(out, undefined);
  }

  heldBytes(): number {
    return this.stdout.bytes + this.stderr.bytes;
  }

  flushHeldPieces(out: RecordHandler): number {
    return this.emitHeld(out, PARTIAL_ATTRIBUTES);
  }

  private emitHeld(out: RecordHandler, attributes: Readonly<Record<string, string>> | undefined): number {
    // Emit in file order so the records keep the order of their first pieces.
    const held = [this.stdout, this.stderr].filter((p) => !p.empty).sort((a, b) => a.start - b.start);
    for (const pieces of held) {
      const start = pieces.start;
      const merged = pieces.take();
      const message = Buffer.concat(merged.parts).toString("utf8");
      out(makeRecord(merged.time, pieces.stream, message, this.ctx.origin, merged.truncated, attributes), start);
    }
    return held.length;
  }
}
