import { f, type Infer } from "../../config/schema.js";

const MIB = 1024 * 1024;

/** What every sink shares, delivery's settings: logs.sink.batch, .retry and .deadLetter. */
export const deliverySchema = {
  batch: {
    maxBytes: f.int(
      MIB,
      "A batch is sent when it holds this many bytes of records: the request body before compression for the NDJSON sinks (stdout, file, http; only a single larger record passes it), message bytes plus 96 per record for the others.",
      { min: 1024 },
    ),
    maxRecords: f.int(10_000, "A batch is sent when it holds this many records.", { min: 1 }),
    maxWait: f.duration(0.5, "A batch is sent this long after its first record at the latest.", { min: 0.001 }),
  },
  retry: {
    initialBackoff: f.duration(0.25, "First retry delay; doubles per attempt, with jitter.", { min: 0.001 }),
    maxBackoff: f.duration(60, "Longest retry delay (a server's Retry-After is honoured up to 15 minutes).", { min: 0.001 }),
    maxAttempts: f.int(0, "Attempts per batch before it goes to the dead-letter file; 0 retries forever (nothing is dropped).", {
      min: 0,
    }),
  },
  deadLetter: {
    path: f.string("", "NDJSON file for records the sink rejected permanently; empty means dead-letter.ndjson in checkpoint.dir."),
    maxBytes: f.int(100 * MIB, "Rotate the dead-letter file at this size.", { min: 1024 }),
    maxFiles: f.int(5, "Rotated dead-letter files kept.", { min: 1 }),
  },
};

export type DeliveryConfig = Infer<typeof deliverySchema>;
