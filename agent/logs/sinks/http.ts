import fs from "node:fs";
import http from "node:http";
import { promisify } from "node:util";
import zlib from "node:zlib";
import type { Logger } from "pino";
import { ConfigError } from "../../config/errors.js";
import type { LogsConfig } from "../../config/sections/logs.js";
import { VERSION } from "../../version.js";
import { outcomeOfError, outcomeOfStatus } from "./http-outcome.js";
import { resolveSecretValues } from "./secrets.js";
import type { DeliveryResult, Transport } from "./sink.js";

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
/** Response bytes kept for the error detail; the rest is read and dropped. */
const MAX_RESPONSE_DETAIL = 2048;

export type HttpSinkConfig = LogsConfig["sink"]["http"];

/**
 * POSTs NDJSON batches (gzip by default) over keep-alive connections, one per lane. Header
 * values may come from env or files (resolved once at start, never logged); TLS takes a CA
 * bundle, a client certificate and key, or (for tests) no verification.
 */
export class HttpTransport implements Transport {
  readonly name = "http";
  private url!: URL;
  private agent!: http.Agent;
  private headers: Record<string, string> = {};
  private readonly timeoutMs: number;

  constructor(
    private readonly config: HttpSinkConfig,
    private readonly contentType: string,
    private readonly logger: Logger,
  ) {
    this.timeoutMs = config.timeout * 1000;
  }

  async start(): Promise<void> {
    const c = this.config;
    if (c.url === "") throw new ConfigError("logs.sink.http.url", "is required when logs.sink.type is http");
    try {
      this.url = new URL(c.url);
    } catch {
      throw new ConfigError("logs.sink.http.url", `${JSON.stringify(c.url)} is not a URL`);
    }
    if (this.url.protocol !== "http:" && this.url.protocol !== "https:") {
      throw new ConfigError("logs.sink.http.url", `scheme ${this.url.protocol} is not supported; use http or https`);
    }
    this.headers = resolveSecretValues("logs.sink.http.headers", c.headers);
    const common = { keepAlive: true, maxSockets: c.concurrency };
    if (this.url.protocol === "https:") {
      const tls = c.tls;
      if (tls.insecureSkipVerify) this.logger.warn("logs.sink.http.tls.insecureSkipVerify is on: the server certificate is not verified");
      if ((tls.certFile === "") !== (tls.keyFile === ""))
        throw new ConfigError("logs.sink.http.tls.certFile", "certFile and keyFile must be set together");
      this.agent = new (process.getBuiltinModule("node:https").Agent)({
        ...common,
        ca: tls.caFile ? readPem("logs.sink.http.tls.caFile", tls.caFile) : undefined,
        cert: tls.certFile ? readPem("logs.sink.http.tls.certFile", tls.certFile) : undefined,
        key: tls.keyFile ? readPem("logs.sink.http.tls.keyFile", tls.keyFile) : undefined,
        rejectUnauthorized: !tls.insecureSkipVerify,
      });
    } else {
      this.agent = new http.Agent(common);
    }
  }

  async prepare(payload: Buffer): Promise<Buffer> {
    return this.config.compression === "gzip" ? gzip(payload, { level: this.config.compressionLevel }) : payload;
  }

  async restore(prepared: Buffer): Promise<Buffer> {
    return this.config.compression === "gzip" ? gunzip(prepared) : prepared;
  }

  deliver(body: Buffer, signal: AbortSignal): Promise<DeliveryResult> {
    const client = this.url.protocol === "https:" ? process.getBuiltinModule("node:https") : http;
    return new Promise<DeliveryResult>((resolve) => {
      let settled = false;
      const finish = (result: DeliveryResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const req = client.request(this.url, {
        method: "POST",
        agent: this.agent,
        headers: {
          "user-agent": `nodetap/${VERSION}`,
          ...this.headers,
          "content-type": this.contentType,
          "content-length": String(body.length),
          ...(this.config.compression === "gzip" ? { "content-encoding": "gzip" } : {}),
        },
      });
      const timer = setTimeout(() => {
        const err = new Error(`no complete response within ${this.timeoutMs} ms`);
        err.name = "TimeoutError";
        req.destroy(err);
      }, this.timeoutMs);
      const onAbort = () => req.destroy(new Error("aborted at shutdown"));
      signal.addEventListener("abort", onAbort, { once: true });
      req.on("error", (err) => finish(outcomeOfError(err)));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on("data", (chunk: Buffer) => {
          if (kept < MAX_RESPONSE_DETAIL) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        res.on("error", (err) => finish(outcomeOfError(err)));
        res.on("end", () => {
          const detail = Buffer.concat(chunks).toString("utf8", 0, Math.min(kept, MAX_RESPONSE_DETAIL)).trim();
          const retryAfter = res.headers["retry-after"];
          finish(outcomeOfStatus(res.statusCode ?? 0, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, detail));
        });
      });
      req.end(body);
    });
  }

  async close(): Promise<void> {
    this.agent?.destroy();
  }

  describe(): Record<string, unknown> {
    return {
      url: this.url ? `${this.url.protocol}//${this.url.host}${this.url.pathname}` : this.config.url,
      compression: this.config.compression,
      headers: Object.keys(this.headers),
    };
  }
}

function readPem(key: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new ConfigError(key, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
