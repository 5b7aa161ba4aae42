/**
 * A small HTTP(S) client for integration tests and benchmarks: one request, the raw body as a
 * Buffer (no automatic decompression, so Content-Encoding can be asserted), and a new connection
 * per request unless an agent is given (so concurrent requests are really concurrent).
 */
import http from "node:http";
import https from "node:https";
import type { IncomingHttpHeaders } from "node:http";

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** body as UTF-8 */
  text: string;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  /** CA bundle to trust for https (a self-signed certificate in tests). */
  ca?: Buffer | string;
  /** Client certificate and key for mTLS. */
  cert?: Buffer | string;
  key?: Buffer | string;
  /** Basic auth as "user:password". */
  auth?: string;
  timeoutMs?: number;
  agent?: http.Agent | https.Agent | false;
  body?: string;
}

export function httpRequest(url: string, opts: HttpOptions = {}): Promise<HttpResponse> {
  const u = new URL(url);
  const isHttps = u.protocol === "https:";
  const lib = isHttps ? https : http;
  return new Promise<HttpResponse>((resolve, reject) => {
    const req = lib.request(
      u,
      {
        method: opts.method ?? "GET",
        headers: opts.headers,
        agent: opts.agent ?? false,
        auth: opts.auth,
        ...(isHttps ? { ca: opts.ca, cert: opts.cert, key: opts.key } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString("utf8") });
        });
      },
    );
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 30_000}ms: ${url}`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** GET that throws unless the status is 200; returns the body text. */
export async function getText(url: string, opts: HttpOptions = {}): Promise<string> {
  const res = await httpRequest(url, opts);
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}: ${res.text.slice(0, 300)}`);
  return res.text;
}

/** GET returning parsed JSON (throws unless 200). */
export async function getJson<T = unknown>(url: string, opts: HttpOptions = {}): Promise<T> {
  return JSON.parse(await getText(url, opts)) as T;
}
