import { execFileSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import os from "node:os";
import path from "node:path";

/**
 * An in-process stand-in for kube-apiserver: HTTPS with a self-signed certificate (made with the
 * openssl CLI), every request recorded, each answered by the next responder a test queued for its
 * collection path, or by
 * the fallback (an empty LIST; a watch held open until the test ends it).
 */

export interface TlsFiles {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
}

/** A self-signed P-256 certificate for 127.0.0.1 and localhost; it is its own CA (kubernetes.caFile). */
export function makeSelfSignedCert(): TlsFiles {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-k8s-tls-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      "key.pem",
      "-out",
      "cert.pem",
    ],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
  );
  return { dir, cert: path.join(dir, "cert.pem"), key: path.join(dir, "key.pem") };
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  readonly watch: boolean;
}

/** An open watch response: write events, raw bytes, or end it. */
export class WatchStream {
  constructor(
    readonly res: ServerResponse,
    readonly request: RecordedRequest,
  ) {}

  event(type: string, object: unknown): void {
    this.res.write(JSON.stringify({ type, object }) + "\n");
  }

  raw(text: string | Buffer): void {
    this.res.write(text);
  }

  /** The server's normal end of a watch (its timeoutSeconds ran out). */
  end(): void {
    this.res.end();
  }

  /** A broken connection. */
  reset(): void {
    this.res.socket?.destroy();
  }
}

export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly request: RecordedRequest;
  /** Answers 200 and keeps the response open as a watch stream. */
  openWatch(): WatchStream;
}

export type Responder = (x: Exchange) => void;

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly watches: WatchStream[] = [];
  private readonly queues = new Map<string, Responder[]>();
  private readonly sockets = new Set<Socket>();
  fallback: Responder = (x) => {
    if (x.request.watch) x.openWatch();
    else sendJson(x.res, 200, list([], "1"));
  };

  private constructor(
    private readonly server: https.Server,
    readonly url: string,
  ) {}

  static async start(tls: TlsFiles): Promise<FakeApiServer> {
    const server = https.createServer({ cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const fake = new FakeApiServer(server, `https://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on("secureConnection", (socket: Socket) => {
      fake.sockets.add(socket);
      socket.on("close", () => fake.sockets.delete(socket));
    });
    server.on("request", (req: IncomingMessage, res: ServerResponse) => fake.handle(req, res));
    return fake;
  }

  /** Queues responders for requests to `collection` (e.g. /api/v1/pods), used one per request in order. */
  push(collection: string, ...responders: Responder[]): void {
    const queue = this.queues.get(collection) ?? [];
    queue.push(...responders);
    this.queues.set(collection, queue);
  }

  /** Requests to one collection path (e.g. /api/v1/pods). */
  requestsTo(p: string, watch?: boolean): RecordedRequest[] {
    return this.requests.filter((r) => r.path === p && (watch === undefined || r.watch === watch));
  }

  /** The latest watch opened on `collection`. */
  lastWatch(collection: string): WatchStream {
    const w = this.watches.filter((x) => x.request.path === collection).at(-1);
    if (w === undefined) throw new Error(`no watch open on ${collection}`);
    return w;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", this.url);
    const request: RecordedRequest = {
      method: req.method ?? "",
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
      watch: url.searchParams.get("watch") === "true",
    };
    this.requests.push(request);
    const responder = this.queues.get(url.pathname)?.shift() ?? this.fallback;
    responder({
      req,
      res,
      request,
      openWatch: () => {
        res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
        res.flushHeaders();
        const stream = new WatchStream(res, request);
        this.watches.push(stream);
        return stream;
      },
    });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** A metav1.Status body, as the API server sends with an error. */
export function statusBody(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

export function list(items: unknown[], resourceVersion: string, cont?: string): Record<string, unknown> {
  return { kind: "List", apiVersion: "v1", metadata: { resourceVersion, ...(cont ? { continue: cont } : {}) }, items };
}

/** Responders for the common answers. */
export const answer = {
  list:
    (items: unknown[], resourceVersion: string, cont?: string): Responder =>
    (x) =>
      sendJson(x.res, 200, list(items, resourceVersion, cont)),
  status:
    (code: number, reason: string, message: string): Responder =>
    (x) =>
      sendJson(x.res, code, statusBody(code, reason, message)),
  /** Drops the connection without an answer. */
  reset: (): Responder => (x) => x.req.socket.destroy(),
  /** Opens a watch, sends these events, then ends it normally. */
  watchThenEnd:
    (...events: Array<[string, unknown]>): Responder =>
    (x) => {
      const w = x.openWatch();
      for (const [type, object] of events) w.event(type, object);
      w.end();
    },
};

export interface PodSpec {
  uid: string;
  name: string;
  namespace?: string;
  rv?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  owner?: { kind: string; name: string; apiVersion?: string };
  containers?: Array<{ name: string; image: string }>;
  nodeName?: string;
}

/** A pod object as the API sends it, with the noise (status, managedFields) the slim copy drops. */
export function pod(p: PodSpec): Record<string, unknown> {
  return {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name: p.name,
      namespace: p.namespace ?? "default",
      uid: p.uid,
      resourceVersion: p.rv ?? "1",
      labels: p.labels ?? {},
      annotations: p.annotations ?? {},
      ownerReferences: p.owner
        ? [{ apiVersion: p.owner.apiVersion ?? "apps/v1", kind: p.owner.kind, name: p.owner.name, uid: "owner-uid", controller: true }]
        : undefined,
      managedFields: [{ manager: "kubelet", operation: "Update", fieldsV1: { "f:status": {} } }],
    },
    spec: { nodeName: p.nodeName ?? "node-a", containers: p.containers ?? [{ name: "app", image: "nginx:1.27" }] },
    status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
  };
}

export function namespaceObj(name: string, rv: string, labels: Record<string, string> = {}): Record<string, unknown> {
  return { kind: "Namespace", apiVersion: "v1", metadata: { name, uid: `ns-${name}`, resourceVersion: rv, labels } };
}

export function bookmark(kind: string, rv: string): Record<string, unknown> {
  return { kind, apiVersion: "v1", metadata: { resourceVersion: rv } };
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
