import type { LogMetrics } from "../metrics.js";
import type { FileTailer } from "./file-tailer.js";

/** /status lists the files furthest behind first, at most this many (a node can hold thousands). */
const STATUS_FILES_LIMIT = 1000;

/** Sets the per-pipeline file gauges: counts, total and largest lag, oldest unacknowledged record. */
export function updateFileGauges(m: LogMetrics, tailers: Iterable<FileTailer>, finishing: Iterable<FileTailer>, waiting: number): void {
  let known = 0;
  let open = 0;
  let draining = 0;
  let lag = 0;
  let maxLag = 0;
  let oldest = Infinity;
  for (const t of tailers) {
    known++;
    if (t.isOpen) open++;
    if (t.isOpen && t.state === "rotated") draining++;
    lag += t.lagBytes;
    maxLag = Math.max(maxLag, t.lagBytes);
    oldest = Math.min(oldest, t.oldestUnackedAt() ?? Infinity);
  }
  for (const t of finishing) oldest = Math.min(oldest, t.oldestUnackedAt() ?? Infinity);
  m.filesWatched.set(known + waiting);
  m.filesOpen.set(open);
  m.filesDraining.set(draining);
  m.filesWaiting.set(waiting);
  m.lagBytes.set(lag);
  m.maxFileLagBytes.set(maxLag);
  m.oldestUnackedAge.set(oldest === Infinity ? 0 : (Date.now() - oldest) / 1000);
}

/** The files part of the pipeline's /status: each file with offsets, size and lag. */
export function filesStatus(tailers: FileTailer[], waiting: number): Record<string, unknown> {
  const files = [...tailers]
    .sort((a, b) => b.lagBytes - a.lagBytes)
    .slice(0, STATUS_FILES_LIMIT)
    .map((t) => t.status());
  let unacknowledged = 0;
  for (const t of tailers) unacknowledged += Math.max(0, t.size - t.committedOffset);
  return {
    filesKnown: tailers.length,
    /** Bytes in the files not yet acknowledged by the sink (read or not): what a crash now would re-send or still has to send. */
    deliveryLagBytes: unacknowledged,
    filesOpen: tailers.filter((t) => t.isOpen).length,
    filesWaiting: waiting,
    files,
    filesOmitted: Math.max(0, tailers.length - STATUS_FILES_LIMIT),
  };
}
