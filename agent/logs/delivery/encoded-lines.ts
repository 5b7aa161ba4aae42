import { Batch } from "./batcher.js";

/** Where each line of an encoded batch ends (the offset after its '\n'). */
export function lineEnds(raw: Buffer): number[] {
  const ends: number[] = [];
  for (let nl = raw.indexOf(0x0a); nl >= 0; nl = raw.indexOf(0x0a, nl + 1)) ends.push(nl + 1);
  if (ends.length === 0 || ends[ends.length - 1] !== raw.length) ends.push(raw.length);
  return ends;
}

/**
 * The lines of an encoded batch at `indexes` (each line is one record, in order) as an encoded
 * batch of their own, with the tickets they belong to; like subsetOf for record batches, it is
 * only sent, never settled.
 */
export function encodedSubset(batch: Batch, raw: Buffer, indexes: readonly number[]): Batch {
  const ends = lineEnds(raw);
  if (ends.length !== batch.count) throw new Error(`encoded batch holds ${ends.length} lines for ${batch.count} records`);
  const parts: Buffer[] = [];
  const out = new Batch(true);
  for (const { index, ticket } of batch.ticketsAt(indexes)) {
    const line = raw.subarray(index === 0 ? 0 : ends[index - 1], ends[index]);
    parts.push(line);
    out.pushEncoded(line.length, ticket);
  }
  out.raw = Buffer.concat(parts);
  return out;
}

/** An encoded batch in two halves by records (for a destination that rejects the size). */
export function encodedHalves(batch: Batch, raw: Buffer): [Batch, Batch] {
  const half = Math.ceil(batch.count / 2);
  const all = Array.from({ length: batch.count }, (_, i) => i);
  return [encodedSubset(batch, raw, all.slice(0, half)), encodedSubset(batch, raw, all.slice(half))];
}
