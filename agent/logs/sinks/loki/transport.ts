import { promisify } from "node:util";
import zlib from "node:zlib";
import type { Logger } from "pino";
import snappy from "snappyjs";
import type { DeliveryResult, Transport } from "../../delivery/sink.js";
import { HttpClient } from "../http-client/client.js";
import { outcomeOfStatus } from "../shared/outcome.js";
import { resolveSecretValues } from "../shared/secrets.js";
import type { LokiSinkConfig } from "./config.js";

const gzip = promisify(zlib.gzip);

/**
 * Loki's answers: 2xx stored; 429 and 5xx temporary (Retry-After honoured); connection errors
 * temporary; any other status permanent (a 400 names the bad entry: the delivery splits the
 * batch to isolate it, see SinkDefinition.splitRejected).
 */
export function lokiOutcome(status: number, retryAfter: string | undefined, detail: string): DeliveryResult {
  return outcomeOfStatus(status, retryAfter, detail, (s) => s === 429 || s >= 500);
}

export class LokiTransport implements Transport {
  readonly name = "loki";
  private readonly http: HttpClient;
  private requestHeaders: Record<string, string> = {};

  constructor(
    private readonly config: LokiSinkConfig,
    private readonly contentType: string,
    logger: Logger,
  ) {
    this.http = new HttpClient("logs.sink.loki", config, logger, { defaultPath: "/loki/api/v1/push" });
  }

  async start(): Promise<void> {
    const tenant = this.config.tenantId !== "" ? resolveSecretValues("logs.sink.loki", { tenantId: this.config.tenantId }).tenantId : "";
    this.http.start(tenant !== "" ? { "x-scope-orgid": tenant } : {});
    this.requestHeaders = { "content-type": this.contentType };
    if (this.config.encoding === "json" && this.config.compression === "gzip") this.requestHeaders["content-encoding"] = "gzip";
  }

  async prepare(payload: Buffer): Promise<Buffer> {
    if (this.config.encoding === "protobuf") return snappy.compress(payload);
    return this.config.compression === "gzip" ? gzip(payload, { level: this.config.compressionLevel }) : payload;
  }

  async deliver(body: Buffer, signal: AbortSignal): Promise<DeliveryResult> {
    try {
      const reply = await this.http.post(body, this.requestHeaders, signal);
      const retryAfter = reply.headers["retry-after"];
      return lokiOutcome(reply.status, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, reply.body.toString("utf8").trim());
    } catch (err) {
      return this.http.mapError(err);
    }
  }

  async close(): Promise<void> {
    this.http.close();
  }

  describe(): Record<string, unknown> {
    return {
      url: this.http.describeUrl(),
      encoding: this.config.encoding,
      compression: this.config.encoding === "protobuf" ? "snappy" : this.config.compression,
      labels: this.config.labels,
      tenant: this.config.tenantId !== "",
      headers: this.http.headerNames(),
    };
  }
}
