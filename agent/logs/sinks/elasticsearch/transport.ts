import { promisify } from "node:util";
import zlib from "node:zlib";
import type { Logger } from "pino";
import type { DeliveryResult, Transport } from "../../delivery/sink.js";
import { HttpClient } from "../http-client/client.js";
import type { ElasticsearchSinkConfig } from "./config.js";
import { bulkOutcome, bulkRequestOutcome } from "./response.js";

const gzip = promisify(zlib.gzip);

export class ElasticsearchTransport implements Transport {
  readonly name = "elasticsearch";
  private readonly http: HttpClient;
  private readonly bulkUrl: URL;
  private requestHeaders: Record<string, string> = {};
  /** Records per prepared body, so per-item results can be checked against the batch size. */
  private readonly recordsIn = new WeakMap<Buffer, number>();

  constructor(
    private readonly config: ElasticsearchSinkConfig,
    logger: Logger,
  ) {
    this.http = new HttpClient("logs.sink.elasticsearch", config, logger, { maxResponseBytes: config.maxResponseBytes });
    const url = new URL(this.http.url.href);
    url.pathname = `${url.pathname.replace(/\/+$/, "")}/_bulk`;
    if (config.pipeline !== "") url.searchParams.set("pipeline", config.pipeline);
    url.searchParams.set("filter_path", "errors,items.*.status,items.*.error");
    this.bulkUrl = url;
  }

  async start(): Promise<void> {
    this.http.start();
    this.requestHeaders = { "content-type": "application/x-ndjson" };
    if (this.config.compression === "gzip") this.requestHeaders["content-encoding"] = "gzip";
  }

  async prepare(payload: Buffer): Promise<Buffer> {
    // Two lines per record: count them once here, the body is sent as is on every attempt.
    let lines = 0;
    for (let i = payload.indexOf(0x0a); i >= 0; i = payload.indexOf(0x0a, i + 1)) lines++;
    const body = this.config.compression === "gzip" ? await gzip(payload, { level: this.config.compressionLevel }) : payload;
    this.recordsIn.set(body, lines / 2);
    return body;
  }

  async deliver(body: Buffer, signal: AbortSignal): Promise<DeliveryResult> {
    let reply;
    try {
      reply = await this.http.post(body, this.requestHeaders, signal, this.bulkUrl);
    } catch (err) {
      return this.http.mapError(err);
    }
    const retryAfter = reply.headers["retry-after"];
    const whole = bulkRequestOutcome(
      reply.status,
      Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      reply.body.toString("utf8", 0, 2048).trim(),
    );
    if (whole !== undefined) return whole;
    return bulkOutcome(reply.body, this.recordsIn.get(body) ?? 0);
  }

  async close(): Promise<void> {
    this.http.close();
  }

  describe(): Record<string, unknown> {
    return {
      url: `${this.bulkUrl.protocol}//${this.bulkUrl.host}${this.bulkUrl.pathname}`,
      mode: this.config.mode,
      index: this.config.index,
      documentId: this.config.documentId,
      compression: this.config.compression,
      headers: this.http.headerNames(),
    };
  }
}
