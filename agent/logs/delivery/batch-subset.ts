import { recordSize } from "../record.js";
import { Batch } from "./batcher.js";
import { encodedSubset } from "./encoded-lines.js";

/**
 * The records of `batch` at `indexes` (ascending or not) as a batch of their own, with the
 * tickets they belong to, for a per-record retry or dead letter after a partial result. Such a
 * batch is only sent, never settled: the lane settles the whole original batch once every part
 * is through, so acknowledgements still cover every record of it exactly once. An encoded
 * batch needs its lines (`raw`).
 */
export function subsetOf(batch: Batch, indexes: readonly number[], raw?: Buffer): Batch {
  if (batch.encoded) {
    if (raw === undefined) throw new Error("an encoded batch's subset needs its lines");
    return encodedSubset(batch, raw, indexes);
  }
  const out = new Batch();
  for (const { index, ticket } of batch.ticketsAt(indexes)) {
    const r = batch.records[index];
    out.push(r, recordSize(r), ticket);
  }
  return out;
}
