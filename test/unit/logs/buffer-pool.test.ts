import { afterEach, describe, expect, it, vi } from "vitest";
import { BufferPool } from "../../../agent/logs/delivery/buffer-pool.js";

describe("BufferPool", () => {
  afterEach(() => vi.useRealTimers());

  it("hands back a buffer given to it, large enough, at most maxBuffers of them, none larger than maxBufferBytes", () => {
    const pool = new BufferPool(2, 1000);
    expect(pool.take(100)).toBeUndefined();
    const a = Buffer.alloc(500);
    const b = Buffer.alloc(200);
    pool.give(a);
    pool.give(b);
    pool.give(Buffer.alloc(300));
    pool.give(Buffer.alloc(2000));
    expect(pool.size).toBe(2);
    expect(pool.take(400)).toBe(a);
    expect(pool.take(400)).toBeUndefined();
    expect(pool.take(100)).toBe(b);
    expect(pool.size).toBe(0);
  });

  it("keeps nothing with room for none (reuse turned off)", () => {
    const pool = new BufferPool(0, 1000);
    pool.give(Buffer.alloc(10));
    expect(pool.size).toBe(0);
    expect(pool.take(1)).toBeUndefined();
  });

  it("lets its buffers go once nothing was taken for idleReleaseMs", () => {
    vi.useFakeTimers();
    const pool = new BufferPool(4, 1000, 2000);
    pool.give(Buffer.alloc(10));
    pool.give(Buffer.alloc(10));
    vi.advanceTimersByTime(1500);
    expect(pool.take(10)).toBeDefined();
    vi.advanceTimersByTime(1000);
    expect(pool.size).toBe(1); // taken from 500 ms ago: kept
    vi.advanceTimersByTime(2500);
    expect(pool.size).toBe(0);
  });
});
