import { ConfigError } from "../../config/errors.js";
import { defaultsOf, isField, type Section } from "../../config/schema.js";
import { coerce, show } from "../../config/values.js";
import { filterVariants, type FilterConfig } from "./schema.js";

/**
 * A filter's config as the chain uses it: its type's defaults under what was given (so a
 * partial config from code works like one from the file) and every field checked as the loader
 * checks it (kind, range, enum), problems named `${key}.<field>`.
 */
export function completeFilterConfig(raw: FilterConfig, key: string): FilterConfig {
  if (typeof raw !== "object" || raw === null) throw new ConfigError(key, `${show(raw)} is not a filter; expected a mapping with a type`);
  const types = Object.keys(filterVariants);
  const type: unknown = raw.type;
  if (typeof type !== "string" || !Object.hasOwn(filterVariants, type)) {
    const problem =
      type === undefined ? `is required; allowed: ${types.join(", ")}` : `${show(type)} is not allowed; allowed: ${types.join(", ")}`;
    throw new ConfigError(`${key}.type`, problem);
  }
  const section = filterVariants[type as FilterConfig["type"]] as Section;
  return { type, ...complete(section, raw as unknown as Record<string, unknown>, key) } as FilterConfig;
}

function complete(section: Section, raw: Record<string, unknown> | undefined, key: string): Record<string, unknown> {
  const out = defaultsOf(section) as Record<string, unknown>;
  for (const [name, node] of Object.entries(section)) {
    const value = raw?.[name];
    if (value === undefined || !Object.hasOwn(raw ?? {}, name)) continue;
    if (isField(node)) {
      const result = coerce(node, value, false);
      if (!result.ok) throw new ConfigError(`${key}.${name}`, result.problem);
      out[name] = result.value;
    } else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      out[name] = complete(node as Section, value as Record<string, unknown>, `${key}.${name}`);
    } else {
      throw new ConfigError(`${key}.${name}`, `${show(value)} is not a mapping`);
    }
  }
  return out;
}
