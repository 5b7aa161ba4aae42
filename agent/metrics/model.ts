/**
 * The metric data model shared by every collector: a family descriptor (name, help, type, label
 * names) declared once per module, and samples emitted into a MetricSink during a scrape.
 * Rendering (Prometheus text / OpenMetrics) lives in exposition.ts.
 */

/** histogram and summary families come only from the textfile collector (parsed .prom files). */
export type MetricType = "counter" | "gauge" | "untyped" | "histogram" | "summary";

export interface MetricDesc {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly string[];
  /**
   * Appended to `name` in this descriptor's sample lines ("_bucket", "_sum", "_count" for the
   * parts of a histogram or summary); HELP and TYPE lines use `name` alone.
   */
  readonly sampleSuffix?: string;
}

export function counter(name: string, help: string, labelNames: readonly string[] = []): MetricDesc {
  return { name, help, type: "counter", labelNames };
}

export function gauge(name: string, help: string, labelNames: readonly string[] = []): MetricDesc {
  return { name, help, type: "gauge", labelNames };
}

export function untyped(name: string, help: string, labelNames: readonly string[] = []): MetricDesc {
  return { name, help, type: "untyped", labelNames };
}

export interface MetricSink {
  /** Emits one sample; labelValues are given in the order of desc.labelNames. */
  add(desc: MetricDesc, value: number, ...labelValues: string[]): void;
}

export interface Sample {
  readonly labelValues: readonly string[];
  readonly value: number;
  /**
   * Set when the sample was added with a descriptor of the family's name whose label names or
   * sampleSuffix differ from the family's first descriptor (textfile families, whose samples may
   * have different label sets, and histogram/summary parts). Label names and suffix of a sample
   * are those of `sample.desc ?? family.desc`.
   */
  readonly desc?: MetricDesc;
}

export interface MetricFamily {
  readonly desc: MetricDesc;
  readonly samples: Sample[];
}

/** Collects samples grouped by family, in first-seen order. Used per collector per scrape. */
export class FamilyCollector implements MetricSink {
  readonly families = new Map<string, MetricFamily>();
  /** Samples rejected because their label count did not match the descriptor. */
  invalid = 0;

  add(desc: MetricDesc, value: number, ...labelValues: string[]): void {
    if (labelValues.length !== desc.labelNames.length) {
      this.invalid++;
      return;
    }
    let family = this.families.get(desc.name);
    if (family === undefined) {
      family = { desc, samples: [] };
      this.families.set(desc.name, family);
    }
    family.samples.push(sameShape(desc, family.desc) ? { labelValues, value } : { labelValues, value, desc });
  }
}

function sameShape(a: MetricDesc, b: MetricDesc): boolean {
  if (a === b) return true;
  if (a.sampleSuffix !== b.sampleSuffix || a.labelNames.length !== b.labelNames.length) return false;
  for (let i = 0; i < a.labelNames.length; i++) if (a.labelNames[i] !== b.labelNames[i]) return false;
  return true;
}

/** Parses a number the way Go's strconv.ParseFloat/ParseUint would for kernel counters; NaN if not numeric. */
export function toNumber(text: string | undefined): number {
  if (text === undefined) return NaN;
  const t = text.trim();
  if (t === "") return NaN;
  const n = Number(t);
  return n;
}
