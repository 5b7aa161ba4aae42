import { makeRecord, type LogRecord, type LogStream } from "../record.js";
import type { LogMetrics } from "../metrics.js";
import type { LineDecoder, RecordHandler } from "./decoder.js";
import type { ContinuationRule } from "./multiline-rules.js";

export interface MultilineLimits {
  flushAfterMs: number;
  maxLines: number;
  maxBytes: number;
}

/** A record being assembled from lines of one stream. */
class Assembly {
  first?: LogRecord;
  lines: string[] = [];
  bytes = 0;
  start = Infinity;
  lastAt = 0;
  truncated = false;

  constructor(readonly rule: ContinuationRule) {}
}

/**
 * Joins records of the inner decoder into multiline records (stack traces), per stream, with
 * the given continuation rule. A record is emitted when the next start line arrives, when it
 * reaches maxLines/maxBytes (counted), or flushAfter after its last line (see flushExpired).
 */
export class MultilineDecoder implements LineDecoder {
  private readonly assemblies = new Map<LogStream, Assembly>();

  constructor(
    private readonly inner: LineDecoder,
    private readonly newRule: () => ContinuationRule,
    private readonly limits: MultilineLimits,
    private readonly metrics: LogMetrics,
  ) {}

  decode(line: Buffer, start: number, truncated: boolean, out: RecordHandler): void {
    this.inner.decode(line, start, truncated, (record, recordStart) => this.push(record, recordStart, out));
  }

  private push(record: LogRecord, start: number, out: RecordHandler): void {
    let a = this.assemblies.get(record.stream);
    if (a === undefined) {
      a = new Assembly(this.newRule());
      this.assemblies.set(record.stream, a);
    }
    const continues = a.rule.continues(record.message);
    if (a.first !== undefined && continues) {
      const overLines = a.lines.length >= this.limits.maxLines;
      const overBytes = a.bytes + record.message.length + 1 > this.limits.maxBytes;
      if (!overLines && !overBytes) {
        a.lines.push(record.message);
        a.bytes += record.message.length + 1;
        a.truncated ||= record.truncated;
        a.lastAt = Date.now();
        return;
      }
      this.metrics.multilineCapped.inc({ reason: overLines ? "max_lines" : "max_bytes" });
    }
    if (a.first !== undefined) this.emit(a, out);
    a.first = record;
    a.lines = [record.message];
    a.bytes = record.message.length;
    a.start = start;
    a.truncated = record.truncated;
    a.lastAt = Date.now();
  }

  private emit(a: Assembly, out: RecordHandler): void {
    const first = a.first as LogRecord;
    const message = a.lines.length === 1 ? a.lines[0] : a.lines.join("\n");
    const start = a.start;
    a.first = undefined;
    a.lines = [];
    a.bytes = 0;
    a.start = Infinity;
    out(makeRecord(first.time, first.stream, message, first.origin, a.truncated, first.attributes), start);
  }

  pendingStart(): number {
    let min = this.inner.pendingStart();
    for (const a of this.assemblies.values()) if (a.start < min) min = a.start;
    return min;
  }

  /** True when a record is being assembled (so the owner should call flushExpired later). */
  get holding(): boolean {
    for (const a of this.assemblies.values()) if (a.first !== undefined) return true;
    return false;
  }

  /** Emits records whose last line is older than flushAfter; returns how many were emitted. */
  flushExpired(now: number, out: RecordHandler): number {
    let n = 0;
    for (const a of this.sortedAssemblies()) {
      if (a.first !== undefined && now - a.lastAt >= this.limits.flushAfterMs) {
        this.emit(a, out);
        n++;
      }
    }
    return n;
  }

  heldBytes(): number {
    let n = this.inner.heldBytes?.() ?? 0;
    for (const a of this.assemblies.values()) if (a.first !== undefined) n += a.bytes;
    return n;
  }

  flushHeldPieces(out: RecordHandler): number {
    return this.inner.flushHeldPieces?.((record, start) => this.push(record, start, out)) ?? 0;
  }

  flush(out: RecordHandler): void {
    this.inner.flush((record, start) => this.push(record, start, out));
    for (const a of this.sortedAssemblies()) if (a.first !== undefined) this.emit(a, out);
  }

  private sortedAssemblies(): Assembly[] {
    return [...this.assemblies.values()].sort((x, y) => x.start - y.start);
  }
}
