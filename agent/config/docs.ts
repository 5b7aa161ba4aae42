import { configSchema, type AgentConfig } from "./root.js";
import { envNameOf, isField, walkFields, type Field, type Section } from "./schema.js";

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

/** `nodetap --help`: commands, then every flag with its default, generated from the schema. */
export function helpText(): string {
  const lines = [
    "Usage: nodetap [run|check-config] [--config FILE] [flags]",
    "",
    "Kubernetes node agent: node_exporter-compatible metrics on /metrics and log shipping.",
    "",
    "Commands:",
    "  run (default)              run the agent",
    "  check-config --config F    validate a configuration (file, env, flags) and exit 0, or 2 with the problem",
    "",
    "Flags:",
    "  --config FILE              YAML configuration file (or env NODETAP_CONFIG)",
    "  --version                  print the version and exit",
    "  --help                     this text",
    "  --collector.<name>, --no-collector.<name>   enable/disable a collector",
  ];
  walkFields(configSchema as Section, (path, field) => {
    const flag = field.flags?.[0] ?? path.join(".");
    const value = field.kind === "bool" ? "" : "=" + field.kind.toUpperCase();
    lines.push(`  --${flag}${value}`);
    lines.push(`      ${field.doc} (default: ${showDefault(field)}; key ${path.join(".")}; env ${envNameOf(path)})`);
  });
  return lines.join("\n") + "\n";
}

/** The README's configuration reference table, generated from the schema (a test keeps the README in sync). */
export function markdownReference(): string {
  const rows = ["| key | type | default | flag | description |", "|---|---|---|---|---|"];
  walkFields(configSchema as Section, (path, field) => {
    const flags = (field.flags ?? []).map((f) => `\`--${f}\``).join(", ") || `\`--${path.join(".")}\``;
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
    } else {
      out[key] = redact(node as Section, (value ?? {}) as Record<string, unknown>);
    }
  }
  return out;
}

/**
 * A URL's user info and query values can hold credentials (`https://user:pass@host`,
 * `?token=...`); /status shows the rest of the URL.
 */
export function redactUrl(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  if (url.username === "" && url.password === "" && url.search === "") return value;
  if (url.username !== "" || url.password !== "") {
    url.username = "redacted";
    url.password = "";
  }
  for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, "redacted");
  return url.toString();
}
