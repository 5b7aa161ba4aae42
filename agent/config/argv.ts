/** The command line: the index of flag names (and env variable names) to config keys, and the argv parser. */
import { configSchema } from "../config-schema.js";
import type { ConfigIssue } from "./errors.js";
import { error, type FlagTarget } from "./load-context.js";
import { NODE_EXPORTER_COLLECTORS } from "./node-exporter-collectors.js";
import { envNameOf, kebabFlagOf, walkFields, type Section } from "./schema.js";
import { didYouMean } from "./suggest.js";

export type Command = "run" | "check-config" | "version" | "help";

export interface ParsedArgs {
  command: Command;
  configFile?: string;
  offline: boolean;
  flags: Array<[FlagTarget, unknown, string]>;
}

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

/** Every key by its NODETAP_* env variable name. */
export function envIndex(): Map<string, FlagTarget> {
  const index = new Map<string, FlagTarget>();
  walkFields(configSchema as Section, (path, field) => index.set(envNameOf(path), { path, field }));
  return index;
}

/** Splits argv into the command, the config file and the flag values; problems go to issues, no-op flags to notices. */
export function parseArgv(argv: readonly string[], notices: string[], issues: ConfigIssue[]): ParsedArgs {
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
