const LINE = /w=(\S+) s=(\d+)/;

/** Per writer: how often each sequence number arrived, in a byte array that grows. */
class Counts {
  data = new Uint8Array(1 << 16);
  highest = -1;

  bump(seq: number): number {
    if (seq >= this.data.length) {
      let size = this.data.length;
      while (size <= seq) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.data);
      this.data = next;
    }
    const n = this.data[seq];
    if (n < 255) this.data[seq] = n + 1;
    return n;
  }

  has(seq: number): boolean {
    return seq < this.data.length && this.data[seq] > 0;
  }
}

export interface SeqRun {
  writer: string;
  from: number;
  to: number;
}

/**
 * What the receiver got, line by line: every `w=<writer> s=<seq>` message is counted once as
 * received, again as a duplicate, and as out of order when it is a first arrival with a lower
 * sequence number than one already received from that writer.
 */
export class Ledger {
  received = 0;
  duplicates = 0;
  outOfOrder = 0;
  /** Records without `w=… s=…` (nothing the writers wrote). */
  foreign = 0;
  /** The first few foreign messages (cut to 120 characters), to tell what they were. */
  readonly foreignSamples: string[] = [];
  lastArrivalAt = 0;
  /** The start of each run of out-of-order arrivals (the first 20): what came late, after what. */
  readonly outOfOrderRuns: Array<{ writer: string; seq: number; after: number; atMs: number }> = [];
  /** Runs of duplicate arrivals (consecutive sequence numbers of a writer; at most 100,000): what was sent again, and when. */
  readonly duplicateRuns: Array<{ writer: string; from: number; count: number; atMs: number }> = [];
  private lastLate = new Map<string, number>();
  private readonly openDuplicateRun = new Map<string, { writer: string; from: number; count: number; atMs: number }>();
  private readonly writers = new Map<string, Counts>();

  add(message: string): void {
    this.lastArrivalAt = Date.now();
    const m = LINE.exec(message);
    if (!m) {
      this.foreign++;
      if (this.foreignSamples.length < 5) this.foreignSamples.push(message.slice(0, 120));
      return;
    }
    const seq = Number(m[2]);
    let c = this.writers.get(m[1]);
    if (!c) {
      c = new Counts();
      this.writers.set(m[1], c);
    }
    if (c.bump(seq) > 0) {
      this.duplicates++;
      const run = this.openDuplicateRun.get(m[1]);
      if (run !== undefined && run.from + run.count === seq) run.count++;
      else if (this.duplicateRuns.length < 100_000) {
        const next = { writer: m[1], from: seq, count: 1, atMs: this.lastArrivalAt };
        this.duplicateRuns.push(next);
        this.openDuplicateRun.set(m[1], next);
      } else this.openDuplicateRun.delete(m[1]);
      return;
    }
    this.received++;
    if (seq < c.highest) {
      this.outOfOrder++;
      if (this.lastLate.get(m[1]) !== seq - 1 && this.outOfOrderRuns.length < 20) {
        this.outOfOrderRuns.push({ writer: m[1], seq, after: c.highest, atMs: this.lastArrivalAt });
      }
      this.lastLate.set(m[1], seq);
    } else c.highest = seq;
  }

  has(writer: string, seq: number): boolean {
    return this.writers.get(writer)?.has(seq) ?? false;
  }

  /** Sequence numbers below `upTo` not received from `writer` and not `excused`, as runs. */
  missingRuns(writer: string, upTo: number, excused: (seq: number) => boolean = () => false): SeqRun[] {
    const runs: SeqRun[] = [];
    let from = -1;
    for (let s = 0; s <= upTo; s++) {
      const miss = s < upTo && !this.has(writer, s) && !excused(s);
      if (miss && from < 0) from = s;
      if (!miss && from >= 0) {
        runs.push({ writer, from, to: s - 1 });
        from = -1;
      }
    }
    return runs;
  }

  /** How many of `seqs` were never received from `writer`. */
  countMissing(writer: string, from: number, to: number): number {
    let n = 0;
    for (let s = from; s < to; s++) if (!this.has(writer, s)) n++;
    return n;
  }
}
