/**
 * A small parser for the Prometheus text format, for tests: families with their TYPE/HELP and
 * samples keyed by a canonical series key (name plus sorted labels).
 */
export interface ParsedFamily {
  name: string;
  type?: string;
  help?: string;
  samples: Map<string, number>;
}

export function seriesKey(name: string, labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  return `${name}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",")}}`;
}

function unescapeLabel(v: string): string {
  return v.replace(/\\(.)/g, (_m, c: string) => (c === "n" ? "\n" : c));
}

export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) labels[m[1]] = unescapeLabel(m[2]);
  return labels;
}

export function parseValue(v: string): number {
  if (v === "+Inf") return Infinity;
  if (v === "-Inf") return -Infinity;
  if (v === "NaN") return NaN;
  return Number(v);
}

/** Parses text exposition. Sample lines are attached to the family whose TYPE/HELP preceded them. */
export function parseExposition(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const family = (name: string): ParsedFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, samples: new Map() };
      families.set(name, f);
    }
    return f;
  };
  let current: ParsedFamily | undefined;
  for (const line of text.split("\n")) {
    if (line === "" || line === "# EOF") continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      current = family(meta[2]);
      if (meta[1] === "TYPE") current.type = meta[3];
      else current.help = meta[3];
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const name = m[1];
    const labels = m[3] ? parseLabels(m[3]) : {};
    const owner = current && (name === current.name || name.startsWith(current.name + "_")) ? current : family(name);
    owner.samples.set(seriesKey(name, labels), parseValue(m[4]));
  }
  return families;
}
