/**
 * Parsers for the recorded nvidia-smi captures in test/fixtures/nvidia-smi (see the README there):
 * one file per GPU and driver, made of banner-delimited sections (`# <state> :: <what>`, then the
 * command as `# $ nvidia-smi ...`), recorded in the states `capabilities`, `idle` and `load`.
 *
 * - parseCapture: the file into its header facts and sections;
 * - parseQueryReport: `nvidia-smi -q` (indented "Key : value" text) into an ordered tree;
 * - parseQueryGpuCsv: `--query-gpu=... --format=csv` (header with units, `[N/A]` markers);
 * - parseDmon, parseGpuList, parseVersion: `dmon`, `-L` and `--version`.
 *
 * Nothing here knows NVML: test/helpers/nvml-shim-data.ts maps these readings onto it.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const CAPTURE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/nvidia-smi");

/** The states a capture records GPU readings in (`capabilities` holds the static sections). */
export type CaptureState = "idle" | "load";
export const CAPTURE_STATES: readonly CaptureState[] = ["idle", "load"];

export interface CaptureSection {
  /** `capabilities`, `idle` or `load`. */
  state: string;
  /** What the banner says after `::`, e.g. `query (-q)`, `dmon (per-device monitor, incl. PCIe rx/tx)`. */
  what: string;
  /** The command line after `# $ `, when the banner has one. */
  command: string | undefined;
  /** Other `# ` lines of the banner (e.g. `library sha256: ...`), without the `# `. */
  notes: string[];
  /** The section's text, without the banner and without trailing blank lines. */
  body: string;
  /** 1-based line number of the `# <state> :: <what>` banner line. */
  line: number;
}

export interface Capture {
  /** File name, e.g. `linux-x86_64__nvidia-h200-mig__590.48.01.txt`. */
  file: string;
  /** File name without `.txt`. */
  name: string;
  /** `<os>-<arch>` from the file name, e.g. `linux-x86_64`. */
  platform: string;
  /** The model part of the file name, e.g. `nvidia-h200-mig`. */
  model: string;
  /** The driver part of the file name, e.g. `590.48.01`. */
  driver: string;
  /** The header's `key: value` facts (collected_at, masked, os, kernel, arch, load). */
  header: Record<string, string>;
  sections: CaptureSection[];
}

const RULE = /^#{20,}\s*$/;
const BANNER = /^# ([a-z]+) :: (.*?)\s*$/;

/** Splits a capture's text into its header facts and sections. */
export function parseCapture(text: string, file = "capture.txt"): Capture {
  const lines = text.split("\n");
  const header: Record<string, string> = {};
  const sections: CaptureSection[] = [];
  let current: { section: CaptureSection; body: string[] } | undefined;
  const finish = () => {
    if (!current) return;
    const body = current.body;
    while (body.length > 0 && body[body.length - 1].trim() === "") body.pop();
    current.section.body = body.join("\n");
    sections.push(current.section);
    current = undefined;
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const banner = RULE.test(line) ? BANNER.exec(lines[i + 1] ?? "") : null;
    if (banner) {
      finish();
      const section: CaptureSection = { state: banner[1], what: banner[2], command: undefined, notes: [], body: "", line: i + 2 };
      i += 2;
      // The rest of the banner: `# $ command`, other `# ` notes, up to the closing rule.
      while (i < lines.length && !RULE.test(lines[i])) {
        const l = lines[i];
        if (l.startsWith("# $ ")) section.command = l.slice(4).trimEnd();
        else if (l.startsWith("# ")) section.notes.push(l.slice(2).trimEnd());
        else throw new Error(`${file}:${i + 1}: unexpected line in the banner of "${section.state} :: ${section.what}": ${l}`);
        i++;
      }
      i++; // closing rule
      current = { section, body: [] };
      continue;
    }
    if (current) current.body.push(line);
    else {
      const fact = /^([a-z_]+):\s+(.*?)\s*$/.exec(line);
      if (fact) header[fact[1]] = fact[2];
    }
    i++;
  }
  finish();
  const name = file.replace(/\.txt$/, "");
  const [platform = "", model = "", driver = ""] = name.split("__");
  return { file, name, platform, model, driver, header, sections };
}

/** The capture files (`*.txt`), sorted. */
export function captureFiles(): string[] {
  return fs
    .readdirSync(CAPTURE_DIR)
    .filter((f) => f.endsWith(".txt"))
    .sort();
}

const captureCache = new Map<string, Capture>();

/** Reads and parses one capture, by file name (with or without `.txt`); cached. */
export function loadCapture(file: string): Capture {
  const name = file.endsWith(".txt") ? file : `${file}.txt`;
  let capture = captureCache.get(name);
  if (!capture) {
    capture = parseCapture(fs.readFileSync(path.join(CAPTURE_DIR, name), "utf8"), name);
    captureCache.set(name, capture);
  }
  return capture;
}

/** The sections of a state whose `what` starts with `what` (e.g. "query (-q)", "query-gpu", "dmon"). */
export function findSection(capture: Capture, state: string, what: string): CaptureSection | undefined {
  return capture.sections.find((s) => s.state === state && (s.what === what || s.what.startsWith(`${what} `)));
}

export function getSection(capture: Capture, state: string, what: string): CaptureSection {
  const found = findSection(capture, state, what);
  if (!found) throw new Error(`${capture.file}: no "${state} :: ${what}" section`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// nvidia-smi -q

/** One line of the -q report: "Key : value" (a leaf, or a node when lines below are indented under it) or a header without value. */
export interface QNode {
  key: string;
  /** undefined for a header line without " : " (e.g. "FB Memory Usage", "GPU 00000000:83:00.0"). */
  value: string | undefined;
  /** The lines indented under this one, in order; repeated keys ("MIG Device", processes) stay separate entries. */
  children: QNode[];
  /** Line number within the section body (1-based). */
  line: number;
}

export interface QueryReport {
  /** The top-level entries (Timestamp, Driver Version, ..., Attached GPUs, one "GPU <bus id>" node per GPU). */
  top: QNode[];
  timestamp: string | undefined;
  /** "Driver Version" without a trailing "[Deprecated; ...]" note, else "KMD Version". */
  driverVersion: string | undefined;
  attachedGpus: number;
  /** The "GPU <bus id>" nodes, in order. */
  gpus: QNode[];
}

const Q_LINE = /^( *)(\S.*?)(?:\s+: ?(.*))?$/;

/** Parses the text of `nvidia-smi -q` into a tree by indentation. */
export function parseQueryReport(body: string): QueryReport {
  const root: QNode = { key: "", value: undefined, children: [], line: 0 };
  const stack: Array<{ indent: number; node: QNode }> = [{ indent: -1, node: root }];
  body.split("\n").forEach((raw, idx) => {
    if (raw.trim() === "" || /^=+NVSMI LOG=+$/.test(raw.trim())) return;
    const m = Q_LINE.exec(raw.replace(/\s+$/, ""));
    if (!m) throw new Error(`-q line ${idx + 1}: cannot parse ${JSON.stringify(raw)}`);
    const indent = m[1].length;
    const node: QNode = { key: m[2].trim(), value: m[3] === undefined ? undefined : m[3].trim(), children: [], line: idx + 1 };
    while (stack[stack.length - 1].indent >= indent) stack.pop();
    stack[stack.length - 1].node.children.push(node);
    stack.push({ indent, node });
  });
  const top = root.children;
  const topValue = (key: string) => top.find((n) => n.key === key)?.value;
  const driver = topValue("Driver Version")?.replace(/\s*\[.*\]$/, "") ?? topValue("KMD Version");
  return {
    top,
    timestamp: topValue("Timestamp"),
    driverVersion: driver,
    attachedGpus: Number(topValue("Attached GPUs") ?? "0"),
    gpus: top.filter((n) => /^GPU [0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f]$/.test(n.key)),
  };
}

/** The first child with this key, following a path of keys. */
export function qNode(node: QNode, ...keys: string[]): QNode | undefined {
  let cur: QNode | undefined = node;
  for (const key of keys) {
    cur = cur.children.find((c) => c.key === key);
    if (!cur) return undefined;
  }
  return cur;
}

/** Every child with this key (repeated headers: "MIG Device", a process's "Process ID"). */
export function qNodes(node: QNode, key: string): QNode[] {
  return node.children.filter((c) => c.key === key);
}

/** The value at a path of keys; undefined when the path is absent or the line has no value. */
export function qValue(node: QNode, ...keys: string[]): string | undefined {
  return qNode(node, ...keys)?.value;
}

/** Whether a -q or CSV value says "no reading": N/A, [N/A], [Not Supported], other bracketed notes, empty. */
export function isUnavailable(value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  return v === "" || v === "N/A" || /^\[.*\]$/.test(v) || v === "Requested functionality has been deprecated";
}

/**
 * A numeric reading with its unit stripped ("28 C", "78.28 W", "143771 MiB", "38 %", "376 KB/s",
 * "100.00%"); undefined when the reading is unavailable. Throws on text that is neither.
 */
export function parseReading(value: string | undefined, expectUnit?: string): number | undefined {
  if (isUnavailable(value)) return undefined;
  const m = /^(-?\d+(?:\.\d+)?)\s*(\S*)$/.exec(value!.trim());
  if (!m) throw new Error(`not a number: ${JSON.stringify(value)}`);
  if (expectUnit !== undefined && m[2] !== expectUnit)
    throw new Error(`${JSON.stringify(value)}: expected unit ${JSON.stringify(expectUnit)}`);
  return Number(m[1]);
}

/** The numeric reading at a path of keys (see parseReading). */
export function qNumber(node: QNode, keys: string[], unit?: string): number | undefined {
  return parseReading(qValue(node, ...keys), unit);
}

/** Headers that may repeat under one parent: always arrays in qToObject, even when there is one. */
const REPEATABLE = new Set(["MIG Device"]);

/**
 * A plain object view: leaves as strings (null without a value), nodes as objects (a node's own
 * value, as in "Process ID : 1696" with lines under it, under "_value"); repeated keys and
 * "MIG Device" as arrays; "Processes" as the list of qProcesses entries.
 */
export function qToObject(node: QNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const arrays = new Set<string>();
  for (const c of node.children) {
    let v: unknown;
    if (c.key === "Processes" && node.key.startsWith("GPU ")) v = c.value === undefined ? qProcesses(node) : c.value;
    else if (c.children.length === 0) v = c.value ?? null;
    else v = { ...(c.value !== undefined ? { _value: c.value } : {}), ...qToObject(c) };
    if (arrays.has(c.key)) (out[c.key] as unknown[]).push(v);
    else if (c.key in out || REPEATABLE.has(c.key)) {
      out[c.key] = c.key in out ? [out[c.key], v] : [v];
      arrays.add(c.key);
    } else out[c.key] = v;
  }
  return out;
}

export interface QProcess {
  gpuInstanceId: string;
  computeInstanceId: string;
  pid: number;
  type: string | undefined;
  name: string | undefined;
  usedMemoryMiB: number | undefined;
}

/** The GPU's "Processes" entries (each starts at "GPU instance ID"); [] for "Processes : None". */
export function qProcesses(gpu: QNode): QProcess[] {
  const procs = qNode(gpu, "Processes");
  if (!procs) throw new Error("no Processes entry");
  const out: QProcess[] = [];
  let entry: Partial<QProcess> = {};
  for (const c of procs.children) {
    if (c.key === "GPU instance ID") entry = { gpuInstanceId: c.value };
    else if (c.key === "Compute instance ID") entry.computeInstanceId = c.value;
    else if (c.key === "Process ID") {
      out.push({
        gpuInstanceId: entry.gpuInstanceId ?? "",
        computeInstanceId: entry.computeInstanceId ?? "",
        pid: Number(c.value),
        type: qValue(c, "Type"),
        name: qValue(c, "Name"),
        usedMemoryMiB: qNumber(c, ["Used GPU Memory"], "MiB"),
      });
    } else throw new Error(`unexpected Processes line ${c.key}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// --query-gpu CSV

export interface QueryGpuCsv {
  /** Field names in header order, units removed ("memory.total"). */
  fields: string[];
  /** Unit from the header ("MiB" for "memory.total [MiB]"), per field. */
  units: Record<string, string | undefined>;
  /** One record per GPU: field -> raw value as printed ("143771 MiB", "[N/A]", "0x0000000000000001"). */
  rows: Array<Record<string, string>>;
}

/** Parses `--format=csv` output (", "-separated; nvidia-smi quotes nothing). */
export function parseQueryGpuCsv(body: string): QueryGpuCsv {
  const lines = body.split("\n").filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new Error("empty CSV");
  const fields: string[] = [];
  const units: Record<string, string | undefined> = {};
  for (const h of lines[0].split(", ")) {
    const m = /^(.*?)(?: \[(.*)\])?$/.exec(h.trim())!;
    fields.push(m[1]);
    units[m[1]] = m[2];
  }
  const rows = lines.slice(1).map((line, i) => {
    const values = line.split(", ");
    if (values.length !== fields.length) throw new Error(`CSV row ${i + 1}: ${values.length} values for ${fields.length} fields`);
    const row: Record<string, string> = {};
    fields.forEach((f, j) => (row[f] = values[j].trim()));
    return row;
  });
  return { fields, units, rows };
}

/** A CSV number with its unit stripped; undefined for [N/A], [Not Supported], N/A, "". Throws for a field the CSV lacks. */
export function csvNumber(row: Record<string, string>, field: string): number | undefined {
  if (!(field in row)) throw new Error(`CSV has no field ${field}`);
  return parseReading(row[field]);
}

/** A CSV hex bitmask ("0x0000000000000001") as bigint; undefined when unavailable. */
export function csvHex(row: Record<string, string>, field: string): bigint | undefined {
  if (!(field in row)) throw new Error(`CSV has no field ${field}`);
  const v = row[field];
  if (isUnavailable(v)) return undefined;
  if (!/^0x[0-9A-Fa-f]+$/.test(v)) throw new Error(`${field}: not a hex bitmask: ${v}`);
  return BigInt(v);
}

/** A CSV text value; undefined when unavailable. */
export function csvText(row: Record<string, string>, field: string): string | undefined {
  if (!(field in row)) throw new Error(`CSV has no field ${field}`);
  return isUnavailable(row[field]) ? undefined : row[field];
}

// ---------------------------------------------------------------------------------------------
// dmon, -L, --version

export interface Dmon {
  /** Column names from the "# gpu pwr gtemp ..." line. */
  columns: string[];
  /** Units from the "# Idx W C ..." line. */
  units: string[];
  /** One record per sample line; "-" (not available) as undefined. */
  rows: Array<Record<string, number | undefined>>;
}

export function parseDmon(body: string): Dmon {
  const lines = body.split("\n").filter((l) => l.trim() !== "");
  const columns = lines[0].replace(/^#\s*/, "").trim().split(/\s+/);
  const units = lines[1].replace(/^#\s*/, "").trim().split(/\s+/);
  if (columns[0] !== "gpu" || units[0] !== "Idx") throw new Error("not a dmon header");
  const rows = lines
    .slice(2)
    .filter((l) => !l.startsWith("#"))
    .map((l) => {
      const values = l.trim().split(/\s+/);
      if (values.length !== columns.length) throw new Error(`dmon row has ${values.length} values for ${columns.length} columns: ${l}`);
      const row: Record<string, number | undefined> = {};
      columns.forEach((c, i) => (row[c] = values[i] === "-" ? undefined : Number(values[i])));
      return row;
    });
  return { columns, units, rows };
}

export interface ListedGpu {
  index: number;
  name: string;
  uuid: string;
  migs: Array<{ index: number; profile: string; uuid: string }>;
}

/** `nvidia-smi -L`: GPUs and their MIG devices ("MIG 1c.3g.71gb  Device  0: (UUID: MIG-...)"). */
export function parseGpuList(body: string): ListedGpu[] {
  const out: ListedGpu[] = [];
  for (const line of body.split("\n")) {
    const gpu = /^GPU (\d+): (.*) \(UUID: (GPU-[^)]+)\)$/.exec(line.trim());
    if (gpu) {
      out.push({ index: Number(gpu[1]), name: gpu[2], uuid: gpu[3], migs: [] });
      continue;
    }
    const mig = /^MIG (\S+)\s+Device\s+(\d+): \(UUID: (MIG-[^)]+)\)$/.exec(line.trim());
    if (mig) {
      if (out.length === 0) throw new Error(`MIG line before any GPU: ${line}`);
      out[out.length - 1].migs.push({ index: Number(mig[2]), profile: mig[1], uuid: mig[3] });
    } else if (line.trim() !== "") throw new Error(`-L: cannot parse ${JSON.stringify(line)}`);
  }
  return out;
}

/** `nvidia-smi --version`: "NVML version : 590.48" etc., keyed by the lower-cased name. */
export function parseVersion(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of body.split("\n")) {
    const m = /^(.*?)\s+:\s+(.*)$/.exec(line.trim());
    if (m) out[m[1].toLowerCase()] = m[2];
  }
  return out;
}
