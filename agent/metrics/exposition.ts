import type { MetricFamily, MetricType } from "./model.js";

/**
 * Renders metric families in the Prometheus text format 0.0.4 or OpenMetrics 1.0.0, with the
 * same conventions as Go's client_golang (so output matches node_exporter's): HELP escaping,
 * `untyped` -> `unknown` and counter `_total` handling in OpenMetrics.
 */

export type ExpositionFormat = "text" | "openmetrics";

export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** A family in a generic shape, for sources (prom-client) whose samples have their own names and label pairs. */
export interface GenericFamily {
  name: string;
  help: string;
  type: MetricType | "histogram" | "summary";
  samples: Array<{ name: string; labels: Array<[string, string]>; value: number }>;
}

/** Picks the format from an Accept header as Prometheus sends it (OpenMetrics only when asked for). */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (accept !== undefined && accept.includes("application/openmetrics-text")) return "openmetrics";
  return "text";
}

export function contentTypeOf(format: ExpositionFormat): string {
  return format === "openmetrics" ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE;
}

const NEEDS_LABEL_ESCAPE = /[\\"\n]/;
const NEEDS_HELP_ESCAPE = /[\\\n]/;

function escapeLabelValue(v: string): string {
  if (!NEEDS_LABEL_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(help: string, format: ExpositionFormat): string {
  if (format === "openmetrics") return escapeLabelValue(help);
  if (!NEEDS_HELP_ESCAPE.test(help)) return help;
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function typeName(type: GenericFamily["type"], format: ExpositionFormat): string {
  if (type === "untyped") return format === "openmetrics" ? "unknown" : "untyped";
  return type;
}

/** The family name for the TYPE/HELP lines: OpenMetrics counters are named without `_total`. */
function familyName(name: string, type: GenericFamily["type"], format: ExpositionFormat): string {
  if (format === "openmetrics" && type === "counter" && name.endsWith("_total")) return name.slice(0, -6);
  return name;
}

/** Sample name: OpenMetrics counters always end in `_total` (client_golang appends it). */
function counterSampleName(name: string, format: ExpositionFormat): string {
  return format === "openmetrics" && !name.endsWith("_total") ? name + "_total" : name;
}

export function renderFamily(family: MetricFamily, format: ExpositionFormat): string {
  const { desc, samples } = family;
  if (samples.length === 0) return "";
  const type = desc.type;
  const fname = familyName(desc.name, type, format);
  let out = `# HELP ${fname} ${escapeHelp(desc.help, format)}\n# TYPE ${fname} ${typeName(type, format)}\n`;
  const baseName = type === "counter" ? counterSampleName(desc.name, format) : desc.name;
  for (const s of samples) {
    // Samples of textfile families may carry their own label names or a _bucket/_sum/_count suffix.
    const d = s.desc ?? desc;
    const names = d.labelNames;
    const sampleName = d.sampleSuffix === undefined ? baseName : desc.name + d.sampleSuffix;
    if (names.length === 0) {
      out += `${sampleName} ${formatValue(s.value)}\n`;
      continue;
    }
    let line = sampleName + "{";
    for (let i = 0; i < names.length; i++) {
      if (i > 0) line += ",";
      line += `${names[i]}="${escapeLabelValue(s.labelValues[i])}"`;
    }
    out += `${line}} ${formatValue(s.value)}\n`;
  }
  return out;
}

export function renderGenericFamily(family: GenericFamily, format: ExpositionFormat): string {
  if (family.samples.length === 0) return "";
  const fname = familyName(family.name, family.type, format);
  let out = `# HELP ${fname} ${escapeHelp(family.help, format)}\n# TYPE ${fname} ${typeName(family.type, format)}\n`;
  for (const s of family.samples) {
    const name = family.type === "counter" ? counterSampleName(s.name, format) : s.name;
    if (s.labels.length === 0) {
      out += `${name} ${formatValue(s.value)}\n`;
      continue;
    }
    out += `${name}{${s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}} ${formatValue(s.value)}\n`;
  }
  return out;
}
