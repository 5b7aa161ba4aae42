import { makeRecord } from "../record.js";
import type { DecoderContext, LineDecoder, RecordHandler } from "./decoder.js";

/** One line, one record; the time is when the line was read. */
export class PlainDecoder implements LineDecoder {
  constructor(private readonly ctx: DecoderContext) {}

  decode(line: Buffer, start: number, truncated: boolean, out: RecordHandler): void {
    out(makeRecord(this.ctx.readTime, "", line.toString("utf8"), this.ctx.origin, truncated), start);
  }

  pendingStart(): number {
    return Infinity;
  }

  flush(): void {}
}
