import path from "node:path";
import pino from "pino";
import { Registry } from "prom-client";
import type { ConfigChecker } from "../config/checker.js";
import { collectIssue, rekeyIssue } from "../config/errors.js";
import { writableDirProblem } from "../config/fs-check.js";
import { defaultsOf } from "../config/schema.js";
import { logsSchema, type LogsConfig } from "./config.js";
import { FilterChain } from "./filters/chain.js";
import { compileRoutes } from "./routing/routes.js";
import { validateSinkConfig } from "./sinks/validate-sink-config.js";
import { fileSourceSpecs } from "./sources/file-source-spec.js";
import { LOCAL_STATE_DIR } from "./state-dir.js";

// The log pipeline's checks after the config is read (agent/check-config.ts runs them with the
// other sections'): the code the pipeline runs at start (the file sources' spec builder, the
// sinks' own checks, routes, filters), called so that one problem does not hide the next.

/** The log pipeline's settings, as LogPipelineRunner's constructor and start() use them. */
export async function validateLogsConfig(logs: LogsConfig, check: ConfigChecker): Promise<void> {
  if (check.failedUnder("logs.enabled")) return;
  if (!logs.enabled) {
    check.unused("logs.", "logs.enabled is false", ["logs.enabled"]);
    return;
  }
  sources(logs, check);
  if (!logs.sources.pods.enabled) check.unused("logs.sources.pods.", "logs.sources.pods.enabled is false", ["logs.sources.pods.enabled"]);
  if (!logs.sources.host.enabled) check.unused("logs.sources.host.", "logs.sources.host.enabled is false", ["logs.sources.host.enabled"]);
  if (!logs.sources.journald.enabled) {
    check.unused("logs.sources.journald.", "logs.sources.journald.enabled is false", ["logs.sources.journald.enabled"]);
  }
  checkpointDir(logs.checkpoint.dir, check);
  // With the sink type rejected, the default type's checks would be about a sink nobody chose.
  const named = Object.entries(logs.sinks);
  if (named.length === 0 && !check.failedUnder("logs.sink.type")) {
    check.issues.push(...(await validateSinkConfig(logs.sink, { env: check.env, offline: check.offline, explicit: check.explicit })));
  }
  for (const [name, { maxInFlightBytes: _share, ...sink }] of named) {
    void _share;
    const key = `logs.sinks.${name}`;
    if (check.failedUnder(`${key}.type`)) continue;
    // The sinks' checks speak of logs.sink.*: their keys are moved to this sink's.
    const explicit = new Set([...check.explicit].filter((k) => k.startsWith(`${key}.`)).map((k) => `logs.sink.${k.slice(key.length + 1)}`));
    const issues = await validateSinkConfig(sink, { env: check.env, offline: check.offline, explicit });
    check.issues.push(...issues.map((issue) => rekeyIssue(issue, "logs.sink", key)));
  }
  collectIssue(check.issues, () => compileRoutes(logs.routes, named.length > 0 ? named.map(([n]) => n) : [logs.sink.type]));
  collectIssue(check.issues, () => new FilterChain(logs.filters, { registry: new Registry(), logger: pino({ level: "silent" }) }).close());
}

/**
 * fileSourceSpecs (agent/logs/sources) checks the sources and throws on the first problem; it is
 * called once per include glob and once per multiline section, the other sources at their
 * (valid) defaults, so every problem is reported.
 */
function sources(logs: LogsConfig, check: ConfigChecker): void {
  const defaults = defaultsOf(logsSchema).sources;
  for (const name of ["pods", "host", "files"] as const) {
    const src = logs.sources[name];
    const only = (part: Partial<LogsConfig["sources"][typeof name]>): LogsConfig => ({
      ...logs,
      sources: { ...defaults, [name]: { ...defaults[name], include: [], ...part } },
    });
    for (const glob of src.include) collectIssue(check.issues, () => fileSourceSpecs(only({ include: [glob] })));
    collectIssue(check.issues, () => fileSourceSpecs(only({ multiline: src.multiline })));
  }
}

/**
 * resolveStateDir (agent/logs/state-dir.ts) creates the directory and writes a probe file; this
 * check creates nothing: the directory, or its nearest existing parent, must be a writable
 * directory. Outside a cluster the default directory falls back to ./.nodetap-state, as run does.
 */
function checkpointDir(dir: string, check: ConfigChecker): void {
  if (check.offline) {
    check.add("note", "logs.checkpoint.dir", "not checked (--offline): whether the directory is writable");
    return;
  }
  const problem = writableDirProblem(dir);
  if (problem === undefined) return;
  const isDefault = dir === logsSchema.checkpoint.dir.default;
  const inCluster = (check.env.KUBERNETES_SERVICE_HOST ?? "") !== "";
  if (isDefault && !inCluster && writableDirProblem(path.resolve(LOCAL_STATE_DIR)) === undefined) return;
  check.add(
    "error",
    "logs.checkpoint.dir",
    `${dir} is not a writable directory (${problem}); mount a writable directory there (hostPath in the chart) or set logs.checkpoint.dir`,
  );
}
