import fs from "node:fs";
import { parseDocument } from "yaml";
import { configSchema, type AgentConfig } from "../config-schema.js";
import { ConfigError, type ConfigIssue } from "./errors.js";
import {
  defaultsOf,
  envNameOf,
  isCollection,
  isField,
  kebabFlagOf,
  walkFields,
  type Collection,
  type Field,
  type Section,
} from "./schema.js";
import { coerce, show } from "./values.js";
import { NODE_EXPORTER_COLLECTORS } from "./node-exporter-collectors.js";
import { didYouMean } from "./suggest.js";
import { RUNTIME_DEFAULTS_ENV } from "../runtime-settings.js";

export type Command = "run" | "check-config" | "version" | "help";

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

interface FlagTarget {
  path: string[];
  field: Field<unknown>;
}

/** The env variable that names the config file, as an alternative to --config. */
export const CONFIG_FILE_ENV = "NODETAP_CONFIG";

const flagIndex = buildFlagIndex();

/** node_exporter's netlink switches: accepted for compatibility (see parseArgv). */
const NETLINK_FLAGS = new Set(["collector.netdev.netlink", "collector.netclass.netlink"]);

/** Flags that are not config keys. */
const COMMAND_FLAGS = ["config", "config.file", "help", "version", "offline"];

/**
 * Every flag name: the node_exporter names declared in the schema, then every key's dotted path
 * (--logs.maxInFlightBytes) and its kebab-case form (--logs.max-in-flight-bytes). A declared flag
 * always wins over another key's alias.
 */
function buildFlagIndex(): Map<string, FlagTarget> {
  const index = new Map<string, FlagTarget>();
  const targets: FlagTarget[] = [];
  walkFields(configSchema as Section, (path, field) => targets.push({ path, field }));
  for (const t of targets) for (const flag of t.field.flags ?? []) index.set(flag, t);
  for (const t of targets) {
    for (const alias of [t.path.join("."), kebabFlagOf(t.path)]) if (!index.has(alias)) index.set(alias, t);
  }
  return index;
}

/** All flag names a key answers to (for tests and docs). */
export function flagNamesOf(key: string): string[] {
  return [...flagIndex].filter(([, t]) => t.path.join(".") === key).map(([name]) => name);
}

function envIndex(): Map<string, FlagTarget> {
  const index = new Map<string, FlagTarget>();
  walkFields(configSchema as Section, (path, field) => index.set(envNameOf(path), { path, field }));
  return index;
}

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

interface LoadContext {
  explicit: Set<string>;
  sources: Map<string, string>;
  issues: ConfigIssue[];
  failed: Set<string>;
}

interface ParsedArgs {
  command: Command;
  configFile?: string;
  offline: boolean;
  flags: Array<[FlagTarget, unknown, string]>;
}

function error(issues: ConfigIssue[], key: string, problem: string, source?: string): void {
  issues.push({ severity: "error", key, problem, source });
}

function parseArgv(argv: readonly string[], notices: string[], issues: ConfigIssue[]): ParsedArgs {
  const out: ParsedArgs = { command: "run", offline: false, flags: [] };
  const listSeen = new Set<string>();
  let sawCommand = false;
  // Once a secret-bearing flag was given, stray words are not echoed: an unquoted secret with a
  // space in it ("--logs.sink.loki.auth.bearer-token Bearer abc") leaves its tail as arguments.
  let afterSecret = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") continue;
    if (!arg.startsWith("-")) {
      if (!sawCommand && (arg === "run" || arg === "check-config")) {
        out.command = arg;
        sawCommand = true;
        continue;
      }
      const shown = afterSecret ? `argument ${i + 1} (not shown: it follows a secret-bearing flag)` : `argument ${JSON.stringify(arg)}`;
      error(issues, "command line", `unexpected ${shown}; commands: run, check-config`);
      continue;
    }
    if (arg === "-h" || arg === "--help" || arg === "--help-long") {
      help = true;
      continue;
    }
    if (arg === "--version" || arg === "-v") {
      out.command = "version";
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    let name = eq >= 0 ? body.slice(0, eq) : body;
    const inline: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    const takeValue = (): string | undefined => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined) {
        error(issues, `--${name}`, "expects a value");
        return undefined;
      }
      i++;
      return next;
    };
    if (name === "config" || name === "c" || name === "config.file") {
      const file = takeValue();
      if (file !== undefined) out.configFile = file;
      continue;
    }
    if (name === "offline") {
      if (inline !== undefined) error(issues, "--offline", "takes no value");
      out.offline = true;
      continue;
    }
    if (name === "web.config.file") {
      error(
        issues,
        "--web.config.file",
        "exporter-toolkit web config files are not read by nodetap; use web.tls.* and web.basicAuth.* (flags --web.tls.cert-file, --web.tls.key-file, --web.tls.client-ca-file, --web.basic-auth.username, --web.basic-auth.password-file)",
      );
      if (inline === undefined && argv[i + 1] !== undefined && !argv[i + 1].startsWith("-")) i++;
      continue;
    }
    let negated = false;
    if (name.startsWith("no-") && !flagIndex.has(name)) {
      negated = true;
      name = name.slice(3);
    }
    const target = flagIndex.get(name);
    if (target === undefined && NETLINK_FLAGS.has(name)) {
      // node_exporter reads these over netlink or from /proc; nodetap always reads /proc and sysfs,
      // which give the same values, so either setting is accepted.
      if (inline !== undefined && !/^(true|false)$/.test(inline)) {
        error(issues, `--${name}`, `${JSON.stringify(inline)} is not a boolean`);
        continue;
      }
      notices.push(`--${negated ? "no-" : ""}${name}: nodetap reads /proc and sysfs instead of netlink; flag accepted, no effect`);
      continue;
    }
    if (target === undefined) {
      const collector = /^collector\.([a-z0-9_]+)$/.exec(name)?.[1];
      if (collector !== undefined && NODE_EXPORTER_COLLECTORS.has(collector)) {
        if (negated || inline === "false") {
          notices.push(`--${negated ? "no-" : ""}${name}: nodetap has no ${collector} collector; nothing to disable`);
          continue;
        }
        error(
          issues,
          `--${name}`,
          `nodetap does not implement node_exporter's ${collector} collector; see docs/metrics.md for the collector list`,
        );
        continue;
      }
      const prefix = negated ? "no-" : "";
      const candidates = negated
        ? [...flagIndex].filter(([, t]) => t.field.kind === "bool").map(([n]) => n)
        : [...flagIndex.keys(), ...COMMAND_FLAGS];
      const hint = didYouMean(name, candidates, (c) => `--${prefix}${c}`);
      error(issues, `--${prefix}${name}`, `unknown flag; ${hint || "see nodetap --help"}`);
      continue;
    }
    if (target.field.secret) afterSecret = true;
    if (target.field.kind === "bool") {
      if (negated) {
        if (inline !== undefined) error(issues, `--no-${name}`, "takes no value");
        else out.flags.push([target, false, `no-${name}`]);
      } else {
        out.flags.push([target, inline ?? true, name]);
      }
      continue;
    }
    if (negated) {
      error(issues, `--no-${name}`, `--${name} is not a boolean flag`);
      continue;
    }
    const value = takeValue();
    if (value === undefined) continue;
    if (target.field.kind === "stringList" || target.field.kind === "regexList") {
      // Repeated list flags accumulate, as with node_exporter's repeatable flags.
      const key = target.path.join(".");
      const prior = listSeen.has(key) ? out.flags.find(([t]) => t === target) : undefined;
      listSeen.add(key);
      if (prior) {
        (prior[1] as string[]).push(value);
        continue;
      }
      out.flags.push([target, [value], name]);
      continue;
    }
    out.flags.push([target, value, name]);
  }
  if (help) out.command = "help";
  return out;
}

/**
 * A YAML parser message without the text it quotes ("Unexpected scalar token in YAML stream:
 * \"...\""): the quoted token can be a secret's value. The line and column stay.
 */
function yamlProblem(message: string): string {
  return `invalid YAML: ${message
    .split("\n")[0]
    .replace(/:? *"(?:[^"\\]|\\.)*"/g, "")
    .replace(/:$/, "")}`;
}

function applyFile(config: AgentConfig, file: string, ctx: LoadContext): void {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    error(ctx.issues, "--config", `cannot read ${file}: ${(err as Error).message}`);
    return;
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const seen = new Set<string>();
    for (const e of doc.errors) {
      const problem = yamlProblem(e.message);
      if (!seen.has(problem)) error(ctx.issues, file, problem);
      seen.add(problem);
    }
    return;
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // e.g. an alias without its anchor; the message names the alias, which is not printed.
    error(ctx.issues, file, `invalid YAML: ${(err as Error).message.split(":")[0]}`);
    return;
  }
  if (data === null || data === undefined) return;
  mergeObject(config as unknown as Record<string, unknown>, configSchema as Section, data, [], file, ctx);
}

function mergeObject(
  target: Record<string, unknown>,
  schema: Section,
  data: unknown,
  path: string[],
  file: string,
  ctx: LoadContext,
): void {
  const where = path.length === 0 ? "(top level)" : path.join(".");
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    // What was given is named by its kind only: a section given a scalar can hold a secret (auth: "Bearer ...").
    const kind = data === null ? "nothing" : Array.isArray(data) ? "a list" : `a ${typeof data}`;
    error(ctx.issues, where, `expected a mapping of keys, got ${kind}`, `in ${file}`);
    if (path.length > 0) ctx.failed.add(where);
    return;
  }
  for (const [key, value] of Object.entries(data)) {
    const node = schema[key];
    const p = [...path, key];
    if (node === undefined) {
      const hint = didYouMean(key, Object.keys(schema), (c) => [...path, c].join("."));
      error(
        ctx.issues,
        p.join("."),
        `unknown key; ${hint ? `${hint} ` : ""}allowed keys under ${where}: ${Object.keys(schema).join(", ")}`,
        `in ${file}`,
      );
      continue;
    }
    if (isField(node)) {
      set(target as unknown as AgentConfig, { path: p, field: node }, value, false, `in ${file}`, ctx, target, key);
    } else if (isCollection(node)) {
      mergeCollection(target, key, node, value, p, file, ctx);
    } else {
      mergeObject(target[key] as Record<string, unknown>, node as Section, value, p, file, ctx);
    }
  }
}

/**
 * A collection from the file replaces its default as a whole (lists are not merged item by
 * item). Each item starts from its shape's defaults; problems are named by the item's key:
 * logs.sinks.loki.type, logs.filters[2].pattern.
 */
function mergeCollection(
  target: Record<string, unknown>,
  key: string,
  node: Collection,
  data: unknown,
  path: string[],
  file: string,
  ctx: LoadContext,
): void {
  const where = path.join(".");
  const source = `in ${file}`;
  ctx.explicit.add(where);
  ctx.sources.set(where, source);
  if (data === null || data === undefined) {
    target[key] = node.__collection === "map" ? {} : [];
    return;
  }
  if (node.__collection === "map") {
    if (typeof data !== "object" || Array.isArray(data)) {
      error(
        ctx.issues,
        where,
        `expected a mapping of names to entries, got ${Array.isArray(data) ? "a list" : `a ${typeof data}`}`,
        source,
      );
      ctx.failed.add(where);
      return;
    }
    const out: Record<string, unknown> = {};
    for (const [name, entry] of Object.entries(data)) {
      if (!node.namePattern.test(name)) {
        error(ctx.issues, `${where}.${name}`, `is not a valid name; allowed: ${node.nameRule}`, source);
        ctx.failed.add(where);
        continue;
      }
      const item = defaultsOf(node.item) as Record<string, unknown>;
      mergeObject(item, node.item, entry, [...path, name], file, ctx);
      out[name] = item;
    }
    target[key] = out;
    return;
  }
  if (!Array.isArray(data)) {
    error(ctx.issues, where, `expected a list, got ${typeof data === "object" ? "a mapping" : `a ${typeof data}`}`, source);
    ctx.failed.add(where);
    return;
  }
  const out: unknown[] = [];
  data.forEach((entry: unknown, i) => {
    const itemPath = [...path.slice(0, -1), `${path[path.length - 1]}[${i}]`];
    const itemKey = itemPath.join(".");
    if (node.__collection === "list") {
      const item = defaultsOf(node.item) as Record<string, unknown>;
      mergeObject(item, node.item, entry, itemPath, file, ctx);
      out.push(item);
      return;
    }
    const types = Object.keys(node.variants);
    const type = typeof entry === "object" && entry !== null && !Array.isArray(entry) ? (entry as Record<string, unknown>).type : undefined;
    if (typeof type !== "string" || !types.includes(type)) {
      const problem =
        type === undefined ? `is required; allowed: ${types.join(", ")}` : `${show(type)} is not allowed; allowed: ${types.join(", ")}`;
      error(ctx.issues, `${itemKey}.type`, problem, source);
      ctx.failed.add(`${itemKey}.type`);
      return;
    }
    const shape = node.variants[type];
    const { type: _type, ...rest } = entry as Record<string, unknown>;
    void _type;
    const item = { type, ...(defaultsOf(shape) as Record<string, unknown>) };
    mergeObject(item, shape, rest, itemPath, file, ctx);
    out.push(item);
  });
  target[key] = out;
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

function set(
  config: AgentConfig,
  target: FlagTarget,
  raw: unknown,
  fromText: boolean,
  source: string,
  ctx: LoadContext,
  parent?: Record<string, unknown>,
  leafKey?: string,
): void {
  const key = target.path.join(".");
  const result = coerce(target.field, raw, fromText);
  if (!result.ok) {
    error(ctx.issues, key, result.problem, source);
    ctx.failed.add(key);
    return;
  }
  // A later layer that sets the key right makes an earlier layer's bad value moot.
  ctx.failed.delete(key);
  let obj = parent;
  if (obj === undefined) {
    obj = config as unknown as Record<string, unknown>;
    for (const part of target.path.slice(0, -1)) obj = obj[part] as Record<string, unknown>;
  }
  obj[leafKey ?? target.path[target.path.length - 1]] = result.value;
  ctx.explicit.add(key);
  ctx.sources.set(key, source);
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
