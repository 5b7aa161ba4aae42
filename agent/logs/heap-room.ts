import v8 from "node:v8";

/** The agent's heap outside the log pipeline's records, measured under scrapes and 20,000 lines/s. */
const BASE_HEAP_BYTES = 48 * 2 ** 20;
/** Records held as JavaScript objects take up to about three times their bytes. */
const OBJECT_OVERHEAD = 3;

/**
 * Whether V8's heap limit (V8's own, or NODE_OPTIONS=--max-old-space-size where an operator trades
 * drain throughput for memory: docs/benchmarks.md, "Memory") leaves room for `maxInFlightBytes` of records in flight; a message naming both when it does not.
 * Past the limit V8 stops the process ("JavaScript heap out of memory") instead of growing.
 */
export function heapRoomWarning(maxInFlightBytes: number, heapLimitBytes = v8.getHeapStatistics().heap_size_limit): string | undefined {
  const needed = BASE_HEAP_BYTES + OBJECT_OVERHEAD * maxInFlightBytes;
  if (needed <= heapLimitBytes) return undefined;
  const mib = (b: number) => Math.ceil(b / 2 ** 20);
  return (
    `logs.maxInFlightBytes (${mib(maxInFlightBytes)} MiB) may need about ${mib(needed)} MiB of JavaScript heap, ` +
    `more than the V8 heap limit of ${mib(heapLimitBytes)} MiB: raise it with NODE_OPTIONS=--max-old-space-size=<MiB> ` +
    `(and the container's memory limit) or lower logs.maxInFlightBytes`
  );
}
