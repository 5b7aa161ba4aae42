import http from "node:http";
// node:https is loaded where an https URL needs it, not at start: loading it costs about 9 MiB of
// RSS (OpenSSL), which an http sink never needs.
import type { Logger } from "pino";
import { ConfigError } from "../../../config/errors.js";
import { VERSION } from "../../../version.js";
import type { DeliveryResult } from "../../delivery/sink.js";
import { outcomeOfError } from "../shared/outcome.js";
import { resolveSecretValues } from "../shared/secrets.js";
import type { TlsClientSettings } from "../shared/tls-config.js";
import { tlsOptions } from "../shared/tls-options.js";
import { authHeaders } from "./auth.js";
import type { AuthConfig, HttpClientConfig } from "./config.js";

/** What the client needs of a sink's section (the http sink's has no auth and no tls.serverName). */
export type HttpClientSettings = Pick<HttpClientConfig, "url" | "headers" | "timeout" | "concurrency"> & {
  auth?: Partial<AuthConfig>;
  tls: TlsClientSettings;
};

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The response body, cut at maxResponseBytes (the rest is read and dropped). */
  body: Buffer;
}

/**
 * The HTTP client of every HTTP sink (http, Loki, Elasticsearch, OTLP): one keep-alive agent
 * (sockets = concurrency), TLS with a CA bundle / client certificate, header values and
 * credentials from env or files (resolved once at start, never logged), a time limit per request
 * (response included) and abort at shutdown. It returns what the server said; each sink maps
 * that to a DeliveryResult by its own API's rules.
 */
export class HttpClient {
  readonly url: URL;
  private agent!: http.Agent;
  private headers: Record<string, string> = {};
  private readonly maxResponseBytes: number;

  constructor(
    /** Config key prefix for error messages, e.g. logs.sink.loki. */
    readonly key: string,
    private readonly config: HttpClientSettings,
    private readonly logger: Logger,
    opts: { defaultPath?: string; maxResponseBytes?: number } = {},
  ) {
    if (config.url === "") throw new ConfigError(`${key}.url`, `is required when logs.sink.type is ${key.split(".").pop()}`);
    let url: URL;
    try {
      url = new URL(config.url);
    } catch {
      throw new ConfigError(`${key}.url`, `${JSON.stringify(config.url)} is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new ConfigError(`${key}.url`, `scheme ${url.protocol} is not supported; use http or https`);
    if (opts.defaultPath !== undefined && (url.pathname === "" || url.pathname === "/")) url.pathname = opts.defaultPath;
    this.url = url;
    this.maxResponseBytes = opts.maxResponseBytes ?? 4096;
  }

  /** Resolves secrets and builds the agent; throws ConfigError naming the key. `extraHeaders` (already resolved) win over config headers. */
  start(extraHeaders: Record<string, string> = {}): void {
    const c = this.config;
    this.headers = { ...resolveSecretValues(`${this.key}.headers`, c.headers), ...authHeaders(this.key, c.auth ?? {}), ...extraHeaders };
    const common = { keepAlive: true, maxSockets: c.concurrency };
    if (this.url.protocol === "https:") {
      this.agent = new (process.getBuiltinModule("node:https").Agent)({ ...common, ...tlsOptions(`${this.key}.tls`, c.tls, this.logger) });
    } else {
      if (c.tls.caFile !== "" || c.tls.certFile !== "")
        this.logger.warn({ url: this.describeUrl() }, `${this.key}.tls is set but the URL is http: TLS settings are not used`);
      this.agent = new http.Agent(common);
    }
  }

  describeUrl(): string {
    return `${this.url.protocol}//${this.url.host}${this.url.pathname}`;
  }

  /** Names of the headers sent (values are secrets). */
  headerNames(): string[] {
    return Object.keys(this.headers);
  }

  /**
   * One POST. Resolves with the server's reply, or rejects with the request error (connection
   * refused, reset, TLS, timeout, aborted); `mapError` turns that into a retry outcome.
   */
  post(body: Buffer, headers: Record<string, string>, signal: AbortSignal, url: URL = this.url): Promise<HttpReply> {
    const client = url.protocol === "https:" ? process.getBuiltinModule("node:https") : http;
    const timeoutMs = this.config.timeout * 1000;
    return new Promise<HttpReply>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, reply?: HttpReply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve(reply as HttpReply);
      };
      const req = client.request(url, {
        method: "POST",
        agent: this.agent,
        headers: { "user-agent": `nodetap/${VERSION}`, ...this.headers, ...headers, "content-length": String(body.length) },
      });
      const timer = setTimeout(() => {
        const err = new Error(`no complete response within ${timeoutMs} ms`);
        err.name = "TimeoutError";
        req.destroy(err);
      }, timeoutMs);
      const onAbort = () => req.destroy(new Error("aborted at shutdown"));
      signal.addEventListener("abort", onAbort, { once: true });
      req.on("error", (err) => finish(err));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on("data", (chunk: Buffer) => {
          if (kept < this.maxResponseBytes) {
            chunks.push(chunk);
            kept += chunk.length;
          }
        });
        res.on("error", (err) => finish(err));
        res.on("end", () => {
          const all = Buffer.concat(chunks);
          finish(undefined, {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: all.length > this.maxResponseBytes ? all.subarray(0, this.maxResponseBytes) : all,
          });
        });
      });
      req.end(body);
    });
  }

  /** A request error as a retry outcome; TLS failures say which CA file was used. */
  mapError(err: unknown): DeliveryResult {
    const out = outcomeOfError(err);
    if (out.kind === "retry" && out.reason === "tls") {
      const ca = this.config.tls.caFile;
      out.detail = `TLS handshake with ${this.url.host} failed: ${out.detail} (server certificate checked against ${ca !== "" ? `logs CA file ${ca}` : "the system CA roots"})`;
    }
    return out;
  }

  close(): void {
    this.agent?.destroy();
  }
}
