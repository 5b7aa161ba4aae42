import { configSchema, type AgentConfig } from "../config-schema.js";
import {
  envNameOf,
  isCollection,
  isField,
  kebabFlagOf,
  walkAllFields,
  walkFields,
  type Collection,
  type Field,
  type Section,
} from "./schema.js";
import { redactUrl } from "./redact.js";

export { redactUrl } from "./redact.js";

function showDefault(field: Field<unknown>): string {
  const d = field.default;
  if (field.kind === "duration") return `${d as number}s`;
  if (Array.isArray(d)) return d.length === 0 ? "[]" : d.join(",");
  if (typeof d === "object" && d !== null) return Object.keys(d).length === 0 ? "{}" : JSON.stringify(d);
  return d === "" ? '""' : String(d);
}

function kindText(field: Field<unknown>): string {
  if (field.kind === "enum") return (field.enumValues ?? []).join("\\|");
  return field.kind;
}

/** The flag shown for a key: its node_exporter name, else the kebab-case form of its path. */
function primaryFlag(path: readonly string[], field: Field<unknown>): string {
  return field.flags?.[0] ?? kebabFlagOf(path);
}

/** `nodetap --help`: commands, then every flag with its default, generated from the schema. */
export function helpText(): string {
  const lines = [
    "Usage: nodetap [run|check-config] [--config FILE] [flags]",
    "",
    "Kubernetes node agent: node_exporter-compatible metrics on /metrics and log shipping.",
    "",
    "Commands:",
    "  run (default)              run the agent",
    "  check-config --config F    check a configuration as run would (file, env, flags, and the files and env",
    "                             variables it refers to) and exit 0, or 2 listing every problem",
    "",
    "Flags:",
    "  --config FILE              YAML configuration file (or env NODETAP_CONFIG)",
    "  --offline                  check-config only: do not read the files and env variables the config refers to",
    "  --version                  print the version and exit",
    "  --help                     this text",
    "  --collector.<name>, --no-collector.<name>   enable/disable a collector",
    "",
    "Every key is also a flag, spelled as below (kebab case) or as its key (--logs.maxInFlightBytes);",
    "a boolean flag takes --name, --name=false or --no-name.",
    "Lists of named sinks, routes and filters (logs.sinks, logs.routes, logs.filters) are set in the config",
    "file only; flags and env variables address the single sink (logs.sink.*). See docs/log-routing.md.",
    "",
  ];
  walkFields(configSchema as Section, (path, field) => {
    const flag = primaryFlag(path, field);
    const value =
      field.kind === "bool" ? "" : field.kind === "enum" ? `=${(field.enumValues ?? []).join("|")}` : "=" + field.kind.toUpperCase();
    lines.push(`  --${flag}${value}`);
    lines.push(`      ${field.doc} (default: ${showDefault(field)}; key ${path.join(".")}; env ${envNameOf(path)})`);
  });
  return lines.join("\n") + "\n";
}

/** docs/configuration.md's reference table, generated from the schema (a test keeps the doc in sync). */
export function markdownReference(): string {
  const rows = ["| key | type | default | flag | description |", "|---|---|---|---|---|"];
  walkAllFields(configSchema as Section, (path, field, collection) => {
    const flags =
      collection !== undefined
        ? "config file only"
        : (field.flags ?? []).map((f) => `\`--${f}\``).join(", ") || `\`--${primaryFlag(path, field)}\``;
    const def = showDefault(field).replace(/\|/g, "\\|");
    rows.push(`| \`${path.join(".")}\` | ${kindText(field)} | \`${def}\` | ${flags} | ${field.doc.replace(/\|/g, "\\|")} |`);
  });
  return rows.join("\n") + "\n";
}

/** The config with secret values replaced, for /status and logs. */
export function redactConfig(config: AgentConfig): unknown {
  return redact(configSchema as Section, config as unknown as Record<string, unknown>);
}

function redact(schema: Section, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(schema)) {
    const value = values[key];
    if (isField(node)) {
      if (
        node.secret &&
        value !== "" &&
        value !== undefined &&
        !(typeof value === "object" && value !== null && Object.keys(value).length === 0)
      ) {
        out[key] =
          node.kind === "stringMap" ? Object.fromEntries(Object.keys(value as object).map((k) => [k, "<redacted>"])) : "<redacted>";
      } else {
        out[key] = typeof value === "string" ? redactUrl(value) : value;
      }
    } else if (isCollection(node)) {
      out[key] = redactCollection(node, value);
    } else {
      out[key] = redact(node as Section, (value ?? {}) as Record<string, unknown>);
    }
  }
  return out;
}

function redactCollection(node: Collection, value: unknown): unknown {
  if (node.__collection === "map") {
    const entries = Object.entries((value ?? {}) as Record<string, Record<string, unknown>>);
    return Object.fromEntries(entries.map(([name, item]) => [name, redact(node.item, item)]));
  }
  const items = (Array.isArray(value) ? value : []) as Array<Record<string, unknown>>;
  if (node.__collection === "list") return items.map((item) => redact(node.item, item));
  return items.map((item) => {
    const shape = node.variants[item.type as string];
    return shape === undefined ? { type: item.type } : { type: item.type, ...redact(shape, item) };
  });
}
