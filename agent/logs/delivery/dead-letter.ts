import type { LogRecord } from "../record.js";
import { NdjsonEncoder } from "../sinks/shared/ndjson.js";
import { RotatingFileWriter } from "./rotating-file.js";

export interface DeadLetterReason {
  sink: string;
  reason: string;
  status?: number;
  detail?: string;
}

/**
 * Records the sink rejected for good, one JSON line each:
 *   {"deadLetter":{"at":"...","sink":"http","reason":"status_400","status":400,"detail":"..."},
 *    "record":{...the record as the NDJSON sink writes it...}}
 * so they can be inspected and replayed. A record counts as delivered once it is written here.
 */
export class DeadLetterFile {
  private readonly writer: RotatingFileWriter;
  private readonly encoder = new NdjsonEncoder();

  constructor(
    readonly file: string,
    maxBytes: number,
    maxFiles: number,
  ) {
    this.writer = new RotatingFileWriter(file, maxBytes, maxFiles);
  }

  async write(records: readonly LogRecord[], why: DeadLetterReason): Promise<void> {
    const head = deadLetterHead(why);
    let out = "";
    for (const r of records) out += `{"deadLetter":${head},"record":${this.encoder.line(r).slice(0, -1)}}\n`;
    await this.writer.write(Buffer.from(out, "utf8"));
  }

  /** Records already encoded as NDJSON lines (an encoded batch's bytes), each wrapped like write() does. */
  async writeLines(lines: Buffer, why: DeadLetterReason): Promise<void> {
    const head = Buffer.from(`{"deadLetter":${deadLetterHead(why)},"record":`, "utf8");
    const parts: Buffer[] = [];
    let start = 0;
    while (start < lines.length) {
      let nl = lines.indexOf(0x0a, start);
      if (nl < 0) nl = lines.length;
      if (nl > start) parts.push(head, lines.subarray(start, nl), CLOSE_LINE);
      start = nl + 1;
    }
    await this.writer.write(Buffer.concat(parts));
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

const CLOSE_LINE = Buffer.from("}\n", "latin1");

function deadLetterHead(why: DeadLetterReason): string {
  return JSON.stringify({
    at: new Date().toISOString(),
    sink: why.sink,
    reason: why.reason,
    ...(why.status !== undefined ? { status: why.status } : {}),
    ...(why.detail !== undefined ? { detail: why.detail.slice(0, 512) } : {}),
  });
}
