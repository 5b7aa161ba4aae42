/** File system calls in flight at once during a scan, so thousands of files do not take a round trip each in turn. */
const DEFAULT_CONCURRENCY = 32;

/** Runs `fn` over `items` with bounded concurrency; returns the defined results by item. */
export async function mapConcurrently<I, T>(
  items: readonly I[],
  fn: (item: I) => Promise<T | undefined>,
  concurrency = DEFAULT_CONCURRENCY,
): Promise<Map<I, T>> {
  const out = new Map<I, T>();
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      const result = await fn(item);
      if (result !== undefined) out.set(item, result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}
