import { RotatingFileWriter } from "../../delivery/rotating-file.js";
import type { DeliveryResult, Transport } from "../../delivery/sink.js";

/** Appends NDJSON batches to a file rotated by size; acknowledged after the data is synced to disk. */
export class FileTransport implements Transport {
  readonly name = "file";
  private readonly writer: RotatingFileWriter;

  constructor(
    private readonly file: string,
    maxBytes: number,
    maxFiles: number,
  ) {
    this.writer = new RotatingFileWriter(file, maxBytes, maxFiles);
  }

  start(): Promise<void> {
    return this.writer.open();
  }

  async deliver(body: Buffer): Promise<DeliveryResult> {
    try {
      await this.writer.write(body);
      return { kind: "ok" };
    } catch (err) {
      return {
        kind: "retry",
        reason: (err as NodeJS.ErrnoException).code === "ENOSPC" ? "disk_full" : "write_error",
        detail: (err as Error).message,
      };
    }
  }

  close(): Promise<void> {
    return this.writer.close();
  }

  describe(): Record<string, unknown> {
    return { path: this.file };
  }
}
