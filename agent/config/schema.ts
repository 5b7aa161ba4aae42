/**
 * A tiny schema language for nodetap's configuration. Each leaf field carries its kind, default,
 * documentation, and the node_exporter-style flags that set it; the TypeScript type of the
 * config, the defaults, the validation, the env variable names, the docs/configuration.md table and the JSON
 * Schema are all derived from the same declaration (see argv.ts, load.ts, docs.ts).
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

export type Section = { readonly [key: string]: Field<unknown> | Section | Collection };

/**
 * A key holding several objects of one shape: named entries (`map`, e.g. logs.sinks.<name>), an
 * ordered list (`list`, e.g. logs.routes), or an ordered list whose items pick their shape by
 * their `type` key (`variants`, e.g. logs.filters). Collections are set in the config file only:
 * environment variables and flags address single keys, so they have no env name and no flag.
 */
export type Collection = MapOf<Section> | ListOf<Section> | VariantListOf<Readonly<Record<string, Section>>>;

export interface MapOf<S extends Section> {
  readonly __collection: "map";
  readonly item: S;
  readonly doc: string;
  /** What an entry's name must look like, and the words that say so in an error. */
  readonly namePattern: RegExp;
  readonly nameRule: string;
}

export interface ListOf<S extends Section> {
  readonly __collection: "list";
  readonly item: S;
  readonly doc: string;
}

export interface VariantListOf<V extends Readonly<Record<string, Section>>> {
  readonly __collection: "variants";
  /** The item's shape by the value of its `type` key (which is not part of the shape). */
  readonly variants: V;
  readonly doc: string;
}

type Variant<V> = { [K in keyof V]: { type: K } & Infer<V[K]> }[keyof V];

export type Infer<S> =
  S extends Field<infer T>
    ? T
    : S extends MapOf<infer I>
      ? Record<string, Infer<I>>
      : S extends ListOf<infer I>
        ? Infer<I>[]
        : S extends VariantListOf<infer V>
          ? Variant<V>[]
          : { -readonly [K in keyof S]: Infer<S[K]> };

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
  /** Named entries of one shape; names are lower-case DNS labels unless told otherwise. */
  map: <S extends Section>(item: S, doc: string, names?: { pattern: RegExp; rule: string }): MapOf<S> => ({
    __collection: "map",
    item,
    doc,
    namePattern: names?.pattern ?? /^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$/,
    nameRule: names?.rule ?? "lower-case letters, digits, '-' and '_', starting and ending with a letter or digit, at most 63 characters",
  }),
  list: <S extends Section>(item: S, doc: string): ListOf<S> => ({ __collection: "list", item, doc }),
  variants: <V extends Readonly<Record<string, Section>>>(variants: V, doc: string): VariantListOf<V> => ({
    __collection: "variants",
    variants,
    doc,
  }),
};

export function isField(node: unknown): node is Field<unknown> {
  return typeof node === "object" && node !== null && (node as { __field?: unknown }).__field === true;
}

export function isCollection(node: unknown): node is Collection {
  return typeof node === "object" && node !== null && typeof (node as { __collection?: unknown }).__collection === "string";
}

/** Visits every leaf field that has an env name and flags (collections are skipped) with its dotted path. */
export function walkFields(section: Section, visit: (path: string[], field: Field<unknown>) => void, prefix: string[] = []): void {
  for (const [key, node] of Object.entries(section)) {
    const p = [...prefix, key];
    if (isField(node)) visit(p, node);
    else if (!isCollection(node)) walkFields(node as Section, visit, p);
  }
}

/**
 * Visits every leaf field, collections' items included, for the reference docs: an entry of a
 * map is written `<name>`, a list item `[]`, a variant `[type=json]` (its `type` key visited as
 * an enum of the variants). `collection` is the collection the field belongs to, if any.
 */
export function walkAllFields(
  section: Section,
  visit: (path: string[], field: Field<unknown>, collection: Collection | undefined) => void,
  prefix: string[] = [],
  within?: Collection,
): void {
  for (const [key, node] of Object.entries(section)) {
    const p = [...prefix, key];
    if (isField(node)) visit(p, node, within);
    else if (!isCollection(node)) walkAllFields(node as Section, visit, p, within);
    else if (node.__collection === "map") walkAllFields(node.item, visit, [...p.slice(0, -1), `${key}.<name>`], node);
    else if (node.__collection === "list") walkAllFields(node.item, visit, [...p.slice(0, -1), `${key}[]`], node);
    else {
      const types = Object.keys(node.variants);
      visit([...p.slice(0, -1), `${key}[]`, "type"], f.enum(types, types[0], `What the item is: ${types.join(", ")}.`), node);
      for (const [type, item] of Object.entries(node.variants))
        walkAllFields(item, visit, [...p.slice(0, -1), `${key}[type=${type}]`], node);
    }
  }
}

export function defaultsOf<S extends Section>(section: S): Infer<S> {
  const out: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(section)) {
    if (isField(node)) out[key] = structuredClone(node.default);
    else if (isCollection(node)) out[key] = node.__collection === "map" ? {} : [];
    else out[key] = defaultsOf(node as Section);
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
