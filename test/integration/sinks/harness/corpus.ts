import fs from "node:fs";
import path from "node:path";

/** One line as written into a pod log (CRI) and what every sink must deliver for it. */
export interface KnownLine {
  /** RFC 3339 with nine fractional digits, as written in the CRI line. */
  time: string;
  stream: "stdout" | "stderr";
  message: string;
}

export interface PodLog {
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  restart: number;
  file: string;
}

/** Creates <root>/pods/<ns>_<pod>_<uid>/<container>/<restart>.log (the kubelet's layout). */
export function podLog(root: string, namespace: string, pod: string, uid: string, container: string, restart = 0): PodLog {
  const dir = path.join(root, "pods", `${namespace}_${pod}_${uid}`, container);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${restart}.log`);
  fs.writeFileSync(file, "");
  return { namespace, pod, uid, container, restart, file };
}

const SAMPLES = [
  "plain ascii line",
  "quotes \"double\" and 'single', backslash \\ and tab\there",
  "unicode: grüße, 日本語, emoji 🚀, combining é",
  '{"level":"info","msg":"looks like JSON","n":1}',
  "key=value pairs a=1 b=two",
  "trailing spaces   ",
  "<14>looks like a syslog PRI",
  "",
];

/**
 * `n` known lines for `tag`: varied content (quotes, backslashes, unicode, JSON-looking, empty),
 * each unique by its "tag#i" prefix, timestamps strictly increasing by 1.000001 ms from `start`
 * (nanosecond digits exercised).
 */
export function knownLines(tag: string, n: number, start = Date.now() - 120_000): KnownLine[] {
  const out: KnownLine[] = [];
  for (let i = 0; i < n; i++) {
    const ms = start + i;
    const nanos = String((i * 1000 + 7) % 1_000_000).padStart(6, "0");
    const time = `${new Date(ms).toISOString().slice(0, 23)}${nanos}Z`;
    const sample = SAMPLES[i % SAMPLES.length];
    out.push({ time, stream: i % 5 === 4 ? "stderr" : "stdout", message: `${tag}#${i} ${sample}` });
  }
  return out;
}

/** Appends lines to a pod log in the CRI format (`<time> <stream> F <message>`). */
export function appendCri(file: string, lines: readonly KnownLine[]): void {
  fs.appendFileSync(file, lines.map((l) => `${l.time} ${l.stream} F ${l.message}\n`).join(""));
}

/** Epoch nanoseconds (bigint) of an RFC 3339 time with up to nine fractional digits. */
export function epochNanos(time: string): bigint {
  const m = /^(.{19})(?:\.(\d{1,9}))?Z$/.exec(time);
  if (!m) throw new Error(`not an RFC 3339 UTC time: ${time}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
}
