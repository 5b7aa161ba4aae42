import fs from "node:fs";
import path from "node:path";
import { collectIssue, type ConfigIssue } from "./errors.js";
import { readConfig, type ReadConfig } from "./load.js";
import type { AgentConfig } from "./root.js";
import { defaultsOf } from "./schema.js";
import { logsSchema, type LogsConfig } from "./sections/logs.js";
import type { WebConfig } from "./sections/web.js";
import { fileSourceSpecs } from "../logs/sources/file-source-spec.js";
import { LOCAL_STATE_DIR } from "../logs/state-dir.js";
import { validateSinkConfig } from "../logs/sinks/validate-sink-config.js";
import { parseListenAddress } from "../server/app.js";
import { writableDirProblem } from "./fs-check.js";

export { writableDirProblem } from "./fs-check.js";

/**
 * The one validation pass after the config is read: every check that `run` would make before it
 * serves or ships anything, made without starting anything, so that `check-config` refuses what
 * `run` refuses and both report every problem at once. Each section's check is the code that
 * section runs at start (the server's listen address parser, the file sources' spec builder, the
 * sinks' own checks), called so that one problem does not hide the next.
 *
 * It reads what the config refers to (env:/file: secrets, TLS and password files, the checkpoint
 * directory's permissions) but writes, binds and connects nothing. With `offline`
 * (check-config --offline) those reads are skipped and each is listed as a note.
 */
export interface ValidateOptions {
  /** Keys set explicitly: settings that do nothing for the chosen sink get a warning. */
  explicit?: ReadonlySet<string>;
  /** Where each explicit key came from, added to its issues (`in FILE`, `env NAME`, `flag --name`). */
  sources?: ReadonlyMap<string, string>;
  /** Keys whose given value was rejected while reading: their checks would only repeat the error. */
  failed?: ReadonlySet<string>;
  offline?: boolean;
}

export async function validateConfig(
  config: AgentConfig,
  env: NodeJS.ProcessEnv = process.env,
  opts: ValidateOptions = {},
): Promise<ConfigIssue[]> {
  const v = new Validator(env, opts);
  v.web(config.web);
  await v.logs(config.logs);
  return v.result();
}

/** Reads the configuration (argv, env, file) and validates it: every error, warning and note, in that order of discovery. */
export async function checkConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ read: ReadConfig; issues: ConfigIssue[] }> {
  const read = readConfig(argv, env);
  const checked = await validateConfig(read.config, env, {
    explicit: read.explicit,
    sources: read.sources,
    failed: read.failed,
    offline: read.offline,
  });
  return { read, issues: [...read.issues, ...checked] };
}

class Validator {
  readonly issues: ConfigIssue[] = [];
  private readonly failed: ReadonlySet<string>;
  private readonly explicit: ReadonlySet<string>;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly opts: ValidateOptions,
  ) {
    this.failed = opts.failed ?? new Set();
    this.explicit = opts.explicit ?? new Set();
  }

  /** Issues with the source of their key added; none about a key whose value was already rejected. */
  result(): ConfigIssue[] {
    return this.issues
      .filter((i) => !this.failedUnder(i.key))
      .map((i) => (i.source !== undefined ? i : { ...i, source: this.sourceOf(i.key) }))
      .map((i) => (i.source === undefined ? { severity: i.severity, key: i.key, problem: i.problem } : i));
  }

  /** The source of the key or the closest key above it; for a section (web.tls), the one source of the keys under it. */
  private sourceOf(key: string): string | undefined {
    const sources = this.opts.sources ?? new Map<string, string>();
    for (let k = key; k !== ""; k = k.includes(".") ? k.slice(0, k.lastIndexOf(".")) : "") {
      const s = sources.get(k);
      if (s !== undefined) return s;
    }
    const below = new Set([...sources].filter(([k]) => k.startsWith(`${key}.`)).map(([, s]) => s));
    return below.size === 1 ? [...below][0] : undefined;
  }

  /**
   * Whether a key, a key under it or above it was rejected while reading: that key kept its
   * default, so a check involving it (web.tls, when web.tls.certFile was rejected) would mislead.
   */
  private failedUnder(prefix: string): boolean {
    for (const k of this.failed) if (k === prefix || k.startsWith(`${prefix}.`) || prefix.startsWith(`${k}.`)) return true;
    return false;
  }

  private add(severity: ConfigIssue["severity"], key: string, problem: string): void {
    this.issues.push({ severity, key, problem });
  }

  private unused(prefix: string, reason: string, except: readonly string[] = []): void {
    for (const key of this.explicit) {
      if (key.startsWith(prefix) && !except.includes(key)) this.add("warning", key, `has no effect: ${reason}`);
    }
  }

  /** The server's settings, as buildApp and Agent.start use them (agent/server/app.ts). */
  web(web: WebConfig): void {
    collectIssue(this.issues, () => parseListenAddress(web.listenAddress));
    const reserved = ["/", "/healthz", "/readyz", "/status"];
    if (!web.telemetryPath.startsWith("/")) {
      this.add(
        "error",
        "web.telemetryPath",
        `${JSON.stringify(web.telemetryPath)} is not a path; allowed: a path starting with /, e.g. /metrics`,
      );
    } else if (reserved.includes(web.telemetryPath)) {
      this.add(
        "error",
        "web.telemetryPath",
        `${web.telemetryPath} is one of nodetap's own endpoints (${reserved.join(", ")}); choose another path`,
      );
    }
    this.webTls(web.tls);
    this.basicAuth(web.basicAuth);
  }

  private webTls(t: WebConfig["tls"]): void {
    const { certFile, keyFile, clientCaFile } = t;
    if (certFile === "" && keyFile === "") {
      if (clientCaFile !== "") this.add("error", "web.tls.clientCaFile", "needs web.tls.certFile and web.tls.keyFile");
      return;
    }
    if (certFile === "" || keyFile === "") {
      this.add("error", "web.tls", "certFile and keyFile must be set together");
      return;
    }
    const files: Array<[string, string]> = [
      ["web.tls.certFile", certFile],
      ["web.tls.keyFile", keyFile],
    ];
    if (clientCaFile !== "") files.push(["web.tls.clientCaFile", clientCaFile]);
    if (this.opts.offline) {
      for (const [key] of files) this.add("note", key, "not read (--offline)");
      return;
    }
    const data: Record<string, Buffer> = {};
    for (const [key, file] of files) {
      try {
        data[key] = fs.readFileSync(file);
      } catch (err) {
        this.add("error", key, `cannot read ${file}: ${(err as Error).message}`);
      }
    }
    if (Object.keys(data).length !== files.length) return;
    try {
      process
        .getBuiltinModule("node:tls")
        .createSecureContext({ cert: data["web.tls.certFile"], key: data["web.tls.keyFile"], ca: data["web.tls.clientCaFile"] });
    } catch (err) {
      this.add("error", "web.tls", `the certificate, key or client CA is not usable: ${(err as Error).message}`);
    }
  }

  private basicAuth(b: WebConfig["basicAuth"]): void {
    if (b.username === "") {
      if (b.passwordFile !== "") this.unused("web.basicAuth.passwordFile", "web.basicAuth.username is not set");
      return;
    }
    if (b.passwordFile === "") {
      this.add("error", "web.basicAuth.passwordFile", "must be set when web.basicAuth.username is set");
      return;
    }
    if (this.opts.offline) {
      this.add("note", "web.basicAuth.passwordFile", "not read (--offline)");
      return;
    }
    try {
      fs.readFileSync(b.passwordFile);
    } catch (err) {
      // The key is secret-bearing: its value (the path) is not shown.
      this.add("error", "web.basicAuth.passwordFile", `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? "unknown error"}`);
    }
  }

  /** The log pipeline's settings, as LogPipelineRunner's constructor and start() use them. */
  async logs(logs: LogsConfig): Promise<void> {
    if (this.failedUnder("logs.enabled")) return;
    if (!logs.enabled) {
      this.unused("logs.", "logs.enabled is false", ["logs.enabled"]);
      return;
    }
    this.sources(logs);
    if (!logs.sources.pods.enabled) this.unused("logs.sources.pods.", "logs.sources.pods.enabled is false", ["logs.sources.pods.enabled"]);
    if (!logs.sources.host.enabled) this.unused("logs.sources.host.", "logs.sources.host.enabled is false", ["logs.sources.host.enabled"]);
    if (!logs.sources.journald.enabled) {
      this.unused("logs.sources.journald.", "logs.sources.journald.enabled is false", ["logs.sources.journald.enabled"]);
    }
    this.checkpointDir(logs.checkpoint.dir);
    // With the sink type rejected, the default type's checks would be about a sink nobody chose.
    if (!this.failedUnder("logs.sink.type")) {
      this.issues.push(...(await validateSinkConfig(logs.sink, { env: this.env, offline: this.opts.offline, explicit: this.explicit })));
    }
  }

  /**
   * fileSourceSpecs (agent/logs/sources) checks the sources and throws on the first problem; it is
   * called once per include glob and once per multiline section, the other sources at their
   * (valid) defaults, so every problem is reported.
   */
  private sources(logs: LogsConfig): void {
    const defaults = defaultsOf(logsSchema).sources;
    for (const name of ["pods", "host", "files"] as const) {
      const src = logs.sources[name];
      const only = (part: Partial<LogsConfig["sources"][typeof name]>): LogsConfig => ({
        ...logs,
        sources: { ...defaults, [name]: { ...defaults[name], include: [], ...part } },
      });
      for (const glob of src.include) collectIssue(this.issues, () => fileSourceSpecs(only({ include: [glob] })));
      collectIssue(this.issues, () => fileSourceSpecs(only({ multiline: src.multiline })));
    }
  }

  /**
   * resolveStateDir (agent/logs/state-dir.ts) creates the directory and writes a probe file; this
   * check creates nothing: the directory, or its nearest existing parent, must be a writable
   * directory. Outside a cluster the default directory falls back to ./.nodetap-state, as run does.
   */
  private checkpointDir(dir: string): void {
    if (this.opts.offline) {
      this.add("note", "logs.checkpoint.dir", "not checked (--offline): whether the directory is writable");
      return;
    }
    const problem = writableDirProblem(dir);
    if (problem === undefined) return;
    const isDefault = dir === logsSchema.checkpoint.dir.default;
    const inCluster = (this.env.KUBERNETES_SERVICE_HOST ?? "") !== "";
    if (isDefault && !inCluster && writableDirProblem(path.resolve(LOCAL_STATE_DIR)) === undefined) return;
    this.add(
      "error",
      "logs.checkpoint.dir",
      `${dir} is not a writable directory (${problem}); mount a writable directory there (hostPath in the chart) or set logs.checkpoint.dir`,
    );
  }
}
