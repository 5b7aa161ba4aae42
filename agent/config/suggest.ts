/**
 * "Did you mean ...?" for unknown flags, YAML keys and NODETAP_* variables: the candidate closest
 * by edit distance, when it is close enough to be a typo. Case, `-` and `_` are ignored in the
 * comparison, so `max-in-flight-bytes` finds `maxInFlightBytes` and NODETAP_WEB_LISTENADDRESS
 * finds NODETAP_WEB_LISTEN_ADDRESS.
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const wanted = normalize(name);
  const limit = Math.min(3, Math.max(1, Math.floor(wanted.length / 5)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const d = distance(wanted, normalize(candidate), Math.min(limit, bestDistance));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** `; did you mean X?` or "" */
export function didYouMean(name: string, candidates: Iterable<string>, show: (s: string) => string = (s) => s): string {
  const c = closest(name, candidates);
  return c === undefined ? "" : `did you mean ${show(c)}?`;
}

function normalize(s: string): string {
  return s.toLowerCase().replace(/[-_]/g, "");
}

/** Levenshtein distance, giving up (returning max + 1) once it must exceed `max`. */
export function distance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}
