/**
 * A tiny schema language for nodetap's configuration. Each leaf field carries its kind, default,
 * documentation, and the node_exporter-style flags that set it; the TypeScript type of the
 * config, the defaults, the validation, the env variable names, the docs/configuration.md table and the JSON
 * Schema are all derived from the same declaration (see load.ts, docs.ts).
 */

export type FieldKind = "string" | "int" | "number" | "bool" | "duration" | "regex" | "enum" | "stringList" | "regexList" | "stringMap";

export interface Field<T> {
  readonly __field: true;
  readonly kind: FieldKind;
  readonly default: T;
  readonly doc: string;
  /** Command-line flags (without leading dashes) that set this field, node_exporter names first. */
  readonly flags?: readonly string[];
  readonly enumValues?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** Never printed in /status or logs. */
  readonly secret?: boolean;
}

export type Section = { readonly [key: string]: Field<unknown> | Section };

export type Infer<S> = S extends Field<infer T> ? T : { -readonly [K in keyof S]: Infer<S[K]> };

interface FieldOptions {
  flags?: readonly string[];
  min?: number;
  max?: number;
  secret?: boolean;
}

function field<T>(kind: FieldKind, def: T, doc: string, opts: FieldOptions & { enumValues?: readonly string[] } = {}): Field<T> {
  return { __field: true, kind, default: def, doc, ...opts };
}

export const f = {
  string: (def: string, doc: string, opts?: FieldOptions) => field<string>("string", def, doc, opts),
  int: (def: number, doc: string, opts?: FieldOptions) => field<number>("int", def, doc, opts),
  number: (def: number, doc: string, opts?: FieldOptions) => field<number>("number", def, doc, opts),
  bool: (def: boolean, doc: string, opts?: FieldOptions) => field<boolean>("bool", def, doc, opts),
  /** Seconds as a number; accepts `1.5`, `500ms`, `5s`, `2m`, `1h` in files, env and flags. */
  duration: (def: number, doc: string, opts?: FieldOptions) => field<number>("duration", def, doc, opts),
  /** A regular expression source; "" means unset. Validated by compiling it. */
  regex: (def: string, doc: string, opts?: FieldOptions) => field<string>("regex", def, doc, opts),
  enum: <E extends string>(values: readonly E[], def: E, doc: string, opts?: FieldOptions) =>
    field<E>("enum", def, doc, { ...opts, enumValues: values }),
  stringList: (def: string[], doc: string, opts?: FieldOptions) => field<string[]>("stringList", def, doc, opts),
  regexList: (def: string[], doc: string, opts?: FieldOptions) => field<string[]>("regexList", def, doc, opts),
  stringMap: (def: Record<string, string>, doc: string, opts?: FieldOptions) => field<Record<string, string>>("stringMap", def, doc, opts),
};

export function isField(node: unknown): node is Field<unknown> {
  return typeof node === "object" && node !== null && (node as { __field?: unknown }).__field === true;
}

/** Visits every leaf field with its dotted path. */
export function walkFields(section: Section, visit: (path: string[], field: Field<unknown>) => void, prefix: string[] = []): void {
  for (const [key, node] of Object.entries(section)) {
    const p = [...prefix, key];
    if (isField(node)) visit(p, node);
    else walkFields(node as Section, visit, p);
  }
}

export function defaultsOf<S extends Section>(section: S): Infer<S> {
  const out: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(section)) {
    out[key] = isField(node) ? structuredClone(node.default) : defaultsOf(node as Section);
  }
  return out as Infer<S>;
}

/** `mountPointsExclude` -> `MOUNT_POINTS_EXCLUDE` */
export function envSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

export function envNameOf(path: readonly string[]): string {
  return ["NODETAP", ...path.map(envSegment)].join("_");
}

/** `maxInFlightBytes` -> `max-in-flight-bytes` */
export function kebabSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

/** The kebab-case flag of a key: logs.maxInFlightBytes -> logs.max-in-flight-bytes (every key has one). */
export function kebabFlagOf(path: readonly string[]): string {
  return path.map(kebabSegment).join(".");
}
