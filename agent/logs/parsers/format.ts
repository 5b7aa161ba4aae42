import type { DecoderContext, LineDecoder, RecordHandler } from "./decoder.js";
import { CriDecoder, parseCriLine } from "./cri.js";
import { DockerDecoder, parseDockerLine } from "./docker.js";
import { PlainDecoder } from "./plain.js";

export type LineFormat = "auto" | "plain" | "cri" | "docker";

/** Which format a file is in, judged from one of its lines. */
export function detectFormat(line: Buffer): "plain" | "cri" | "docker" {
  if (line[0] === 0x7b && parseDockerLine(line.toString("utf8")) !== undefined) return "docker";
  if (parseCriLine(line) !== undefined) return "cri";
  return "plain";
}

export function createFormatDecoder(format: LineFormat, ctx: DecoderContext): LineDecoder {
  switch (format) {
    case "plain":
      return new PlainDecoder(ctx);
    case "cri":
      return new CriDecoder(ctx);
    case "docker":
      return new DockerDecoder(ctx);
    case "auto":
      return new AutoDecoder(ctx);
  }
}

/** Picks the format from the file's first non-empty line and keeps it for the file's life. */
class AutoDecoder implements LineDecoder {
  private inner?: LineDecoder;

  constructor(private readonly ctx: DecoderContext) {}

  decode(line: Buffer, start: number, truncated: boolean, out: RecordHandler): void {
    if (this.inner === undefined) {
      if (line.length === 0) {
        new PlainDecoder(this.ctx).decode(line, start, truncated, out);
        return;
      }
      this.inner = createFormatDecoder(detectFormat(line), this.ctx);
    }
    this.inner.decode(line, start, truncated, out);
  }

  pendingStart(): number {
    return this.inner?.pendingStart() ?? Infinity;
  }

  flush(out: RecordHandler): void {
    this.inner?.flush(out);
  }

  heldBytes(): number {
    return this.inner?.heldBytes?.() ?? 0;
  }

  flushHeldPieces(out: RecordHandler): number {
    return this.inner?.flushHeldPieces?.(out) ?? 0;
  }
}
