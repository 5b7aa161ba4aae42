import { makeRecord, type LogStream } from "../record.js";
import { normalizeRfc3339 } from "../time.js";
import type { DecoderContext, LineDecoder, RecordHandler } from "./decoder.js";
import { PARTIAL_ATTRIBUTES, PartialPieces } from "./partial-merge.js";

/** One docker json-file line: {"log":"...\n","stream":"stdout","time":"..."}. */
export interface DockerLine {
  log: string;
  stream: LogStream;
  time: string | undefined;
}

export function parseDockerLine(text: string): DockerLine | undefined {
  if (text.charCodeAt(0) !== 0x7b) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const obj = value as { log?: unknown; stream?: unknown; time?: unknown };
  if (typeof obj !== "object" || obj === null || typeof obj.log !== "string") return undefined;
  const stream: LogStream = obj.stream === "stdout" ? "stdout" : obj.stream === "stderr" ? "stderr" : "";
  return { log: obj.log, stream, time: typeof obj.time === "string" ? normalizeRfc3339(obj.time) : undefined };
}

const cutString = (piece: string, n: number) => piece.slice(0, n);

/**
 * Decodes docker json-file lines. Docker splits messages longer than 16 KiB into pieces whose
 * `log` does not end in a newline; pieces are merged per stream up to the one that does
 * (capped at maxMergedBytes). The final newline is not part of the message.
 */
export class DockerDecoder implements LineDecoder {
  private readonly stdout: PartialPieces<string>;
  private readonly stderr: PartialPieces<string>;
  private readonly other: PartialPieces<string>;

  constructor(private readonly ctx: DecoderContext) {
    this.stdout = new PartialPieces<string>("stdout", ctx.maxMergedBytes);
    this.stderr = new PartialPieces<string>("stderr", ctx.maxMergedBytes);
    this.other = new PartialPieces<string>("", ctx.maxMergedBytes);
  }

  decode(line: Buffer, start: number, truncated: boolean, out: RecordHandler): void {
    const text = line.toString("utf8");
    const parsed = parseDockerLine(text);
    if (parsed === undefined) {
      this.ctx.metrics.parseErrors.inc({ format: "docker" });
      this.ctx.warnOnce("docker", "line is not docker json-file JSON; forwarded whole as the message");
      out(makeRecord(this.ctx.readTime, "", text, this.ctx.origin, truncated), start);
      return;
    }
    const time = parsed.time ?? this.ctx.readTime;
    const pieces = parsed.stream === "stdout" ? this.stdout : parsed.stream === "stderr" ? this.stderr : this.other;
    const log = parsed.log;
    const complete = log.endsWith("\n");
    const piece = complete ? log.slice(0, -1) : log;
    if (!complete) {
      if (pieces.add(piece, piece.length, start, time, cutString)) this.ctx.metrics.linesTruncated.inc({ reason: "merged" });
      return;
    }
    if (pieces.empty) {
      out(makeRecord(time, parsed.stream, piece, this.ctx.origin, truncated), start);
      return;
    }
    const first = pieces.start;
    if (pieces.add(piece, piece.length, start, time, cutString)) this.ctx.metrics.linesTruncated.inc({ reason: "merged" });
    const merged = pieces.take();
    out(makeRecord(merged.time, parsed.stream, merged.parts.join(""), this.ctx.origin, truncated || merged.truncated), first);
  }

  pendingStart(): number {
    return Math.min(this.stdout.start, this.stderr.start, this.other.start);
  }

  flush(out: RecordHandler): void {
    this.emitHeld(out, undefined);
  }

  heldBytes(): number {
    return this.stdout.bytes + this.stderr.bytes + this.other.bytes;
  }

  flushHeldPieces(out: RecordHandler): number {
    return this.emitHeld(out, PARTIAL_ATTRIBUTES);
  }

  private emitHeld(out: RecordHandler, attributes: Readonly<Record<string, string>> | undefined): number {
    const held = [this.stdout, this.stderr, this.other].filter((p) => !p.empty).sort((a, b) => a.start - b.start);
    for (const pieces of held) {
      const start = pieces.start;
      const merged = pieces.take();
      out(makeRecord(merged.time, pieces.stream, merged.parts.join(""), this.ctx.origin, merged.truncated, attributes), start);
    }
    return held.length;
  }
}
