/**
 * Picks keys of a label or annotation map by a list of entries: an exact key, or a prefix when the
 * entry ends in `*` (`example.com/*` keeps every key starting with `example.com/`; `*` alone keeps all).
 */
export class KeySelector {
  private readonly exact: ReadonlySet<string>;
  private readonly prefixes: readonly string[];

  constructor(entries: readonly string[]) {
    this.exact = new Set(entries.filter((e) => !e.endsWith("*")));
    this.prefixes = entries.filter((e) => e.endsWith("*")).map((e) => e.slice(0, -1));
  }

  /** True when no entry can match (an empty list). */
  get empty(): boolean {
    return this.exact.size === 0 && this.prefixes.length === 0;
  }

  matches(key: string): boolean {
    return this.exact.has(key) || this.prefixes.some((p) => key.startsWith(p));
  }

  /** The selected string-valued entries of `map` (anything else the API sent is skipped). */
  pick(map: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    if (map === undefined || map === null || typeof map !== "object" || this.empty) return out;
    for (const [key, value] of Object.entries(map)) {
      if (typeof value === "string" && this.matches(key)) out[key] = value;
    }
    return out;
  }
}
