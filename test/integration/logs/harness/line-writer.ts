import fs from "node:fs";

/**
 * Appends numbered lines to a file at a steady rate from the test process, like an application
 * logging: `w=<writer> g=<generation> s=<seq> <padding>`, plain or CRI-framed. `reopen()` is
 * what an application does on SIGHUP after logrotate's rename+create (or a container runtime on
 * the kubelet's ReopenContainerLog): close and open the path again, a new generation.
 */
export class LineWriter {
  seq = 0;
  gen = 0;
  private fd: number;
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  private owed = 0;

  constructor(
    readonly file: string,
    readonly id: string,
    private readonly linesPerSecond: number,
    private readonly format: "plain" | "cri" = "plain",
    private readonly padding = 40,
  ) {
    this.fd = fs.openSync(file, "a");
  }

  line(seq: number): string {
    const body = `w=${this.id} g=${this.gen} s=${seq} ${"x".repeat(this.padding)}`;
    return this.format === "cri" ? `${new Date().toISOString().replace("Z", "000000Z")} stdout F ${body}\n` : `${body}\n`;
  }

  /** Writes `n` lines now, in one write. */
  write(n: number): void {
    let text = "";
    for (let i = 0; i < n; i++) text += this.line(this.seq++);
    fs.writeSync(this.fd, text);
  }

  start(tickMs = 10): void {
    this.startedAt = Date.now();
    let written = 0;
    this.timer = setInterval(() => {
      // Catch up after a late timer so the rate holds on a busy machine.
      const due = Math.floor(((Date.now() - this.startedAt) / 1000) * this.linesPerSecond) - written + this.owed;
      if (due <= 0) return;
      const n = Math.min(due, this.linesPerSecond);
      this.write(n);
      written += n;
    }, tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  reopen(): void {
    fs.closeSync(this.fd);
    this.fd = fs.openSync(this.file, "a");
    this.gen++;
  }

  close(): void {
    this.stop();
    fs.closeSync(this.fd);
  }
}

const LINE = /w=(\S+) g=(\d+) s=(\d+)/;

/** Tracks what a receiver got from LineWriters: per writer, seen sequence numbers and order. */
export class SequenceLedger {
  private readonly seen = new Map<string, Uint8Array>();
  private readonly lastInGen = new Map<string, number>();
  duplicates = 0;
  outOfOrder = 0;
  foreign = 0;
  total = 0;

  constructor(private readonly capacity: number) {}

  add(message: string): void {
    const m = LINE.exec(message);
    if (!m) {
      this.foreign++;
      return;
    }
    this.total++;
    const [, writer, gen, seqText] = m;
    const seq = Number(seqText);
    let bits = this.seen.get(writer);
    if (!bits) {
      bits = new Uint8Array(this.capacity);
      this.seen.set(writer, bits);
    }
    const duplicate = bits[seq] === 1;
    if (duplicate) this.duplicates++;
    else bits[seq] = 1;
    // Order is per file generation; re-deliveries after a crash are duplicates, not disorder.
    const key = `${writer}/${gen}`;
    const last = this.lastInGen.get(key) ?? -1;
    if (!duplicate && seq < last) this.outOfOrder++;
    this.lastInGen.set(key, Math.max(last, seq));
  }

  /** Sequence numbers below `upTo` never received from `writer`. */
  missing(writer: string, upTo: number): number[] {
    const bits = this.seen.get(writer);
    const out: number[] = [];
    for (let s = 0; s < upTo; s++) if (!bits || !bits[s]) out.push(s);
    return out;
  }

  /** Missing sequence numbers as compact ranges, for failure messages. */
  missingRanges(writer: string, upTo: number): string {
    const ranges: string[] = [];
    let start = -1;
    const miss = new Set(this.missing(writer, upTo));
    for (let s = 0; s <= upTo; s++) {
      if (miss.has(s) && start < 0) start = s;
      if (!miss.has(s) && start >= 0) {
        ranges.push(start === s - 1 ? `${start}` : `${start}-${s - 1}`);
        start = -1;
      }
    }
    return `${miss.size} missing: ${ranges.slice(0, 20).join(", ")}${ranges.length > 20 ? ", ..." : ""}`;
  }

  count(writer: string, upTo: number): number {
    return upTo - this.missing(writer, upTo).length;
  }
}
