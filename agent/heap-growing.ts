import v8 from "node:v8";

/**
 * Caps how far V8 grows its old generation between major collections (runtime.heapGrowingPercent).
 * V8 sizes the next limit from the live size times a factor of up to 4 when collections are cheap,
 * and the log pipeline at full speed promotes enough (batches, their tickets, zlib streams, HTTP
 * requests) that the old generation reached 28 MiB for 10 MiB live. V8 reads the flag at every
 * major collection, so setting it at start works like the command-line flag, which the image's
 * NODE_OPTIONS could not carry (Node allows only a few V8 flags there). Measured with
 * `npm run bench:logs` side by side (docs/benchmarks.md, "Memory").
 */
export function applyHeapGrowingPercent(percent: number): void {
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${Math.round(percent)}`);
}
