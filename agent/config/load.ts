import fs from "node:fs";
import { parseDocument } from "yaml";
import { configSchema, type AgentConfig } from "./root.js";
import { ConfigError } from "./errors.js";
import { defaultsOf, envNameOf, isField, walkFields, type Field, type Section } from "./schema.js";
import { coerce } from "./values.js";
import { NODE_EXPORTER_COLLECTORS } from "./node-exporter-collectors.js";

export type Command = "run" | "check-config" | "version" | "help";

export interface LoadedConfig {
  command: Command;
  config: AgentConfig;
  /** The config file used, if any. */
  configFile?: string;
  /** Dotted keys set explicitly by file, env or flag (defaults excluded). */
  explicit: Set<string>;
  /** Non-fatal notes for the log, e.g. disabled collectors that nodetap does not have. */
  notices: string[];
}

interface FlagTarget {
  path: string[];
  field: Field<unknown>;
}

/** The env variable that names the config file, as an alternative to --config. */
export const CONFIG_FILE_ENV = "NODETAP_CONFIG";

const flagIndex = buildFlagIndex();

/** node_exporter's netlink switches: accepted for compatibility (see parseArgv). */
const NETLINK_FLAGS = new Set(["collector.arp.netlink", "collector.netdev.netlink", "collector.netclass.netlink"]);

function buildFlagIndex(): Map<string, FlagTarget> {
  const index = new Map<string, FlagTarget>();
  walkFields(configSchema as Section, (path, field) => {
    for (const flag of field.flags ?? []) index.set(flag, { path, field });
    // Every key also has a flag spelled as its dotted path, e.g. --logs.sink.type.
    const dotted = path.join(".");
    if (!index.has(dotted)) index.set(dotted, { path, field });
  });
  return index;
}

function envIndex(): Map<string, FlagTarget> {
  const index = new Map<string, FlagTarget>();
  walkFields(configSchema as Section, (path, field) => index.set(envNameOf(path), { path, field }));
  return index;
}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const config = defaultsOf(configSchema) as AgentConfig;
  const explicit = new Set<string>();
  const notices: string[] = [];
  const args = parseArgv(argv, notices);

  const configFile = args.configFile ?? (env[CONFIG_FILE_ENV] || undefined);
  if (configFile !== undefined) applyFile(config, configFile, explicit);
  applyEnv(config, env, explicit);
  for (const [target, raw, flagName] of args.flags) {
    set(config, target, raw, true, `flag --${flagName}`, explicit);
  }
  finish(config, explicit);
  return { command: args.command, config, configFile, explicit, notices };
}

interface ParsedArgs {
  command: Command;
  configFile?: string;
  flags: Array<[FlagTarget, unknown, string]>;
}

function parseArgv(argv: readonly string[], notices: string[]): ParsedArgs {
  const out: ParsedArgs = { command: "run", flags: [] };
  const listSeen = new Set<string>();
  let sawCommand = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") continue;
    if (!arg.startsWith("-")) {
      if (!sawCommand && (arg === "run" || arg === "check-config")) {
        out.command = arg;
        sawCommand = true;
        continue;
      }
      throw new ConfigError("command line", `unexpected argument ${JSON.stringify(arg)}; commands: run, check-config`);
    }
    if (arg === "-h" || arg === "--help" || arg === "--help-long") {
      out.command = "help";
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
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError(`--${name}`, "expects a value");
      i++;
      return next;
    };
    if (name === "config" || name === "c" || name === "config.file") {
      out.configFile = takeValue();
      continue;
    }
    if (name === "web.config.file") {
      throw new ConfigError(
        "--web.config.file",
        "exporter-toolkit web config files are not read by nodetap; use web.tls.* and web.basicAuth.* (flags --web.tls.cert-file, --web.tls.key-file, --web.tls.client-ca-file, --web.basic-auth.username, --web.basic-auth.password-file)",
      );
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
      if (inline !== undefined && !/^(true|false)$/.test(inline))
        throw new ConfigError(`--${name}`, `${JSON.stringify(inline)} is not a boolean`);
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
        throw new ConfigError(
          `--${name}`,
          `nodetap does not implement node_exporter's ${collector} collector; see the README's collector list`,
        );
      }
      throw new ConfigError(`--${negated ? "no-" : ""}${name}`, `unknown flag; see nodetap --help`);
    }
    if (target.field.kind === "bool") {
      if (negated) {
        if (inline !== undefined) throw new ConfigError(`--no-${name}`, "takes no value");
        out.flags.push([target, false, `no-${name}`]);
      } else {
        out.flags.push([target, inline ?? true, name]);
      }
      continue;
    }
    if (negated) throw new ConfigError(`--no-${name}`, `--${name} is not a boolean flag`);
    const value = takeValue();
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
  return out;
}

function applyFile(config: AgentConfig, file: string, explicit: Set<string>): void {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError("--config", `cannot read ${file}: ${(err as Error).message}`);
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new ConfigError(file, `invalid YAML: ${e.message.split("\n")[0]}`);
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return;
  mergeObject(config as unknown as Record<string, unknown>, configSchema as Section, data, [], file, explicit);
}

function mergeObject(
  target: Record<string, unknown>,
  schema: Section,
  data: unknown,
  path: string[],
  file: string,
  explicit: Set<string>,
): void {
  const where = path.length === 0 ? "(top level)" : path.join(".");
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ConfigError(where, `expected a mapping of keys, got ${JSON.stringify(data)}`, `in ${file}`);
  }
  for (const [key, value] of Object.entries(data)) {
    const node = schema[key];
    const p = [...path, key];
    if (node === undefined) {
      throw new ConfigError(p.join("."), `unknown key; allowed keys under ${where}: ${Object.keys(schema).join(", ")}`, `in ${file}`);
    }
    if (isField(node)) {
      set(target as unknown as AgentConfig, { path: p, field: node }, value, false, `in ${file}`, explicit, target, key);
    } else {
      mergeObject(target[key] as Record<string, unknown>, node as Section, value, p, file, explicit);
    }
  }
}

function applyEnv(config: AgentConfig, env: NodeJS.ProcessEnv, explicit: Set<string>): void {
  const index = envIndex();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("NODETAP_") || name === CONFIG_FILE_ENV || value === undefined) continue;
    const target = index.get(name);
    if (target === undefined) {
      throw new ConfigError(
        name,
        "unknown environment variable; NODETAP_* variables must name a config key (see the README's configuration reference)",
      );
    }
    set(config, target, value, true, `env ${name}`, explicit);
  }
}

function set(
  config: AgentConfig,
  target: FlagTarget,
  raw: unknown,
  fromText: boolean,
  source: string,
  explicit: Set<string>,
  parent?: Record<string, unknown>,
  leafKey?: string,
): void {
  const key = target.path.join(".");
  const result = coerce(target.field, raw, fromText);
  if (!result.ok) throw new ConfigError(key, result.problem, source);
  let obj = parent;
  if (obj === undefined) {
    obj = config as unknown as Record<string, unknown>;
    for (const part of target.path.slice(0, -1)) obj = obj[part] as Record<string, unknown>;
  }
  obj[leafKey ?? target.path[target.path.length - 1]] = result.value;
  explicit.add(key);
}

/** Cross-field rules and --collector.disable-defaults. */
function finish(config: AgentConfig, explicit: Set<string>): void {
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
      throw new ConfigError(`metrics.collectors.${c}.${a}`, `cannot be set together with metrics.collectors.${c}.${b}; set one of them`);
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
      throw new ConfigError(
        `metrics.collectors.${c}.${inc}`,
        `cannot be set together with metrics.collectors.${c}.${exc}; set one of them`,
      );
    }
    collectors[c][exc] = "";
  }
}
