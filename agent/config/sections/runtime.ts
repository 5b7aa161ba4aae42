import { f, type Infer } from "../schema.js";

/** The Node.js process itself. */
export const runtimeSchema = {
  heapTrimInterval: f.duration(
    60,
    "How often nodetap checks whether its RSS grew by 8 MiB or more since its last memory-reducing garbage collection, and if so runs one (a pause of about 50 ms; V8 otherwise keeps the memory a burst took). The first runs 15 s after the start. 0 turns it off.",
    { flags: ["runtime.heap-trim-interval"], min: 0 },
  ),
  heapGrowingPercent: f.int(
    150,
    "The most V8 lets its old generation grow past what survived its last major garbage collection before the next one, in percent of that (150: up to 2.5 times the live size). Applies where V8 would allow more: heaps of 2 GiB and more (no container memory limit, or one of 8 GiB and more), where V8 grows it up to 4 times and draining logs at full speed peaked 15-20 MiB higher; under smaller limits V8 uses 1.3-2 by itself. 0 leaves it to V8. Lower values collect more often, at some CPU cost (100: 125 MiB instead of 127-136, about 5 % fewer lines per CPU second).",
    { flags: ["runtime.heap-growing-percent"], min: 0, max: 1000 },
  ),
};

export type RuntimeConfig = Infer<typeof runtimeSchema>;
