import type { MetricFamily, MetricType } from "./model.js";
import { ExpositionWriter, escapeLabelValue, formatValue } from "./exposition-writer.js";

export { formatValue };

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

const NEEDS_HELP_ESCAPE = /[\\\n]/;

function escapeHelp(help: string, format: ExpositionFormat): string {
  if (format === "openmetrics") return escapeLabelValue(help);
  if (!NEEDS_HELP_ESCAPE.test(help)) return help;
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
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

/** The HELP and TYPE lines of a descriptor, made once per format (descriptors are module constants). */
const headers: Record<ExpositionFormat, WeakMap<object, string>> = { text: new WeakMap(), openmetrics: new WeakMap() };

function header(name: string, help: string, type: GenericFamily["type"], format: ExpositionFormat): string {
  const fname = familyName(name, type, format);
  return `# HELP ${fname} ${escapeHelp(help, format)}\n# TYPE ${fname} ${typeName(type, format)}\n`;
}

export function writeFamily(w: ExpositionWriter, family: MetricFamily, format: ExpositionFormat): void {
  const { desc, samples } = family;
  if (samples.length === 0) return;
  const type = desc.type;
  let head = headers[format].get(desc);
  if (head === undefined) {
    head = header(desc.name, desc.help, type, format);
    headers[format].set(desc, head);
  }
  w.text(head);
  const baseName = type === "counter" ? counterSampleName(desc.name, format) : desc.name;
  for (const s of samples) {
    // Samples of textfile families may carry their own label names or a _bucket/_sum/_count suffix.
    const d = s.desc ?? desc;
    const names = d.labelNames;
    w.text(d.sampleSuffix === undefined ? baseName : desc.name + d.sampleSuffix);
    if (names.length > 0) {
      for (let i = 0; i < names.length; i++) {
        w.text(i === 0 ? "{" : ",");
        w.text(names[i]);
        w.text('="');
        w.labelValue(s.labelValues[i]);
        w.text('"');
      }
      w.text("}");
    }
    w.text(" ");
    w.value(s.value);
    w.text("\n");
  }
}

export function writeGenericFamily(w: ExpositionWriter, family: GenericFamily, format: ExpositionFormat): void {
  if (family.samples.length === 0) return;
  w.text(header(family.name, family.help, family.type, format));
  for (const s of family.samples) {
    w.text(family.type === "counter" ? counterSampleName(s.name, format) : s.name);
    for (let i = 0; i < s.labels.length; i++) {
      w.text(i === 0 ? "{" : ",");
      w.text(s.labels[i][0]);
      w.text('="');
      w.labelValue(s.labels[i][1]);
      w.text('"');
    }
    if (s.labels.length > 0) w.text("}");
    w.text(" ");
    w.value(s.value);
    w.text("\n");
  }
}

export function renderFamily(family: MetricFamily, format: ExpositionFormat): string {
  const w = new ExpositionWriter(1024);
  writeFamily(w, family, format);
  return w.toString();
}

export function renderGenericFamily(family: GenericFamily, format: ExpositionFormat): string {
  const w = new ExpositionWriter(1024);
  writeGenericFamily(w, family, format);
  return w.toString();
}
