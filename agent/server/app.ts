import Fastify, { type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { WebConfig } from "../config/sections/web.js";
import { ConfigError } from "../config/errors.js";
import { readPem } from "../tls/pem.js";
import { registerMetricsRoute, type MetricsRouteOptions } from "./metrics-route.js";

export interface AppOptions {
  web: WebConfig;
  logger: Logger;
  metrics: Omit<MetricsRouteOptions, "path" | "maxRequests">;
  ready: () => boolean;
  status: () => Promise<unknown>;
}

/** Endpoints that stay open without credentials so kubelet probes work with basic auth on. */
const UNAUTHENTICATED = new Set(["/healthz", "/readyz"]);

function httpsOptions(web: WebConfig): object | undefined {
  const { certFile, keyFile, clientCaFile } = web.tls;
  if (certFile === "" && keyFile === "") {
    if (clientCaFile !== "") throw new ConfigError("web.tls.clientCaFile", "needs web.tls.certFile and web.tls.keyFile");
    return undefined;
  }
  if (certFile === "" || keyFile === "") throw new ConfigError("web.tls", "certFile and keyFile must be set together");
  return {
    cert: readPem("web.tls.certFile", certFile, { reason: "message" }),
    key: readPem("web.tls.keyFile", keyFile, { reason: "message" }),
    ...(clientCaFile !== ""
      ? { ca: readPem("web.tls.clientCaFile", clientCaFile, { reason: "message" }), requestCert: true, rejectUnauthorized: true }
      : {}),
  };
}

function basicAuthCheck(web: WebConfig): ((header: string | undefined) => boolean) | undefined {
  const { username, passwordFile } = web.basicAuth;
  if (username === "") return undefined;
  if (passwordFile === "") throw new ConfigError("web.basicAuth.passwordFile", "must be set when web.basicAuth.username is set");
  const password = readPem("web.basicAuth.passwordFile", passwordFile, { reason: "message" })
    .toString("utf8")
    .replace(/\r?\n$/, "");
  const expected = Buffer.from(Buffer.from(`${username}:${password}`).toString("base64"));
  // node:crypto only where auth is configured: it costs every node 2.3 MiB of RSS (Node 24).
  const { timingSafeEqual } = process.getBuiltinModule("node:crypto");
  return (header) => {
    // The scheme name is case-insensitive (RFC 7617); the credentials are compared in constant time.
    const m = header === undefined ? null : /^basic +(\S+)$/i.exec(header);
    if (m === null) return false;
    const given = Buffer.from(m[1]);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
}

function noSchemaCompiler(): never {
  throw new Error("nodetap's HTTP routes take no JSON schemas: fastify's schema compilers are not loaded (see buildApp)");
}

export function buildApp(opts: AppOptions): FastifyInstance {
  const https = httpsOptions(opts.web);
  const app = Fastify({
    logger: false,
    ...(https ? { https } : {}),
    // Scrapes of a large host can take a while on a busy node; don't cut them short.
    requestTimeout: 0,
    // No route here has a JSON schema. Without these, fastify loads and runs its schema compilers
    // at start (ajv, fast-json-stringify, fast-uri; with prom-client's exemplar support, left out
    // of the bundle too, 1.4 MiB of idle RSS on Node 24: docs/benchmarks.md, "Memory").
    schemaController: { compilersFactory: { buildValidator: noSchemaCompiler, buildSerializer: noSchemaCompiler } },
  }) as unknown as FastifyInstance;

  const authOk = basicAuthCheck(opts.web);
  if (authOk && !https)
    opts.logger.warn("basic auth is enabled without TLS: credentials travel in clear text (set web.tls.certFile and web.tls.keyFile)");
  if (authOk) {
    app.addHook("onRequest", async (request, reply) => {
      const path = request.url.split("?")[0];
      if (UNAUTHENTICATED.has(path)) return;
      if (!authOk(request.headers.authorization)) {
        return reply.code(401).header("www-authenticate", 'Basic realm="nodetap"').send("Unauthorized\n");
      }
    });
  }

  app.setErrorHandler((err: Error, request, reply) => {
    // The reason goes to the log, not to the client.
    opts.logger.error({ err: err.message, url: request.url.split("?")[0] }, "request failed");
    void reply.code(500).type("text/plain; charset=utf-8").send("internal error; see the agent's log\n");
  });

  registerMetricsRoute(app, { ...opts.metrics, path: opts.web.telemetryPath, maxRequests: opts.web.maxRequests });

  app.get("/", async (_req, reply) =>
    reply
      .type("text/html; charset=utf-8")
      .send(
        `<!doctype html><html><head><title>nodetap</title></head><body><h1>nodetap</h1><ul>` +
          `<li><a href="${opts.web.telemetryPath}">Metrics</a></li><li><a href="/status">Status</a></li>` +
          `<li><a href="/healthz">Health</a></li><li><a href="/readyz">Readiness</a></li></ul></body></html>\n`,
      ),
  );
  app.get("/healthz", async (_req, reply) => reply.type("text/plain; charset=utf-8").send("ok\n"));
  app.get("/readyz", async (_req, reply) => {
    const ready = opts.ready();
    return reply
      .code(ready ? 200 : 503)
      .type("text/plain; charset=utf-8")
      .send(ready ? "ready\n" : "not ready\n");
  });
  app.get("/status", async (_req, reply) =>
    reply.type("application/json; charset=utf-8").send(JSON.stringify(await opts.status(), null, 2)),
  );
  return app;
}

/** Splits node_exporter-style listen addresses (":9100", "host:9100", "[::1]:9100"). */
export function parseListenAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address);
  if (!m)
    throw new ConfigError("web.listenAddress", `${JSON.stringify(address)} is not host:port; allowed: :9100, 127.0.0.1:9100, [::1]:9100`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError("web.listenAddress", `port ${port} is out of range; allowed: 0-65535`);
  const host = m[1] ?? m[2] ?? "";
  return { host: host === "" ? "::" : host, port };
}
