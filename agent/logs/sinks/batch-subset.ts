import { recordSize } from "../record.js";
import { Batch } from "./batcher.js";

/**
 * The records of `batch` at `indexes` (ascending or not) as a batch of their own, with the
 * tickets they belong to, for a per-record retry or dead letter after a partial result. Such a
 * batch is only sent, never settled: the lane settles the whole original batch once every part
 * is through, so acknowledgements still cover every record of it exactly once.
 */
export function subsetOf(batch: Batch, indexes: readonly number[]): Batch {
  const sorted = [...new Set(indexes)].filter((i) => i >= 0 && i < batch.records.length).sort((a, b) => a - b);
  const out = new Batch();
  let run = 0;
  let runEnd = batch.counts[0] ?? 0;
  for (const i of sorted) {
    while (i >= runEnd) runEnd += batch.counts[++run];
    const r = batch.records[i];
    out.push(r, recordSize(r), batch.tickets[run]);
  }
  return out;
}
