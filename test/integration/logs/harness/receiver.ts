import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";

export type ReceivedRecord = Record<string, unknown> & { message: string; file?: string };

/** How the receiver answers: accept, refuse connections, or answer a status (with Retry-After). */
export type ReceiverMode =
  { kind: "accept" } | { kind: "refuse" } | { kind: "hang" } | { kind: "status"; status: number; retryAfter?: string };

/** TLS for an HTTPS receiver; with `ca` and requestCert, clients must present a certificate. */
export interface ReceiverTls {
  cert: string;
  key: string;
  ca?: string;
  requestCert?: boolean;
}

/**
 * A real HTTP log destination for tests: takes NDJSON POSTs (gzip or not), hands every record to
 * `onRecord` in arrival order, and can refuse connections or answer errors on demand.
 */
export class LogReceiver {
  private server: http.Server;
  port = 0;
  mode: ReceiverMode = { kind: "accept" };
  /** Per request: a status to answer instead of accepting (e.g. 400 for a poison record). */
  rejectBatch?: (records: ReceivedRecord[]) => number | undefined;
  requests = 0;
  accepted = 0;
  statusAnswers = new Map<number, number>();
  maxBodyBytes = 0;
  lastHeaders: http.IncomingHttpHeaders = {};

  constructor(
    private readonly onRecord: (r: ReceivedRecord) => void,
    private readonly tls?: ReceiverTls,
  ) {
    this.server = this.newServer();
  }

  private newServer(): http.Server {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.lastHeaders = req.headers;
      if (this.mode.kind === "hang") return;
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.requests++;
        const body = Buffer.concat(chunks);
        this.maxBodyBytes = Math.max(this.maxBodyBytes, body.length);
        if (this.mode.kind === "status") return this.answer(res, this.mode.status, this.mode.retryAfter);
        let text: string;
        try {
          text = (req.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(body) : body).toString("utf8");
        } catch {
          return this.answer(res, 400);
        }
        const records = text
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as ReceivedRecord);
        const reject = this.rejectBatch?.(records);
        if (reject !== undefined) return this.answer(res, reject);
        for (const r of records) this.onRecord(r);
        this.accepted += records.length;
        this.answer(res, 200);
      });
    };
    if (this.tls === undefined) return http.createServer(handler);
    const t = this.tls;
    return https.createServer(
      { cert: t.cert, key: t.key, ca: t.ca, requestCert: t.requestCert ?? false, rejectUnauthorized: t.requestCert ?? false },
      handler,
    );
  }

  private answer(res: http.ServerResponse, status: number, retryAfter?: string): void {
    this.statusAnswers.set(status, (this.statusAnswers.get(status) ?? 0) + 1);
    res.writeHead(status, retryAfter ? { "retry-after": retryAfter } : {});
    res.end(status === 200 ? "" : `status ${status}`);
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `${this.tls ? "https" : "http"}://127.0.0.1:${this.port}/ingest`;
  }

  /** Stops listening and drops open connections: the agent gets ECONNREFUSED. */
  async refuse(): Promise<void> {
    this.mode = { kind: "refuse" };
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Listens again on the same port. */
  async reopen(): Promise<void> {
    this.server = this.newServer();
    this.mode = { kind: "accept" };
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
