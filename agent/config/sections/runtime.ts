import { f, type Infer } from "../schema.js";

/** The Node.js process itself. */
export const runtimeSchema = {
  heapTrimInterval: f.duration(
    60,
    "How often nodetap checks whether its RSS grew by 8 MiB or more since its last memory-reducing garbage collection, and if so runs one (a pause of about 50 ms; V8 otherwise keeps the memory a burst took). The first runs 15 s after the start. 0 turns it off.",
    { flags: ["runtime.heap-trim-interval"], min: 0 },
  ),
};

export type RuntimeConfig = Infer<typeof runtimeSchema>;
