/** What reading the configuration layers collects (explicit keys, sources, problems), and how one layer's value for a key is recorded. */
import type { AgentConfig } from "../config-schema.js";
import type { ConfigIssue } from "./errors.js";
import type { Field } from "./schema.js";
import { coerce } from "./values.js";

/** A config key as a flag, an env variable or a file key names it: its path and its schema field. */
export interface FlagTarget {
  path: string[];
  field: Field<unknown>;
}

export interface LoadContext {
  explicit: Set<string>;
  sources: Map<string, string>;
  issues: ConfigIssue[];
  failed: Set<string>;
}

export function error(issues: ConfigIssue[], key: string, problem: string, source?: string): void {
  issues.push({ severity: "error", key, problem, source });
}

export function set(
  config: AgentConfig,
  target: FlagTarget,
  raw: unknown,
  fromText: boolean,
  source: string,
  ctx: LoadContext,
  parent?: Record<string, unknown>,
  leafKey?: string,
): void {
  const key = target.path.join(".");
  const result = coerce(target.field, raw, fromText);
  if (!result.ok) {
    error(ctx.issues, key, result.problem, source);
    ctx.failed.add(key);
    return;
  }
  // A later layer that sets the key right makes an earlier layer's bad value moot.
  ctx.failed.delete(key);
  let obj = parent;
  if (obj === undefined) {
    obj = config as unknown as Record<string, unknown>;
    for (const part of target.path.slice(0, -1)) obj = obj[part] as Record<string, unknown>;
  }
  obj[leafKey ?? target.path[target.path.length - 1]] = result.value;
  ctx.explicit.add(key);
  ctx.sources.set(key, source);
}
