import { promisify } from "node:util";
import zlib from "node:zlib";
import type { Logger } from "pino";
import type { DeliveryResult, Transport } from "../../delivery/sink.js";
import { HttpClient } from "../http-client/client.js";
import { outcomeOfStatus } from "../shared/outcome.js";
import type { HttpSinkConfig } from "./config.js";

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
/** Response bytes kept for the error detail; the rest is read and dropped. */
const MAX_RESPONSE_DETAIL = 2048;

/**
 * POSTs NDJSON batches (gzip by default) through the shared HTTP client (keep-alive connections,
 * one per lane; header values from env or files; TLS with a CA bundle, a client certificate and
 * key, or for tests no verification). Answers: 2xx stored; 408, 429 and 5xx retried; any other
 * status rejected for good.
 */
export class HttpTransport implements Transport {
  readonly name = "http";
  /** Made at start(), which checks the URL, headers and TLS files (ConfigError names the key). */
  private http?: HttpClient;
  private requestHeaders: Record<string, string> = {};

  constructor(
    private readonly config: HttpSinkConfig,
    private readonly contentType: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.http = new HttpClient("logs.sink.http", this.config, this.logger, { maxResponseBytes: MAX_RESPONSE_DETAIL });
    this.http.start();
    this.requestHeaders = { "content-type": this.contentType };
    if (this.config.compression === "gzip") this.requestHeaders["content-encoding"] = "gzip";
  }

  async prepare(payload: Buffer): Promise<Buffer> {
    return this.config.compression === "gzip" ? gzip(payload, { level: this.config.compressionLevel }) : payload;
  }

  async restore(prepared: Buffer): Promise<Buffer> {
    return this.config.compression === "gzip" ? gunzip(prepared) : prepared;
  }

  async deliver(body: Buffer, signal: AbortSignal): Promise<DeliveryResult> {
    const http = this.http as HttpClient;
    let reply;
    try {
      reply = await http.post(body, this.requestHeaders, signal);
    } catch (err) {
      return http.mapError(err);
    }
    const retryAfter = reply.headers["retry-after"];
    return outcomeOfStatus(reply.status, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, reply.body.toString("utf8").trim());
  }

  async close(): Promise<void> {
    this.http?.close();
  }

  describe(): Record<string, unknown> {
    return {
      url: this.http?.describeUrl() ?? this.config.url,
      compression: this.config.compression,
      headers: this.http?.headerNames() ?? [],
    };
  }
}
