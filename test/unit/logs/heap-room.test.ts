import { describe, expect, it } from "vitest";
import { heapRoomWarning } from "../../../agent/logs/heap-room.js";

const MiB = 2 ** 20;

describe("heap room for records in flight", () => {
  it("is quiet with the default budget under a 128 MiB old-space limit (176 MiB heap)", () => {
    expect(heapRoomWarning(16 * MiB, 176 * MiB)).toBeUndefined();
  });

  it("names the key, the limit and the way out when the budget outgrows the heap", () => {
    const w = heapRoomWarning(64 * MiB, 144 * MiB);
    expect(w).toContain("logs.maxInFlightBytes (64 MiB)");
    expect(w).toContain("about 240 MiB");
    expect(w).toContain("V8 heap limit of 144 MiB");
    expect(w).toContain("NODE_OPTIONS=--max-old-space-size");
  });
});
