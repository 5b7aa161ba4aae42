import http from "node:http";
import { ALL_GROUPS, metadataGroups } from "./shared/kubernetes-fields.js";
import pino, { type Logger } from "pino";
import { collectIssue, collectIssueAsync, type ConfigIssue } from "../../config/errors.js";
import { writableFileProblem } from "../../config/fs-check.js";
import type { SinkConfig } from "./config.js";
import { createElasticsearchSink } from "./elasticsearch/index.js";
import { HttpTransport } from "./http/transport.js";
import { authHeaders } from "./http-client/auth.js";
import { HttpClient } from "./http-client/client.js";
import type { HttpClientConfig } from "./http-client/config.js";
import { createSink } from "./index.js";
import { LokiEncoder } from "./loki/encoder.js";
import { resolveSecretValues } from "./shared/secrets.js";
import type { TlsClientConfig } from "./shared/tls-config.js";
import { tlsOptions } from "./shared/tls-options.js";
import { createSyslogSink } from "./syslog/index.js";

// Every check `run` makes of logs.sink.* before the first record is sent, as one pure pass that
// reports all problems instead of the first: check-config and run both call it (through
// agent/logs/validate-config.ts) before anything starts. It does not restate the sinks' rules: it
// calls their own checks (constructors, start() of a transport that opens nothing, the shared
// secret, auth and TLS helpers) piece by piece, so each piece can fail on its own. Nothing is
// connected, listened on or written; env variables and files the config refers to are read
// (env:/file: secrets, TLS files), unless `offline`, which lists them as notes instead.

export interface SinkCheckOptions {
  env: NodeJS.ProcessEnv;
  /** Do not read the env variables and files the config refers to; each one becomes a note. */
  offline?: boolean;
  /** Keys set explicitly (file, env or flag): settings of another sink than the chosen one get a warning. */
  explicit?: ReadonlySet<string>;
}

const SINK_SECTIONS = ["file", "http", "loki", "elasticsearch", "otlp", "syslog"] as const;

/** Header names are HTTP tokens (RFC 9110). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Problems with the sink settings: errors, warnings (settings with no effect, insecure TLS) and notes (not read, offline). */
export async function validateSinkConfig(sink: SinkConfig, opts: SinkCheckOptions): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const check = new SinkChecker(issues, opts);
  for (const key of opts.explicit ?? []) {
    const section = /^logs\.sink\.([A-Za-z]+)\./.exec(key)?.[1];
    if (section !== undefined && (SINK_SECTIONS as readonly string[]).includes(section) && section !== sink.type) {
      check.warn(key, `has no effect: logs.sink.type is ${sink.type}`);
    }
  }
  if (sink.deadLetter.path !== "") check.writable("logs.sink.deadLetter.path", sink.deadLetter.path);
  const groups = metadataGroups(sink.kubernetesMetadata);
  if (typeof groups === "string") issues.push({ severity: "error", key: "logs.sink.kubernetesMetadata", problem: groups });
  switch (sink.type) {
    case "stdout":
      break;
    case "file":
      // The file sink's own check (path required) runs when the sink is built.
      if (collectIssue(issues, () => createSink(sink, "/", check.logger)) !== undefined)
        check.writable("logs.sink.file.path", sink.file.path);
      break;
    case "http":
      await check.httpSink(sink.http);
      break;
    case "loki":
      check.loki(sink.loki);
      break;
    case "elasticsearch":
      check.elasticsearch(sink.elasticsearch);
      break;
    case "otlp":
      check.httpClient("logs.sink.otlp", sink.otlp, "/v1/logs");
      break;
    case "syslog":
      await check.syslog(sink.syslog);
      break;
  }
  return issues;
}

class SinkChecker {
  /** Turns the sinks' own start-up warnings ("KEY is on: ...") into warning issues. */
  readonly logger: Logger;

  constructor(
    private readonly issues: ConfigIssue[],
    private readonly opts: SinkCheckOptions,
  ) {
    this.logger = pino(
      { level: "warn" },
      {
        write: (line: string) => {
          const msg = String((JSON.parse(line) as { msg?: unknown }).msg ?? "");
          const m = /^(logs\.\S+) (.*)$/.exec(msg);
          this.warn(m?.[1] ?? "logs.sink", m?.[2] ?? msg);
        },
      },
    );
  }

  warn(key: string, problem: string): void {
    if (!this.issues.some((i) => i.severity === "warning" && i.key === key && i.problem === problem)) {
      this.issues.push({ severity: "warning", key, problem });
    }
  }

  private error(key: string, problem: string): void {
    this.issues.push({ severity: "error", key, problem });
  }

  private note(key: string, problem: string): void {
    this.issues.push({ severity: "note", key, problem });
  }

  /** An output file the sink appends to (its directory created at start): it must be creatable and writable. */
  writable(key: string, file: string): void {
    if (this.opts.offline) {
      this.note(key, "not checked (--offline): whether the file can be written");
      return;
    }
    const problem = writableFileProblem(file);
    if (problem !== undefined) this.error(key, `${file} cannot be written (${problem}); choose a path in a writable directory`);
  }

  private explicit(prefix: string): string[] {
    return [...(this.opts.explicit ?? [])].filter((k) => k.startsWith(prefix));
  }

  /** logs.sink.http: the transport's own URL checks, then headers and TLS. */
  async httpSink(c: SinkConfig["http"]): Promise<void> {
    // HttpTransport.start() checks the URL first; with no headers and no TLS files it reads
    // nothing and opens nothing (an http.Agent connects on first request only).
    const urlOnly = { ...c, headers: {}, tls: { ...c.tls, caFile: "", certFile: "", keyFile: "" } };
    await collectIssueAsync(this.issues, async () => {
      const transport = new HttpTransport(urlOnly, "application/x-ndjson", this.logger);
      await transport.start();
      await transport.close();
    });
    this.headers("logs.sink.http.headers", c.headers);
    // The http sink uses its TLS settings for https URLs only.
    if (schemeOf(c.url) === "https:") this.tls("logs.sink.http.tls", { ...c.tls, serverName: "", insecureSkipVerify: false });
  }

  /** The shared HTTP client of loki, elasticsearch and otlp: URL, headers, auth and TLS. */
  httpClient(key: string, c: HttpClientConfig & { auth: { apiKey?: string } }, defaultPath?: string): void {
    const poster = collectIssue(this.issues, () => new HttpClient(key, c, this.logger, { defaultPath }));
    this.headers(`${key}.headers`, c.headers);
    this.auth(key, c.auth);
    const scheme = poster?.url.protocol ?? schemeOf(c.url);
    if (scheme === "http:") {
      if (c.tls.caFile !== "" || c.tls.certFile !== "") this.warn(`${key}.tls`, "is set but the URL is http: TLS settings are not used");
    } else {
      this.tls(`${key}.tls`, c.tls);
    }
  }

  loki(c: SinkConfig["loki"]): void {
    this.httpClient("logs.sink.loki", c, "/loki/api/v1/push");
    // The encoder checks labels and static label names; one at a time, so each bad one is reported.
    for (const label of c.labels) collectIssue(this.issues, () => new LokiEncoder(c.encoding, [label], {}));
    for (const name of Object.keys(c.staticLabels)) collectIssue(this.issues, () => new LokiEncoder(c.encoding, [], { [name]: "" }));
    for (const [key, name] of Object.entries(c.podLabels))
      collectIssue(this.issues, () => new LokiEncoder(c.encoding, [], c.staticLabels, { [key]: name }));
    if (c.tenantId !== "") this.secret("logs.sink.loki", "tenantId", c.tenantId);
    if (c.encoding === "protobuf") {
      for (const key of ["logs.sink.loki.compression", "logs.sink.loki.compressionLevel"]) {
        if (this.opts.explicit?.has(key)) this.warn(key, "has no effect: logs.sink.loki.encoding is protobuf (always snappy)");
      }
    }
  }

  elasticsearch(c: SinkConfig["elasticsearch"]): void {
    this.httpClient("logs.sink.elasticsearch", c);
    // The sink's own index checks (data stream name without a date pattern, valid index name);
    // the URL is checked above, so a placeholder keeps its error from showing twice.
    collectIssue(this.issues, () => createElasticsearchSink({ ...c, url: "http://placeholder" }, this.logger, ALL_GROUPS));
  }

  async syslog(c: SinkConfig["syslog"]): Promise<void> {
    // Message size for udp, facility: checked when the sink is built.
    collectIssue(this.issues, () => createSyslogSink(c, this.logger, ALL_GROUPS));
    // The address is checked by the transport's start(); as tcp it connects on first use only.
    await collectIssueAsync(this.issues, async () => {
      const { transport } = createSyslogSink({ ...c, transport: "tcp", maxMessageBytes: 0 }, this.logger, ALL_GROUPS);
      try {
        await transport.start();
      } finally {
        await transport.close();
      }
    });
    if (c.transport === "tls") this.tls("logs.sink.syslog.tls", c.tls);
    else
      for (const key of this.explicit("logs.sink.syslog.tls."))
        this.warn(key, `has no effect: logs.sink.syslog.transport is ${c.transport}`);
  }

  /** Header names must be HTTP tokens; values (env:/file: resolved) must be header-safe. Neither is ever printed. */
  private headers(key: string, headers: Readonly<Record<string, string>>): void {
    const entries = Object.entries(headers);
    for (const [i, [name, raw]] of entries.entries()) {
      if (!HEADER_NAME.test(name)) {
        // Not even the name is shown: a malformed header often is "Authorization: Bearer ..." in one piece.
        this.error(
          key,
          `header ${i + 1} of ${entries.length}: the name is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~; not shown)`,
        );
        continue;
      }
      const value = this.secret(key, name, raw);
      if (value === undefined) continue;
      try {
        http.validateHeaderValue(name, value);
      } catch {
        this.error(`${key}.${name}`, "the value holds characters not allowed in an HTTP header (not shown)");
      }
    }
  }

  /** auth.*: each value resolved on its own (env:/file:), then the sink's own rules on which may be combined. */
  private auth(key: string, auth: HttpClientConfig["auth"] & { apiKey?: string }): void {
    const given: Record<string, string> = {};
    for (const [name, raw] of Object.entries(auth)) {
      if (raw === "") continue;
      this.secret(`${key}.auth`, name, raw);
      // The combination rules only look at which are set; a stand-in keeps the secret out of them.
      given[name] = "set";
    }
    const stand = { username: given.username ?? "", password: given.password ?? "", bearerToken: given.bearerToken ?? "" };
    collectIssue(this.issues, () => authHeaders(key, given.apiKey !== undefined ? { ...stand, apiKey: given.apiKey } : stand));
  }

  /** Resolves one env:/file: value as the sink will at start (errors name the key, never the value). */
  private secret(key: string, name: string, raw: string): string | undefined {
    if (this.opts.offline && /^(env|file):/.test(raw)) {
      this.note(`${key}.${name}`, `not read (--offline): refers to ${raw.startsWith("env:") ? "an environment variable" : "a file"}`);
      return undefined;
    }
    return collectIssue(this.issues, () => resolveSecretValues(key, { [name]: raw }, this.opts.env))?.[name];
  }

  /**
   * tlsOptions, the sinks' TLS check, in three calls so each part fails on its own: settings only
   * (the insecureSkipVerify warning), the CA file, the certificate and key (set together, readable,
   * PEM, matching). A certificate without a key is found without reading anything.
   */
  private tls(key: string, t: TlsClientConfig): void {
    const none = { ...t, caFile: "", certFile: "", keyFile: "" };
    collectIssue(this.issues, () => tlsOptions(key, none, this.logger));
    const quiet = { ...none, insecureSkipVerify: false };
    const paired = (t.certFile === "") === (t.keyFile === "");
    if (!paired) collectIssue(this.issues, () => tlsOptions(key, { ...quiet, certFile: t.certFile, keyFile: t.keyFile }, this.logger));
    if (this.opts.offline) {
      for (const [name, file] of [
        ["caFile", t.caFile],
        ["certFile", t.certFile],
        ["keyFile", t.keyFile],
      ] as const) {
        if (file !== "" && (paired || name === "caFile")) this.note(`${key}.${name}`, "not read (--offline)");
      }
      return;
    }
    if (t.caFile !== "") collectIssue(this.issues, () => tlsOptions(key, { ...quiet, caFile: t.caFile }, this.logger));
    if (paired && t.certFile !== "") {
      collectIssue(this.issues, () => tlsOptions(key, { ...quiet, certFile: t.certFile, keyFile: t.keyFile }, this.logger));
    }
  }
}

function schemeOf(url: string): string | undefined {
  try {
    return new URL(url).protocol;
  } catch {
    return undefined;
  }
}
