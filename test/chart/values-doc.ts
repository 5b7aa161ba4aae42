/**
 * chart/README.md's values table, generated from chart/values.yaml: a key is documented by the
 * "# -- text" comment block right above it (helm-docs style; following "# text" lines continue
 * it). Keys without one are covered by their documented parent (e.g. everything under config).
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";

export interface ValueDoc {
  path: string;
  description: string;
  value: unknown;
}

export const TABLE_START = "<!-- values-table:start -->";
export const TABLE_END = "<!-- values-table:end -->";

/** The documented keys of a values.yaml text, in file order. */
export function documentedKeys(text: string): ValueDoc[] {
  const values = parse(text) as Record<string, unknown>;
  const stack: Array<{ indent: number; key: string }> = [];
  const docs: ValueDoc[] = [];
  let pending: string[] | undefined;
  for (const line of text.split("\n")) {
    const start = /^\s*# -- (.*)$/.exec(line);
    if (start) {
      pending = [start[1].trim()];
      continue;
    }
    const more = /^\s*#\s?(.*)$/.exec(line);
    if (more) {
      if (pending) pending.push(more[1].trim());
      continue;
    }
    const key = /^(\s*)([A-Za-z0-9_.-]+):(?:\s|$)/.exec(line);
    if (!key) {
      if (line.trim() !== "" && !/^\s*- /.test(line) && pending) pending = undefined;
      continue;
    }
    const indent = key[1].length;
    while (stack.length && stack[stack.length - 1].indent >= indent) stack.pop();
    stack.push({ indent, key: key[2] });
    if (pending) {
      const path = stack.map((s) => s.key);
      docs.push({ path: path.join("."), description: pending.join(" "), value: valueAt(values, path) });
      pending = undefined;
    }
  }
  return docs;
}

export function valueAt(values: unknown, path: readonly string[]): unknown {
  let v: unknown = values;
  for (const k of path) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** Every leaf path of a values tree (empty maps and lists count as leaves). */
export function leafPaths(v: unknown, prefix: string[] = []): string[] {
  if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) {
    return Object.entries(v as Record<string, unknown>).flatMap(([k, child]) => leafPaths(child, [...prefix, k]));
  }
  return [prefix.join(".")];
}

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return "list";
  if (v === null) return "null";
  if (typeof v === "object") return "object";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  return typeof v;
}

const cell = (s: string) => s.replaceAll("|", "\\|");

export function valuesTable(text: string): string {
  const rows = documentedKeys(text).map(
    (d) => `| \`${d.path}\` | ${typeOf(d.value)} | \`${cell(JSON.stringify(d.value) ?? "")}\` | ${cell(d.description)} |`,
  );
  return ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

/** The README with its values table replaced by the one generated from values.yaml. */
export function readmeWithTable(readme: string, valuesText: string): string {
  const a = readme.indexOf(TABLE_START);
  const b = readme.indexOf(TABLE_END);
  if (a < 0 || b < a) throw new Error(`chart/README.md lacks the ${TABLE_START} ... ${TABLE_END} markers`);
  return `${readme.slice(0, a + TABLE_START.length)}\n${valuesTable(valuesText)}\n${readme.slice(b)}`;
}

export const readText = (p: string) => readFileSync(p, "utf8");
