import { promisify } from "node:util";
import zlib from "node:zlib";
import type { Logger } from "pino";
import type { DeliveryResult, Transport } from "../../delivery/sink.js";
import { HttpClient } from "../http-client/client.js";
import type { OtlpSinkConfig } from "./config.js";
import { errorMessageOf, otlpOutcome, partialSuccessOf } from "./response.js";

const gzip = promisify(zlib.gzip);

export class OtlpTransport implements Transport {
  readonly name = "otlp";
  private readonly http: HttpClient;
  private requestHeaders: Record<string, string> = {};
  private droppedByServer = 0;
  private lastPartialLogAt = 0;

  constructor(
    private readonly config: OtlpSinkConfig,
    private readonly contentType: string,
    private readonly logger: Logger,
  ) {
    this.http = new HttpClient("logs.sink.otlp", config, logger, { defaultPath: "/v1/logs", maxResponseBytes: 64 * 1024 });
  }

  async start(): Promise<void> {
    this.http.start();
    this.requestHeaders = { "content-type": this.contentType };
    if (this.config.compression === "gzip") this.requestHeaders["content-encoding"] = "gzip";
  }

  async prepare(payload: Buffer): Promise<Buffer> {
    return this.config.compression === "gzip" ? gzip(payload, { level: this.config.compressionLevel }) : payload;
  }

  async deliver(body: Buffer, signal: AbortSignal): Promise<DeliveryResult> {
    let reply;
    try {
      reply = await this.http.post(body, this.requestHeaders, signal);
    } catch (err) {
      return this.http.mapError(err);
    }
    const ct = reply.headers["content-type"];
    if (reply.status >= 200 && reply.status < 300) {
      const ps = partialSuccessOf(reply.body, this.config.encoding === "json" || (ct?.includes("json") ?? false));
      if (ps !== undefined && ps.rejected > 0) {
        this.droppedByServer += ps.rejected;
        const now = Date.now();
        if (now - this.lastPartialLogAt > 5000) {
          this.lastPartialLogAt = now;
          this.logger.warn(
            { sink: "otlp", rejected: ps.rejected, message: ps.message, totalDropped: this.droppedByServer },
            "OTLP partial success: the server dropped records (not retried)",
          );
        }
        return { kind: "ok", notes: [{ outcome: "dropped_by_server", records: ps.rejected }] };
      }
      return { kind: "ok" };
    }
    const retryAfter = reply.headers["retry-after"];
    return otlpOutcome(reply.status, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, errorMessageOf(reply.body, ct));
  }

  async close(): Promise<void> {
    this.http.close();
  }

  describe(): Record<string, unknown> {
    return {
      url: this.http.describeUrl(),
      encoding: this.config.encoding,
      compression: this.config.compression,
      headers: this.http.headerNames(),
      droppedByServer: this.droppedByServer,
    };
  }
}
