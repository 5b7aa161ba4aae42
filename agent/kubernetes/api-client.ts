import type https from "node:https";
import type { IncomingMessage } from "node:http";
import { VERSION } from "../version.js";
import { ApiError, httpError, socketError, watchErrorEvent } from "./api-error.js";
import { WATCH_EVENT_TYPES, type WatchEvent } from "./kube-types.js";
import { LineSplitter, MAX_EVENT_LINE_BYTES } from "./ndjson.js";
import type { TokenSource } from "./token.js";

export interface ApiClientOptions {
  /** Base URL (settings.ts): scheme, host, port and any path prefix. */
  readonly apiServer: string;
  readonly token: TokenSource;
  /** PEM CA bundle; undefined: the system's. */
  readonly ca?: string | Buffer;
  /** Connecting plus waiting for the response headers, and the longest silence while a LIST body comes. */
  readonly requestTimeoutMs?: number;
  /** Cap on one LIST page's body. */
  readonly maxListBytes?: number;
  /** Cap on one watch event line. */
  readonly maxEventLineBytes?: number;
}

export interface WatchHandlers {
  /** The server accepted the watch (2xx headers came). */
  onOpen?(): void;
  /** Every event but ERROR (which ends the watch with an ApiError), in order. */
  onEvent(event: WatchEvent): void;
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

const ERROR_BODY_CAP = 64 * 1024;

/** Thrown when a request ends because its signal aborted (stop()); not an API failure. */
export class AbortedError extends Error {
  constructor() {
    super("aborted");
    this.name = "AbortedError";
  }
}

/**
 * A minimal Kubernetes API client on node:https: GET a JSON document, or stream a watch. One
 * keep-alive agent holds the connections (the CA is set on it). A 401 makes the token file be
 * re-read; when that gives another token the request is retried once at once (the kubelet rotated
 * it), else the 401 is the caller's to handle (backoff; every later attempt re-reads the file).
 */
export class ApiClient {
  private readonly agent: https.Agent;
  private readonly requestTimeoutMs: number;
  private readonly maxListBytes: number;
  private readonly maxEventLineBytes: number;

  constructor(private readonly opts: ApiClientOptions) {
    // node:https is loaded here, not at import: it costs ~9 MiB of RSS (OpenSSL, TLS), and metadata is
    // often off (outside a cluster). The bundle's lazy shims (scripts/bundle-shims) do not cover agent code.
    this.agent = new (process.getBuiltinModule("node:https").Agent)({ keepAlive: true, maxSockets: 8, ca: opts.ca, scheduling: "lifo" });
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.maxListBytes = opts.maxListBytes ?? 128 * 1024 * 1024;
    this.maxEventLineBytes = opts.maxEventLineBytes ?? MAX_EVENT_LINE_BYTES;
  }

  /** GET `path` and parse the JSON body. */
  async getJson<T>(path: string, query: Query, signal: AbortSignal): Promise<T> {
    const res = await this.open(path, query, signal);
    const body = await readBody(res, this.maxListBytes, signal, this.requestTimeoutMs);
    try {
      return JSON.parse(body) as T;
    } catch (err) {
      throw new ApiError(`GET ${path}: the response is not JSON (${(err as Error).message})`, "decode");
    }
  }

  /**
   * Streams a watch: calls onEvent for every event line in order, and resolves when the server
   * ends the response (its timeoutSeconds). Rejects with an ApiError for an ERROR event (410 Gone
   * included), a line that is not a watch event, an over-size line, a silence longer than
   * `idleTimeoutMs`, or a broken connection; with AbortedError when `signal` aborts.
   */
  async watch(path: string, query: Query, handlers: WatchHandlers, signal: AbortSignal, idleTimeoutMs: number): Promise<void> {
    const res = await this.open(path, query, signal);
    handlers.onOpen?.();
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const idle = setTimeout(() => finish(new ApiError(`the watch was silent for ${idleTimeoutMs} ms`, "timeout")), idleTimeoutMs);
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(idle);
        signal.removeEventListener("abort", onAbort);
        if (err === undefined) resolve();
        else {
          res.destroy();
          reject(err);
        }
      };
      const onAbort = () => finish(new AbortedError());
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort();
      const splitter = new LineSplitter(
        (line) => {
          if (done) return;
          let event: WatchEvent;
          try {
            event = parseEvent(line);
          } catch (err) {
            finish(err);
            return;
          }
          if (event.type === "ERROR") {
            finish(watchErrorEvent(event.object));
            return;
          }
          try {
            handlers.onEvent(event);
          } catch (err) {
            finish(err);
          }
        },
        (err) => finish(new ApiError(err.message, "oversize")),
        this.maxEventLineBytes,
      );
      res.on("data", (chunk: Buffer) => {
        if (done) return;
        idle.refresh();
        splitter.push(chunk);
      });
      res.on("end", () => {
        if (done) return;
        splitter.end();
        finish();
      });
      res.on("error", (err) => finish(socketError(err, this.opts.apiServer)));
      res.on("close", () => {
        if (!res.complete) finish(new ApiError(`${this.opts.apiServer} closed the watch connection mid-response`, "connection"));
      });
    });
  }

  /** Closes the pooled connections. */
  close(): void {
    this.agent.destroy();
  }

  /** Sends the GET and resolves with a 2xx response; any other status becomes an ApiError (after one retry on a rotated token). */
  private async open(path: string, query: Query, signal: AbortSignal): Promise<IncomingMessage> {
    let token: string;
    try {
      token = await this.opts.token.get();
    } catch (err) {
      throw new ApiError((err as Error).message, "token");
    }
    const res = await this.send(path, query, token, signal);
    if (res.statusCode !== 401) return this.checkStatus(res, signal);
    await readBody(res, ERROR_BODY_CAP, signal, this.requestTimeoutMs).catch(() => "");
    this.opts.token.invalidate();
    let fresh: string;
    try {
      fresh = await this.opts.token.get();
    } catch (err) {
      throw new ApiError(`HTTP 401 Unauthorized, and ${(err as Error).message}`, "token", 401);
    }
    if (fresh === token) throw new ApiError("HTTP 401 Unauthorized: the token in the token file was rejected", "unauthorized", 401);
    return this.checkStatus(await this.send(path, query, fresh, signal), signal);
  }

  private async checkStatus(res: IncomingMessage, signal: AbortSignal): Promise<IncomingMessage> {
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const body = await readBody(res, ERROR_BODY_CAP, signal, this.requestTimeoutMs).catch(() => "");
    throw httpError(status, body);
  }

  /** Sends the GET; resolves at the response headers. Connecting and waiting for them is bounded by requestTimeoutMs. */
  private send(path: string, query: Query, token: string, signal: AbortSignal): Promise<IncomingMessage> {
    if (signal.aborted) return Promise.reject(new AbortedError());
    const url = new URL(this.opts.apiServer + path);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    return new Promise((resolve, reject) => {
      let settled = false;
      const req = process.getBuiltinModule("node:https").request(url, {
        method: "GET",
        agent: this.agent,
        headers: { Accept: "application/json", Authorization: `Bearer ${token}`, "User-Agent": `nodetap/${VERSION}` },
      });
      const fail = (err: unknown) => {
        clearTimeout(headersTimer);
        signal.removeEventListener("abort", onAbort);
        if (settled) return;
        settled = true;
        reject(err);
      };
      const onAbort = () => {
        req.destroy();
        fail(new AbortedError());
      };
      signal.addEventListener("abort", onAbort, { once: true });
      const headersTimer = setTimeout(() => {
        const err = new ApiError(`${this.opts.apiServer} sent no response within ${this.requestTimeoutMs} ms`, "timeout");
        req.destroy(err);
        fail(err);
      }, this.requestTimeoutMs);
      req.on("error", (err) => fail(err instanceof ApiError ? err : socketError(err, this.opts.apiServer)));
      req.on("response", (res) => {
        clearTimeout(headersTimer);
        signal.removeEventListener("abort", onAbort);
        if (settled) {
          res.resume();
          return;
        }
        settled = true;
        // Abort while the body is read is the reader's business (readBody, watch).
        resolve(res);
      });
      req.end();
    });
  }
}

/** Reads a whole body as UTF-8; over `cap` bytes, or silent for `idleMs`, it gives up with an ApiError. */
function readBody(res: IncomingMessage, cap: number, signal: AbortSignal, idleMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let done = false;
    const idle = setTimeout(() => finish(new ApiError(`the response body was silent for ${idleMs} ms`, "timeout")), idleMs);
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      signal.removeEventListener("abort", onAbort);
      if (err === undefined) resolve(Buffer.concat(chunks).toString("utf8"));
      else {
        res.destroy();
        reject(err);
      }
    };
    const onAbort = () => finish(new AbortedError());
    if (signal.aborted) return finish(new AbortedError());
    signal.addEventListener("abort", onAbort, { once: true });
    res.on("data", (chunk: Buffer) => {
      if (done) return;
      idle.refresh();
      bytes += chunk.length;
      if (bytes > cap) finish(new ApiError(`a response body exceeded ${cap} bytes`, "oversize"));
      else chunks.push(chunk);
    });
    res.on("end", () => finish());
    res.on("error", (err) => finish(err instanceof ApiError ? err : new ApiError(`the response broke off: ${err.message}`, "connection")));
    res.on("close", () => {
      if (!res.complete) finish(new ApiError("the connection closed mid-response", "connection"));
    });
  });
}

function parseEvent(line: string): WatchEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new ApiError(`a watch event line is not JSON (${(err as Error).message})`, "decode");
  }
  const event = parsed as Partial<WatchEvent> | null;
  if (
    event === null ||
    typeof event !== "object" ||
    typeof event.type !== "string" ||
    !WATCH_EVENT_TYPES.has(event.type) ||
    event.object === null ||
    typeof event.object !== "object"
  ) {
    throw new ApiError(`a watch event line is not a watch event: ${line.slice(0, 120)}`, "decode");
  }
  return event as WatchEvent;
}
