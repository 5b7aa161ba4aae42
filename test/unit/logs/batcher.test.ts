import { describe, expect, it, vi } from "vitest";
import { AckTracker } from "../../../agent/logs/ack-tracker.js";
import { Batcher, type Batch } from "../../../agent/logs/delivery/batcher.js";
import { BufferPool } from "../../../agent/logs/delivery/buffer-pool.js";
import { NdjsonEncoder } from "../../../agent/logs/sinks/shared/ndjson.js";
import { makeRecord, recordSize } from "../../../agent/logs/record.js";
import { TEST_ORIGIN } from "./helpers.js";

const rec = (msg: string) => makeRecord("2024-05-01T10:00:00.000000000Z", "stdout", msg, TEST_ORIGIN);

describe("Batcher", () => {
  it("seals by record count and keeps ticket runs", () => {
    const sealed: Batch[] = [];
    const b = new Batcher({ maxBytes: 1 << 20, maxRecords: 3, maxWaitMs: 10_000 }, (x) => sealed.push(x));
    const t = new AckTracker<number>(() => undefined);
    const t1 = t.issue(10, 2);
    const t2 = t.issue(20, 2);
    b.add([rec("a"), rec("b")], t1);
    b.add([rec("c"), rec("d")], t2);
    expect(sealed).toHaveLength(1);
    expect(sealed[0].records.map((r) => r.message)).toEqual(["a", "b", "c"]);
    expect(sealed[0].counts).toEqual([2, 1]);
    b.seal();
    expect(sealed[1].records.map((r) => r.message)).toEqual(["d"]);
    b.close();
  });

  it("seals by bytes, and a record larger than maxBytes travels alone", () => {
    const sealed: Batch[] = [];
    const size = recordSize(rec("x".repeat(100)));
    const b = new Batcher({ maxBytes: size * 2, maxRecords: 100, maxWaitMs: 10_000 }, (x) => sealed.push(x));
    const t = new AckTracker<number>(() => undefined).issue(1, 4);
    b.add([rec("x".repeat(100)), rec("x".repeat(100)), rec("y".repeat(10_000)), rec("z")], t);
    b.seal();
    expect(sealed.map((s) => s.records.length)).toEqual([2, 1, 1]);
    b.close();
  });

  it("seals after maxWait", () => {
    vi.useFakeTimers();
    try {
      const sealed: Batch[] = [];
      const b = new Batcher({ maxBytes: 1 << 20, maxRecords: 100, maxWaitMs: 200 }, (x) => sealed.push(x));
      b.add([rec("a")], new AckTracker<number>(() => undefined).issue(1, 1));
      vi.advanceTimersByTime(199);
      expect(sealed).toHaveLength(0);
      vi.advanceTimersByTime(1);
      expect(sealed).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("settling a batch acknowledges its records; split halves keep the accounting", () => {
    const commits: number[] = [];
    const tracker = new AckTracker<number>((p) => commits.push(p), 0);
    const sealed: Batch[] = [];
    const b = new Batcher({ maxBytes: 1 << 20, maxRecords: 100, maxWaitMs: 10_000 }, (x) => sealed.push(x));
    b.add([rec("a"), rec("b"), rec("c")], tracker.issue(30, 3));
    b.seal();
    const [h1, h2] = sealed[0].split();
    expect(h1.records.length + h2.records.length).toBe(3);
    expect(h1.bytes + h2.bytes).toBe(sealed[0].bytes);
    h2.settle();
    expect(commits).toEqual([]);
    h1.settle();
    expect(commits).toEqual([30]);
  });

  it("writes a batch into a pooled buffer only after a batch that filled up (a half-empty one takes a new buffer)", () => {
    const pool = new BufferPool(4, 1 << 20);
    const pooled = Buffer.alloc(128 * 1024, 0x20);
    pool.give(pooled);
    const take = vi.spyOn(pool, "take");
    const sealed: Batch[] = [];
    const b = new Batcher({ maxBytes: 64 * 1024, maxRecords: 2, maxWaitMs: 10_000 }, (x) => sealed.push(x), new NdjsonEncoder(), pool);
    const t = new AckTracker<number>(() => undefined);
    b.add([rec("a")], t.issue(1, 1));
    b.seal(); // half empty: time is up
    b.add([rec("b"), rec("c")], t.issue(2, 2)); // fills up (maxRecords)
    b.add([rec("d")], t.issue(3, 1));
    b.seal();
    expect(take).toHaveBeenCalledTimes(1);
    expect(sealed.map((s) => s.backing === pooled)).toEqual([false, false, true]);
    expect(sealed[2].raw?.toString()).toContain('"message":"d"');
    b.close();
  });
});
