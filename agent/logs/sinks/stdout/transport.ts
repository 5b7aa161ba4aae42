import type { DeliveryResult, Transport } from "../../delivery/sink.js";

/**
 * Writes NDJSON batches to the process's stdout; a batch is acknowledged when the write
 * completed. On Linux, Node writes to pipes and files synchronously, so a consumer that does
 * not keep up slows the whole process down rather than growing memory.
 */
export class StdoutTransport implements Transport {
  readonly name = "stdout";

  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}

  async start(): Promise<void> {}

  deliver(body: Buffer): Promise<DeliveryResult> {
    return new Promise((resolve) => {
      this.out.write(body, (err) => resolve(err ? { kind: "retry", reason: "write_error", detail: err.message } : { kind: "ok" }));
    });
  }

  async close(): Promise<void> {}

  describe(): Record<string, unknown> {
    return {};
  }
}
