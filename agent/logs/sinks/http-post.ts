import fs from "node:fs";
import http from "node:http";
// node:https and node:tls are loaded where an https URL or TLS file needs them, not at start:
// loading them costs about 9 MiB of RSS (OpenSSL), which an http sink never needs.
import type tls from "node:tls";
import type { Logger } from "pino";
import { ConfigError } from "../../config/errors.js";
import { VERSION } from "../../version.js";
import { outcomeOfError } from "./http-outcome.js";
import type { HttpClientConfig, TlsClientConfig } from "./network-sink-config.js";
import { resolveSecretValues } from "./secrets.js";
import type { DeliveryResult } from "./sink.js";

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The response body, cut at maxResponseBytes (the rest is read and dropped). */
  body: Buffer;
}

/**
 * The HTTP client of the Loki, Elasticsearch and OTLP sinks: one keep-alive agent (sockets =
 * concurrency), TLS with a CA bundle / client certificate, header values and credentials from
 * env or files (resolved once at start, never logged), a time limit per request (response
 * included) and abort at shutdown. It returns what the server said; each sink maps that to a
 * DeliveryResult by its own API's rules.
 */
export class HttpPoster {
  readonly url: URL;
  private agent!: http.Agent;
  private headers: Record<string, string> = {};

  constructor(
    /** Config key prefix for error messages, e.g. logs.sink.loki. */
    readonly key: string,
    private readonly config: HttpClientConfig,
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

  private readonly maxResponseBytes: number;

  /** Resolves secrets and builds the agent; throws ConfigError naming the key. `extraHeaders` (already resolved) win over config headers. */
  start(extraHeaders: Record<string, string> = {}): void {
    const c = this.config;
    this.headers = { ...resolveSecretValues(`${this.key}.headers`, c.headers), ...authHeaders(this.key, c.auth), ...extraHeaders };
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

/** Authorization header from auth.username/password (Basic), auth.bearerToken or auth.apiKey (Elasticsearch ApiKey). */
export function authHeaders(key: string, auth: HttpClientConfig["auth"] & { apiKey?: string }): Record<string, string> {
  const given = resolveSecretValues(
    `${key}.auth`,
    Object.fromEntries(Object.entries(auth).filter(([, v]) => v !== "")) as Record<string, string>,
  );
  const kinds = [
    given.username !== undefined || given.password !== undefined,
    given.bearerToken !== undefined,
    given.apiKey !== undefined,
  ].filter(Boolean).length;
  if (kinds > 1) throw new ConfigError(`${key}.auth`, "set only one of username/password, bearerToken and apiKey");
  if (given.username !== undefined || given.password !== undefined) {
    if (given.username === undefined) throw new ConfigError(`${key}.auth.username`, "is required with auth.password");
    return { authorization: `Basic ${Buffer.from(`${given.username}:${given.password ?? ""}`).toString("base64")}` };
  }
  if (given.bearerToken !== undefined) return { authorization: `Bearer ${given.bearerToken}` };
  if (given.apiKey !== undefined) return { authorization: `ApiKey ${given.apiKey}` };
  return {};
}

/** Node TLS client options from a tls section, every file read and checked now (ConfigError names the key). */
export function tlsOptions(key: string, t: TlsClientConfig, logger: Logger): tls.ConnectionOptions {
  if (t.insecureSkipVerify) logger.warn(`${key}.insecureSkipVerify is on: the server certificate is not verified`);
  if ((t.certFile === "") !== (t.keyFile === "")) throw new ConfigError(`${key}.certFile`, "certFile and keyFile must be set together");
  const ca = t.caFile !== "" ? readPem(`${key}.caFile`, t.caFile, "CERTIFICATE") : undefined;
  const cert = t.certFile !== "" ? readPem(`${key}.certFile`, t.certFile, "CERTIFICATE") : undefined;
  const keyPem = t.keyFile !== "" ? readPem(`${key}.keyFile`, t.keyFile, "PRIVATE KEY") : undefined;
  const options: tls.ConnectionOptions = { ca, cert, key: keyPem, rejectUnauthorized: !t.insecureSkipVerify };
  if (t.serverName !== "") options.servername = t.serverName;
  try {
    process.getBuiltinModule("node:tls").createSecureContext(options);
  } catch (err) {
    throw new ConfigError(key, `the CA, certificate or key is not usable: ${(err as Error).message}`);
  }
  return options;
}

function readPem(key: string, file: string, kind: string): Buffer {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    throw new ConfigError(key, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!data.includes(kind)) throw new ConfigError(key, `${file} holds no PEM ${kind}`);
  return data;
}
