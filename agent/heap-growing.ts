import v8 from "node:v8";

/** V8's heap sizes below which it scales its growing factor down (V8HeapTrait kMinSize, kMaxSize on 64-bit). */
const SMALL_HEAP_BYTES = 256 * 2 ** 20;
const LARGE_HEAP_BYTES = 2 * 2 ** 30;

/**
 * The largest factor V8 grows its old generation by between major collections, for a heap of
 * `heapSizeLimit` bytes (heap-controller.cc, MaxGrowingFactor): 4 for heaps of 2 GiB and more,
 * else 1.3 to 2 by size. Node sizes the heap from the container's memory limit, so under the
 * chart's 256 MiB limit V8 uses 1.3 (`--trace-gc-verbose`: "factor 1.3" with
 * --max-old-space-size=256, "factor 4.0" with 4096, Node 20 and 24 alike).
 */
export function v8MaxGrowingFactor(heapSizeLimit: number): number {
  if (heapSizeLimit >= LARGE_HEAP_BYTES) return 4;
  const size = Math.max(heapSizeLimit, SMALL_HEAP_BYTES);
  return 1.3 + (0.7 * (size - SMALL_HEAP_BYTES)) / (LARGE_HEAP_BYTES - SMALL_HEAP_BYTES);
}

/**
 * Caps how far V8 grows its old generation between major collections (runtime.heapGrowingPercent).
 * On a large heap (no container limit, or one of 8 GiB and more) V8 lets it grow up to 4 times
 * what survived, and the log pipeline at full speed promotes enough (batches, their tickets, zlib
 * streams, HTTP requests) that the old generation reached 28 MiB for 10 MiB live. V8's flag does
 * not cap, it replaces V8's factor (its 1.1-1.3 for memory-reducing collections too), so it is set
 * only where V8's own maximum is above it; elsewhere V8 already grows less. V8 reads it at every
 * major collection, so setting it at start works like the command-line flag, which NODE_OPTIONS
 * cannot carry (Node allows only a few V8 flags there). Measured with `npm run bench:logs` side by
 * side (docs/benchmarks.md, "Memory"). Returns whether it was set.
 */
export function applyHeapGrowingPercent(
  percent: number,
  heapSizeLimit = v8.getHeapStatistics().heap_size_limit,
  setFlags: (flags: string) => void = (flags) => v8.setFlagsFromString(flags),
): boolean {
  if (percent <= 0 || 1 + percent / 100 >= v8MaxGrowingFactor(heapSizeLimit)) return false;
  setFlags(`--heap-growing-percent=${Math.round(percent)}`);
  return true;
}
