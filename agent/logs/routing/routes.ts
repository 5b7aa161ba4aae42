import { ConfigError } from "../../config/errors.js";
import { f, type Infer } from "../../config/schema.js";
import { compileMatch } from "../filters/match.js";
import { matchSection } from "../filters/schema.js";
import type { LogRecord } from "../record.js";

export const routeSection = {
  name: f.string("", "The route's name in metrics (nodetap_log_route_records_total) and /status; empty: route-<index>."),
  match: matchSection,
  sinks: f.stringList([], "Names of the sinks (keys of logs.sinks) that get a copy of each record this route matches."),
};

export type RouteConfig = Infer<typeof routeSection>;

export const MAX_SINKS = 30;

export interface CompiledRoute {
  readonly name: string;
  /** undefined: the route matches every record. */
  readonly matches: ((record: LogRecord) => boolean) | undefined;
  /** Bit s set: sink s (index in the sink list) gets the record. */
  readonly sinkMask: number;
}

/**
 * The routes with their sinks by index. A record goes to the sinks of every route that matches
 * it; with routes configured, a record no route matches goes nowhere (counted as unrouted).
 */
export function compileRoutes(routes: readonly RouteConfig[], sinkNames: readonly string[], keyPrefix = "logs.routes"): CompiledRoute[] {
  // A record's sinks are a bit mask (router.ts).
  if (sinkNames.length > MAX_SINKS) throw new ConfigError("logs.sinks", `has ${sinkNames.length} sinks; at most ${MAX_SINKS} are allowed`);
  const seen = new Set<string>();
  return routes.map((route, i) => {
    const key = `${keyPrefix}[${i}]`;
    const name = route.name !== "" ? route.name : `route-${i}`;
    if (seen.has(name))
      throw new ConfigError(`${key}.name`, `${JSON.stringify(name)} names an earlier route too; route names must be unique`);
    seen.add(name);
    if (route.sinks.length === 0)
      throw new ConfigError(`${key}.sinks`, "is required: the names of the sinks (keys of logs.sinks) this route sends to");
    let sinkMask = 0;
    for (const sink of route.sinks) {
      const s = sinkNames.indexOf(sink);
      if (s < 0) {
        throw new ConfigError(`${key}.sinks`, `${JSON.stringify(sink)} is not a configured sink; sinks: ${sinkNames.join(", ")}`);
      }
      sinkMask |= 1 << s;
    }
    return { name, matches: compileMatch(route.match, `${key}.match`), sinkMask };
  });
}
