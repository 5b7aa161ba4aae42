/** Applying a YAML config file: parsing it, and merging its sections and collections into the config. */
import fs from "node:fs";
import { parseDocument } from "yaml";
import { configSchema, type AgentConfig } from "../config-schema.js";
import { error, set, type LoadContext } from "./load-context.js";
import { defaultsOf, isCollection, isField, type Collection, type Section } from "./schema.js";
import { didYouMean } from "./suggest.js";
import { show } from "./values.js";

/**
 * A YAML parser message without the text it quotes ("Unexpected scalar token in YAML stream:
 * \"...\""): the quoted token can be a secret's value. The line and column stay.
 */
function yamlProblem(message: string): string {
  return `invalid YAML: ${message
    .split("\n")[0]
    .replace(/:? *"(?:[^"\\]|\\.)*"/g, "")
    .replace(/:$/, "")}`;
}

export function applyFile(config: AgentConfig, file: string, ctx: LoadContext): void {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    error(ctx.issues, "--config", `cannot read ${file}: ${(err as Error).message}`);
    return;
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const seen = new Set<string>();
    for (const e of doc.errors) {
      const problem = yamlProblem(e.message);
      if (!seen.has(problem)) error(ctx.issues, file, problem);
      seen.add(problem);
    }
    return;
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // e.g. an alias without its anchor; the message names the alias, which is not printed.
    error(ctx.issues, file, `invalid YAML: ${(err as Error).message.split(":")[0]}`);
    return;
  }
  if (data === null || data === undefined) return;
  mergeObject(config as unknown as Record<string, unknown>, configSchema as Section, data, [], file, ctx);
}

function mergeObject(
  target: Record<string, unknown>,
  schema: Section,
  data: unknown,
  path: string[],
  file: string,
  ctx: LoadContext,
): void {
  const where = path.length === 0 ? "(top level)" : path.join(".");
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    // What was given is named by its kind only: a section given a scalar can hold a secret (auth: "Bearer ...").
    const kind = data === null ? "nothing" : Array.isArray(data) ? "a list" : `a ${typeof data}`;
    error(ctx.issues, where, `expected a mapping of keys, got ${kind}`, `in ${file}`);
    if (path.length > 0) ctx.failed.add(where);
    return;
  }
  for (const [key, value] of Object.entries(data)) {
    const node = schema[key];
    const p = [...path, key];
    if (node === undefined) {
      const hint = didYouMean(key, Object.keys(schema), (c) => [...path, c].join("."));
      error(
        ctx.issues,
        p.join("."),
        `unknown key; ${hint ? `${hint} ` : ""}allowed keys under ${where}: ${Object.keys(schema).join(", ")}`,
        `in ${file}`,
      );
      continue;
    }
    if (isField(node)) {
      set(target as unknown as AgentConfig, { path: p, field: node }, value, false, `in ${file}`, ctx, target, key);
    } else if (isCollection(node)) {
      mergeCollection(target, key, node, value, p, file, ctx);
    } else {
      mergeObject(target[key] as Record<string, unknown>, node as Section, value, p, file, ctx);
    }
  }
}

/**
 * A collection from the file replaces its default as a whole (lists are not merged item by
 * item). Each item starts from its shape's defaults; problems are named by the item's key:
 * logs.sinks.loki.type, logs.filters[2].pattern.
 */
function mergeCollection(
  target: Record<string, unknown>,
  key: string,
  node: Collection,
  data: unknown,
  path: string[],
  file: string,
  ctx: LoadContext,
): void {
  const where = path.join(".");
  const source = `in ${file}`;
  ctx.explicit.add(where);
  ctx.sources.set(where, source);
  if (data === null || data === undefined) {
    target[key] = node.__collection === "map" ? {} : [];
    return;
  }
  if (node.__collection === "map") {
    if (typeof data !== "object" || Array.isArray(data)) {
      error(
        ctx.issues,
        where,
        `expected a mapping of names to entries, got ${Array.isArray(data) ? "a list" : `a ${typeof data}`}`,
        source,
      );
      ctx.failed.add(where);
      return;
    }
    const out: Record<string, unknown> = {};
    for (const [name, entry] of Object.entries(data)) {
      if (!node.namePattern.test(name)) {
        error(ctx.issues, `${where}.${name}`, `is not a valid name; allowed: ${node.nameRule}`, source);
        ctx.failed.add(where);
        continue;
      }
      const item = defaultsOf(node.item) as Record<string, unknown>;
      mergeObject(item, node.item, entry, [...path, name], file, ctx);
      out[name] = item;
    }
    target[key] = out;
    return;
  }
  if (!Array.isArray(data)) {
    error(ctx.issues, where, `expected a list, got ${typeof data === "object" ? "a mapping" : `a ${typeof data}`}`, source);
    ctx.failed.add(where);
    return;
  }
  const out: unknown[] = [];
  data.forEach((entry: unknown, i) => {
    const itemPath = [...path.slice(0, -1), `${path[path.length - 1]}[${i}]`];
    const itemKey = itemPath.join(".");
    if (node.__collection === "list") {
      const item = defaultsOf(node.item) as Record<string, unknown>;
      mergeObject(item, node.item, entry, itemPath, file, ctx);
      out.push(item);
      return;
    }
    const types = Object.keys(node.variants);
    const type = typeof entry === "object" && entry !== null && !Array.isArray(entry) ? (entry as Record<string, unknown>).type : undefined;
    if (typeof type !== "string" || !types.includes(type)) {
      const problem =
        type === undefined ? `is required; allowed: ${types.join(", ")}` : `${show(type)} is not allowed; allowed: ${types.join(", ")}`;
      error(ctx.issues, `${itemKey}.type`, problem, source);
      ctx.failed.add(`${itemKey}.type`);
      return;
    }
    const shape = node.variants[type];
    const { type: _type, ...rest } = entry as Record<string, unknown>;
    void _type;
    const item = { type, ...(defaultsOf(shape) as Record<string, unknown>) };
    mergeObject(item, shape, rest, itemPath, file, ctx);
    out.push(item);
  });
  target[key] = out;
}
