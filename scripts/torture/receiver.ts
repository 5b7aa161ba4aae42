import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";

/** accept: 200 and record; status503: answer 503 and drop the batch; refuse: not listening (ECONNREFUSED). */
export type ReceiverMode = "accept" | "status503" | "refuse";

/**
 * The HTTP sink's destination: NDJSON POSTs (gzip or not) on 127.0.0.1; every record's
 * `message` goes to `onMessage` in arrival order. Can answer 503 or stop listening for a while.
 */
export class Receiver {
  port = 0;
  mode: ReceiverMode = "accept";
  requests = 0;
  readonly answers = new Map<number, number>();
  private server: http.Server;

  constructor(private readonly onMessage: (message: string) => void) {
    this.server = this.newServer();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/ingest`;
  }

  private newServer(): http.Server {
    return http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.requests++;
        if (this.mode !== "accept") return this.answer(res, 503);
        let records: Array<{ message?: unknown }>;
        try {
          const body = Buffer.concat(chunks);
          const text = (req.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(body) : body).toString("utf8");
          records = text
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l) as { message?: unknown });
        } catch {
          return this.answer(res, 400);
        }
        for (const r of records) this.onMessage(String(r.message ?? ""));
        this.answer(res, 200);
      });
    });
  }

  private answer(res: http.ServerResponse, status: number): void {
    this.answers.set(status, (this.answers.get(status) ?? 0) + 1);
    res.writeHead(status);
    res.end(status === 200 ? "" : `status ${status}`);
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async setMode(mode: ReceiverMode): Promise<void> {
    if (mode === this.mode) return;
    const wasRefusing = this.mode === "refuse";
    this.mode = mode;
    if (mode === "refuse") await this.stopListening();
    else if (wasRefusing) {
      this.server = this.newServer();
      await this.listen(this.port);
    }
  }

  private async stopListening(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  async close(): Promise<void> {
    if (this.mode !== "refuse") await this.stopListening();
  }
}
