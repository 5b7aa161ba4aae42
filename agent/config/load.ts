/** Reading the configuration in layers (defaults < file < env < flags) and the cross-field rules applied after them. */
import { configSchema, type AgentConfig } from "../config-schema.js";
import { envIndex, parseArgv, type Command } from "./argv.js";
import { ConfigError, type ConfigIssue } from "./errors.js";
import { applyFile } from "./file-merge.js";
import { error, set, type LoadContext } from "./load-context.js";
import { defaultsOf } from "./schema.js";
import { didYouMean } from "./suggest.js";
import { RUNTIME_DEFAULTS_ENV } from "../runtime-settings.js";

export type { Command } from "./argv.js";
export { flagNamesOf } from "./argv.js";

export interface LoadedConfig {
  command: Command;
  config: AgentConfig;
  /** The config file used, if any. */
  configFile?: string;
  /** Dotted keys set explicitly by file, env or flag (defaults excluded). */
  explicit: Set<string>;
  /** Where each explicit key's value came from (`in FILE`, `env NAME`, `flag --name`), the last layer that set it. */
  sources: Map<string, string>;
  /** Non-fatal notes for the log, e.g. disabled collectors that nodetap does not have. */
  notices: string[];
  /** check-config --offline: do not read the files and env variables the config refers to. */
  offline: boolean;
}

/** The configuration as read, with every problem found on the way (errors only; see validate.ts for the checks after it). */
export interface ReadConfig extends LoadedConfig {
  issues: ConfigIssue[];
  /** Keys whose given value was rejected (they keep their default; later checks skip them). */
  failed: Set<string>;
}

/** The env variable that names the config file, as an alternative to --config. */
export const CONFIG_FILE_ENV = "NODETAP_CONFIG";

/**
 * Reads the configuration: defaults < file < NODETAP_* env < flags. Throws the first problem as a
 * ConfigError; readConfig returns all of them instead.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const read = readConfig(argv, env);
  const first = read.issues.find((i) => i.severity === "error");
  if (first !== undefined) throw new ConfigError(first.key, first.problem, first.source);
  return read;
}

/** Reads the configuration and collects every problem of the command line, the file and the env. */
export function readConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ReadConfig {
  const config = defaultsOf(configSchema) as AgentConfig;
  const ctx: LoadContext = { explicit: new Set(), sources: new Map(), issues: [], failed: new Set() };
  const notices: string[] = [];
  const args = parseArgv(argv, notices, ctx.issues);

  const configFile = args.configFile ?? (env[CONFIG_FILE_ENV] || undefined);
  if (configFile !== undefined) applyFile(config, configFile, ctx);
  applyEnv(config, env, ctx);
  for (const [target, raw, flagName] of args.flags) {
    set(config, target, raw, true, `flag --${flagName}`, ctx);
  }
  finish(config, ctx);
  if (args.offline && args.command !== "check-config") {
    ctx.issues.push({
      severity: "error",
      key: "--offline",
      problem: "is a check-config option; run always reads what the config refers to",
    });
  }
  return {
    command: args.command,
    config,
    configFile,
    explicit: ctx.explicit,
    sources: ctx.sources,
    notices,
    offline: args.offline,
    issues: ctx.issues,
    failed: ctx.failed,
  };
}

function applyEnv(config: AgentConfig, env: NodeJS.ProcessEnv, ctx: LoadContext): void {
  const index = envIndex();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("NODETAP_") || name === CONFIG_FILE_ENV || name === RUNTIME_DEFAULTS_ENV || value === undefined) continue;
    const target = index.get(name);
    if (target === undefined) {
      const hint = didYouMean(name, index.keys());
      error(
        ctx.issues,
        name,
        `unknown environment variable; ${hint ? `${hint} ` : ""}NODETAP_* variables must name a config key (see docs/configuration.md)`,
      );
      continue;
    }
    set(config, target, value, true, `env ${name}`, ctx);
  }
}

/** Cross-field rules and --collector.disable-defaults. */
function finish(config: AgentConfig, ctx: LoadContext): void {
  const explicit = ctx.explicit;
  if (Object.keys(config.logs.sinks).length > 0) {
    // Two ways to say where records go: the single sink would be silently ignored. A key given
    // its default value says nothing (the chart's values spell out logs.sink.type: stdout).
    const defaults = defaultsOf(configSchema).logs.sink as unknown as Record<string, unknown>;
    const given = config.logs.sink as unknown as Record<string, unknown>;
    const valueAt = (root: Record<string, unknown>, parts: string[]) =>
      parts.reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], root);
    for (const key of explicit) {
      if (!key.startsWith("logs.sink.")) continue;
      const parts = key.split(".").slice(2);
      if (JSON.stringify(valueAt(given, parts)) === JSON.stringify(valueAt(defaults, parts))) continue;
      error(
        ctx.issues,
        key,
        "cannot be used together with logs.sinks (the named sinks replace logs.sink); move it under logs.sinks.<name>",
        ctx.sources.get(key),
      );
    }
  }
  const collectors = config.metrics.collectors as Record<string, Record<string, unknown>>;
  if (config.metrics.disableDefaults) {
    for (const [name, options] of Object.entries(collectors)) {
      if (!explicit.has(`metrics.collectors.${name}.enabled`)) options.enabled = false;
    }
  }
  const exclusive: Array<[string, string, string]> = [
    ["arp", "deviceInclude", "deviceExclude"],
    ["netdev", "deviceInclude", "deviceExclude"],
    ["hwmon", "chipInclude", "chipExclude"],
    ["hwmon", "sensorInclude", "sensorExclude"],
  ];
  for (const [c, a, b] of exclusive) {
    if (collectors[c][a] !== "" && collectors[c][b] !== "") {
      const key = `metrics.collectors.${c}.${a}`;
      error(ctx.issues, key, `cannot be set together with metrics.collectors.${c}.${b}; set one of them`, ctx.sources.get(key));
    }
  }
  // node_exporter: an explicit include replaces the default exclude; both explicit is an error.
  const includeOverDefault: Array<[string, string, string]> = [
    ["diskstats", "deviceInclude", "deviceExclude"],
    ["filesystem", "mountPointsInclude", "mountPointsExclude"],
    ["filesystem", "fsTypesInclude", "fsTypesExclude"],
  ];
  for (const [c, inc, exc] of includeOverDefault) {
    if (collectors[c][inc] === "") continue;
    if (explicit.has(`metrics.collectors.${c}.${exc}`)) {
      const key = `metrics.collectors.${c}.${inc}`;
      error(ctx.issues, key, `cannot be set together with metrics.collectors.${c}.${exc}; set one of them`, ctx.sources.get(key));
      continue;
    }
    collectors[c][exc] = "";
  }
}
