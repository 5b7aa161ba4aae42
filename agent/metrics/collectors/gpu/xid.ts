import type { LogRecord } from "../../../logs/record.js";

/**
 * GPU XID errors from the kernel log, the way DCGM reports them: DCGM_FI_DEV_XID_ERRORS is the
 * value of the last XID seen on a GPU, and nodetap adds nodetap_gpu_xid_errors_total{xid}.
 *
 * The NVIDIA kernel module prints one line per XID (src/nvidia/src/kernel/gpu/rc/kernel_rc.c in
 * NVIDIA/open-gpu-kernel-modules):
 *   NVRM: Xid (PCI:%04x:%02x:%02x): %d, pid=%s, name=%s, <message>
 *   NVRM: Xid (PCI:%04x:%02x:%02x GPU-I:%02u): %d, ...             (MIG: GPU instance)
 *   NVRM: Xid (PCI:%04x:%02x:%02x GPU-I:%02u GPU-CI:%02u): %d, ...  (MIG: and compute instance)
 * Older drivers leave out "PCI:" ("NVRM: Xid (0000:03:00): 14, Channel 00000001") and the
 * pid/name part. Before "NVRM:" there may be a kernel timestamp ("[  123.456789] "), a syslog
 * prefix ("May 10 22:25:01 host kernel: ") or /dev/kmsg framing ("3,4471,3023054882,-;").
 *
 * Nothing here is on the scrape path: the log pipeline calls the record observer for every
 * record it reads, and the gpu collector reads the tracker's state at scrape time.
 */

/** The text every XID line holds; checked with String.includes before any regex. */
export const XID_MARKER = "NVRM: Xid";
/** A message longer than this (UTF-16 units) is only searched in its first XID_SCAN_CHARS. */
export const XID_SCAN_CHARS = 4096;
/** Bus ids tracked at most; XIDs of further GPUs are dropped (counted in `dropped`). */
export const XID_MAX_BUS_IDS = 64;
/** Distinct XID values counted per bus id at most; further values still set `last` but are not counted. */
export const XID_MAX_XIDS_PER_BUS = 256;
/**
 * The same kernel line reaches the agent once per log it is written to (kern.log and syslog on
 * Debian/Ubuntu, /var/log/messages, the journal): identical XID lines from different sources
 * within this window are one event.
 */
export const XID_DEDUPE_WINDOW_MS = 60_000;
/** Distinct recent XID lines remembered for that de-duplication. */
const DEDUPE_MAX_KEYS = 256;
/** Characters of an XID line (from the marker) used as its identity. */
const DEDUPE_KEY_CHARS = 256;

export interface XidEvent {
  /** NVML's form: 8 hex digits of domain, bus, device, function, upper case: "00000000:83:00.0". */
  pciBusId: string;
  xid: number;
  /** MIG GPU instance the XID is attributed to ("GPU-I:05"). */
  gpuInstanceId?: number;
  /** MIG compute instance ("GPU-CI:02"). */
  computeInstanceId?: number;
}

export interface XidLast {
  xid: number;
  /** When the XID was logged (the record's time), ms since the epoch. */
  timeMs: number;
  gpuInstanceId?: number;
}

export interface XidCount {
  pciBusId: string;
  xid: number;
  count: number;
}

// Anchored (sticky) at an occurrence of XID_MARKER. Domain: %04x of a 32-bit value (4-8 hex
// digits); bus and device: %02x; the function is not printed by the drivers seen but accepted.
// The XID must be followed by a comma, white space or the end: "79abc" is not an XID.
const XID_LINE =
  /NVRM: Xid \((?:PCI:)?([0-9a-fA-F]{4,8}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})(?:\.([0-7]))?(?: GPU-I:(\d{1,4}))?(?: GPU-CI:(\d{1,4}))?\): ?(\d{1,6})(?=[,\s]|$)/y;

const BUS_ID = /^(?:PCI:)?([0-9a-fA-F]{1,8}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})(?:\.([0-7]))?$/;

/**
 * A PCI bus id in NVML's nvmlPciInfo_t.busId form ("%08X:%02X:%02X.0"): the kernel's
 * "0000:83:00", "PCI:0000:3b:00", sysfs's "0000:3b:00.0" and NVML's own form all map to
 * "00000000:3B:00.0" (function 0 when absent). Undefined when `text` is not a bus id.
 */
export function normalizePciBusId(text: string): string | undefined {
  if (text.length > 40) return undefined;
  const m = BUS_ID.exec(text.trim());
  if (m === null) return undefined;
  return formatBusId(m[1], m[2], m[3], m[4]);
}

function formatBusId(domain: string, bus: string, device: string, fn: string | undefined): string {
  return `${domain.toUpperCase().padStart(8, "0")}:${bus.toUpperCase().padStart(2, "0")}:${device.toUpperCase().padStart(2, "0")}.${fn ?? "0"}`;
}

/** The part of `message` that is searched: all of it, or its first XID_SCAN_CHARS. */
function scanned(message: string): string {
  return message.length > XID_SCAN_CHARS ? message.slice(0, XID_SCAN_CHARS) : message;
}

function eventAt(text: string, at: number): XidEvent | undefined {
  XID_LINE.lastIndex = at;
  const m = XID_LINE.exec(text);
  if (m === null) return undefined;
  const event: XidEvent = { pciBusId: formatBusId(m[1], m[2], m[3], m[4]), xid: Number(m[7]) };
  if (m[5] !== undefined) event.gpuInstanceId = Number(m[5]);
  if (m[6] !== undefined) event.computeInstanceId = Number(m[6]);
  return event;
}

/**
 * The first XID line in `message` (only its first XID_SCAN_CHARS are searched), or undefined.
 * Never throws: a non-string gives undefined.
 */
export function parseXidLine(message: string): XidEvent | undefined {
  if (typeof message !== "string") return undefined;
  const text = scanned(message);
  for (let at = text.indexOf(XID_MARKER); at !== -1; at = text.indexOf(XID_MARKER, at + XID_MARKER.length)) {
    const event = eventAt(text, at);
    if (event !== undefined) return event;
  }
  return undefined;
}

interface GpuXids {
  last: XidLast;
  counts: Map<number, number>;
}

interface RecentLine {
  /** Occurrences of the line per source within the window. */
  perSource: Map<unknown, number>;
  /** Occurrences counted: the most any one source has seen. */
  counted: number;
  seenAt: number;
}

export interface XidTrackerOptions {
  maxBusIds?: number;
  maxXidsPerBus?: number;
  dedupeWindowMs?: number;
  /** Clock for the de-duplication window (ms); Date.now by default. */
  now?: () => number;
}

/**
 * What the gpu collector needs from the kernel log: per GPU (by NVML bus id) the last XID and
 * a count per XID value. Memory is bounded (XID_MAX_BUS_IDS x XID_MAX_XIDS_PER_BUS counts, plus
 * DEDUPE_MAX_KEYS recent lines); what does not fit is counted in `dropped`.
 */
export class XidTracker {
  private readonly gpus = new Map<string, GpuXids>();
  private readonly recent = new Map<string, RecentLine>();
  private readonly maxBusIds: number;
  private readonly maxXidsPerBus: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  /** XID events counted. */
  events = 0;
  /** XID lines seen again from another source (the same kernel line in kern.log and syslog) and not counted again. */
  duplicates = 0;
  /** XID events not counted because a bound was reached (a 65th bus id, a 257th XID value of one GPU). */
  dropped = 0;

  constructor(opts: XidTrackerOptions = {}) {
    this.maxBusIds = opts.maxBusIds ?? XID_MAX_BUS_IDS;
    this.maxXidsPerBus = opts.maxXidsPerBus ?? XID_MAX_XIDS_PER_BUS;
    this.windowMs = opts.dedupeWindowMs ?? XID_DEDUPE_WINDOW_MS;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Looks at one log message logged at `timeMs`. `source` identifies the log it came from (the
   * record's origin): the same line from a second source within the de-duplication window is
   * not counted twice; without it every line counts. Never throws.
   */
  observe(message: string, timeMs: number, source?: unknown): void {
    if (typeof message !== "string") return;
    const text = scanned(message);
    if (!text.includes(XID_MARKER)) return;
    for (let at = text.indexOf(XID_MARKER); at !== -1; at = text.indexOf(XID_MARKER, at + XID_MARKER.length)) {
      const event = eventAt(text, at);
      if (event === undefined) continue;
      const key = source === undefined ? undefined : lineKey(text, at);
      const isNew = key === undefined || this.firstSighting(key, source);
      this.record(event, Number.isFinite(timeMs) ? timeMs : this.now(), isNew);
    }
  }

  /** The last XID of the GPU with this bus id (any form normalizePciBusId accepts). */
  last(pciBusId: string): XidLast | undefined {
    const id = this.gpus.has(pciBusId) ? pciBusId : normalizePciBusId(pciBusId);
    if (id === undefined) return undefined;
    const last = this.gpus.get(id)?.last;
    return last === undefined ? undefined : { ...last };
  }

  /** Bus ids (NVML form) that had an XID. */
  busIds(): string[] {
    return [...this.gpus.keys()];
  }

  /** Every (bus id, XID value) seen with its count, for nodetap_gpu_xid_errors_total{xid}. */
  *counts(): IterableIterator<XidCount> {
    for (const [pciBusId, gpu] of this.gpus) for (const [xid, count] of gpu.counts) yield { pciBusId, xid, count };
  }

  private record(event: XidEvent, timeMs: number, count: boolean): void {
    let gpu = this.gpus.get(event.pciBusId);
    if (gpu === undefined) {
      if (this.gpus.size >= this.maxBusIds) {
        if (count) this.dropped++;
        return;
      }
      gpu = { last: lastOf(event, timeMs), counts: new Map() };
      this.gpus.set(event.pciBusId, gpu);
    } else if (timeMs >= gpu.last.timeMs) {
      gpu.last = lastOf(event, timeMs);
    }
    if (!count) return;
    const prior = gpu.counts.get(event.xid);
    if (prior === undefined && gpu.counts.size >= this.maxXidsPerBus) {
      this.dropped++;
      return;
    }
    gpu.counts.set(event.xid, (prior ?? 0) + 1);
    this.events++;
  }

  /**
   * Whether this occurrence of a line is a new event: it is unless another source already
   * delivered as many occurrences of the same line within the window (each source delivers
   * every event once, so the events are the most any one source has seen).
   */
  private firstSighting(key: string, source: unknown): boolean {
    const now = this.now();
    this.expire(now);
    let line = this.recent.get(key);
    if (line === undefined) {
      if (this.recent.size >= DEDUPE_MAX_KEYS) {
        const oldest = this.recent.keys().next().value;
        if (oldest !== undefined) this.recent.delete(oldest);
      }
      line = { perSource: new Map(), counted: 0, seenAt: now };
    } else {
      this.recent.delete(key); // re-inserted below: the map stays ordered by last sighting
    }
    line.seenAt = now;
    this.recent.set(key, line);
    const seen = (line.perSource.get(source) ?? 0) + 1;
    // A line repeated by one source many times stays bounded too.
    if (line.perSource.size < 16 || line.perSource.has(source)) line.perSource.set(source, seen);
    if (seen <= line.counted) {
      this.duplicates++;
      return false;
    }
    line.counted = seen;
    return true;
  }

  private expire(now: number): void {
    for (const [key, line] of this.recent) {
      if (now - line.seenAt <= this.windowMs) break;
      this.recent.delete(key);
    }
  }
}

function lastOf(event: XidEvent, timeMs: number): XidLast {
  return event.gpuInstanceId === undefined ? { xid: event.xid, timeMs } : { xid: event.xid, timeMs, gpuInstanceId: event.gpuInstanceId };
}

/** The XID line from its marker to the end of the line (or the next marker), at most DEDUPE_KEY_CHARS. */
function lineKey(text: string, at: number): string {
  let end = Math.min(text.length, at + DEDUPE_KEY_CHARS);
  const newline = text.indexOf("\n", at);
  if (newline !== -1 && newline < end) end = newline;
  const next = text.indexOf(XID_MARKER, at + XID_MARKER.length);
  if (next !== -1 && next < end) end = next;
  return text.slice(at, end).trimEnd();
}

/**
 * Whether a record comes from the host's kernel log rather than from a container: journald
 * entries of the kernel transport, and lines of host files (sources host and files) that are
 * not pod logs. A pod printing "NVRM: Xid ..." (a dmesg dump, a test) must not count.
 */
export function isHostKernelRecord(record: Pick<LogRecord, "origin" | "attributes">): boolean {
  const origin = record.origin;
  if (origin.kubernetes !== undefined || origin.source === "pods") return false;
  if (origin.source === "journald") {
    const a = record.attributes;
    if (a === undefined) return false;
    return a.transport === "kernel" || (a.transport === undefined && a.identifier === "kernel");
  }
  return true;
}

/**
 * The log pipeline's record observer feeding `tracker`. It runs for every record of the node:
 * the source filter first (property reads; pod logs, most of a node's records, stop there),
 * then a String.includes check on the message, and only then the parse.
 */
export function xidRecordObserver(tracker: XidTracker): (record: LogRecord) => void {
  return (record) => {
    if (!isHostKernelRecord(record)) return;
    const message = record.message;
    if (!(message.length > XID_SCAN_CHARS ? message.slice(0, XID_SCAN_CHARS) : message).includes(XID_MARKER)) return;
    tracker.observe(message, Date.parse(record.time), record.origin);
  };
}
