/**
 * Series-level helpers over parseExposition's output (keys like `name{a="x",b="y"}`, label values
 * JSON-quoted), for comparing two exporters' scrapes.
 */
import type { ParsedFamily } from "./exposition-parse.js";
import { seriesKey } from "./exposition-parse.js";

export function parseSeriesKey(key: string): { name: string; labels: Record<string, string> } {
  const brace = key.indexOf("{");
  const name = key.slice(0, brace);
  const labels: Record<string, string> = {};
  for (const m of key.slice(brace + 1, -1).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)=("(?:[^"\\]|\\.)*")/g)) {
    labels[m[1]] = JSON.parse(m[2]) as string;
  }
  return { name, labels };
}

/** The family's samples re-keyed without the given labels (for labels one version added). */
export function withoutLabels(family: ParsedFamily | undefined, drop: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  if (!family) return out;
  for (const [key, value] of family.samples) {
    const { name, labels } = parseSeriesKey(key);
    for (const d of drop) delete labels[d];
    out.set(seriesKey(name, labels), value);
  }
  return out;
}

/** Sorted label names used by the family's samples. */
export function labelNamesOf(family: ParsedFamily | undefined): string[] {
  const names = new Set<string>();
  for (const key of family?.samples.keys() ?? []) for (const n of Object.keys(parseSeriesKey(key).labels)) names.add(n);
  return [...names].sort();
}

/** Keys in `a` not in `b`, sorted. */
export function missingFrom(a: Iterable<string>, b: { has(k: string): boolean }): string[] {
  return [...a].filter((k) => !b.has(k)).sort();
}

/** The one value of a label-less family, or of the single series it has. */
export function singleValue(family: ParsedFamily | undefined): number | undefined {
  if (!family || family.samples.size !== 1) return undefined;
  return [...family.samples.values()][0];
}
