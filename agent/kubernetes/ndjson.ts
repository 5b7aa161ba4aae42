/** Default cap on one watch event line: far above any object etcd stores (1.5 MiB by default). */
export const MAX_EVENT_LINE_BYTES = 16 * 1024 * 1024;

/** A line longer than the cap: its bytes were skipped up to the next newline. */
export class OversizeLineError extends Error {
  constructor(readonly limit: number) {
    super(`a watch event line exceeded ${limit} bytes and was skipped`);
    this.name = "OversizeLineError";
  }
}

/**
 * Splits a streamed body into newline-delimited lines (a watch response: one JSON object per line),
 * whatever the chunking: a line split across chunks is joined before it is decoded, so a UTF-8
 * character cut in two survives. A line longer than `maxLineBytes` is not kept: its bytes are
 * dropped as they come, up to its newline, and `onOversize` is called once for it.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skipping = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOversize: (err: OversizeLineError) => void,
    private readonly maxLineBytes = MAX_EVENT_LINE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) {
        this.keep(chunk.subarray(start));
        return;
      }
      const tail = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      if (this.pendingBytes + tail.length > this.maxLineBytes) {
        this.drop();
        this.onOversize(new OversizeLineError(this.maxLineBytes));
        continue;
      }
      const line = this.pendingBytes === 0 ? tail.toString("utf8") : Buffer.concat([...this.pending, tail]).toString("utf8");
      this.drop();
      if (line.trim() !== "") this.onLine(line);
    }
  }

  /** At the end of the body: a last line without a newline still counts. */
  end(): void {
    if (this.skipping || this.pendingBytes === 0) {
      this.drop();
      this.skipping = false;
      return;
    }
    const line = Buffer.concat(this.pending).toString("utf8");
    this.drop();
    if (line.trim() !== "") this.onLine(line);
  }

  private keep(part: Buffer): void {
    if (part.length === 0 || this.skipping) return;
    if (this.pendingBytes + part.length > this.maxLineBytes) {
      this.drop();
      this.skipping = true;
      this.onOversize(new OversizeLineError(this.maxLineBytes));
      return;
    }
    // A chunk is a view on a socket buffer; copy so it does not pin the whole buffer.
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  private drop(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }
}
