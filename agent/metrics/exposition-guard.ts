import type { MetricType } from "./model.js";

/**
 * The consistency checks client_golang's registry applies when node_exporter gathers metrics it
 * did not declare up front (the textfile collector's): a name keeps the type and HELP it was
 * first collected with, a summary/histogram `x` excludes other families named x_sum, x_count
 * (and x_bucket), and a series (name and label pairs) is collected once. node_exporter serves
 * the first and drops the rest; so does this guard's caller.
 */
export class ExpositionGuard {
  private readonly families = new Map<string, { type: MetricType; help: string }>();
  private readonly series = new Set<string>();

  /** undefined when metrics of this family may be collected (and registers it); else why not. */
  acceptFamily(name: string, type: MetricType, help: string): string | undefined {
    const known = this.families.get(name);
    if (known !== undefined) {
      if (known.help !== help)
        return `collected metric ${name} has help ${JSON.stringify(help)} but should have ${JSON.stringify(known.help)}`;
      if (known.type !== type) return `collected metric ${name} is a ${type}, but ${name} was collected as a ${known.type} before`;
      return undefined;
    }
    const collision = this.suffixCollision(name, type);
    if (collision !== undefined) return collision;
    this.families.set(name, { type, help });
    return undefined;
  }

  /** False when a series with this name and these label pairs (sorted by name) was accepted before. */
  acceptSeries(name: string, labelNames: readonly string[], labelValues: readonly string[]): boolean {
    let key = name;
    for (let i = 0; i < labelNames.length; i++) key += `\u00ff${labelNames[i]}\u00fe${labelValues[i]}`;
    if (this.series.has(key)) return false;
    this.series.add(key);
    return true;
  }

  private suffixCollision(name: string, type: MetricType): string | undefined {
    const suffix = ["_count", "_sum", "_bucket"].find((s) => name.endsWith(s));
    if (suffix !== undefined) {
      const base = name.slice(0, -suffix.length);
      const owner = this.families.get(base)?.type;
      if (owner === "histogram" || (owner === "summary" && suffix !== "_bucket")) {
        return `collected metric named ${name} collides with previously collected ${owner} named ${base}`;
      }
    }
    if (type === "summary" || type === "histogram") {
      for (const part of type === "histogram" ? ["_count", "_sum", "_bucket"] : ["_count", "_sum"]) {
        if (this.families.has(name + part))
          return `collected ${type} named ${name} collides with previously collected metric named ${name + part}`;
      }
    }
    return undefined;
  }
}
