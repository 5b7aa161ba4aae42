import type { TortureResult } from "./run.js";
import { isCopyTruncate } from "./rotators.js";

const MiB = 1024 * 1024;

/** The result as a readable table (for a terminal). */
export function formatReport(r: TortureResult): string {
  const o = r.options;
  const rows: Array<[string, string]> = [
    ["scheme / crash", `${o.scheme} / ${o.crash}`],
    ["seed", String(o.seed)],
    ["files x rate x duration", `${o.files} x ${o.rate}/s x ${o.duration} s (rotate every ${o.rotateEvery} s, keep ${o.keep})`],
    ["written", String(r.written)],
    ["received (unique)", String(r.received)],
    ["LOST", `${r.lost}${r.lostRunCount > 0 ? ` in ${r.lostRunCount} runs` : ""}`],
    ["  of which gone unseen", `${r.lostGoneBeforeAnyAgentUp} (rotator deleted/compressed their file before any started agent ran)`],
    ["duplicates", String(r.duplicates)],
    ["out of order", String(r.outOfOrder)],
  ];
  if (isCopyTruncate(o.scheme)) {
    rows.push(["rotator race lines", `${r.rotatorRaceLines} missing of ${r.rotatorRaceWindowLines} written between copy and truncate`]);
  }
  rows.push(
    ["kills / restarts", `${r.kills} (${r.killsBeforeStarted} before "nodetap started") / ${r.restarts}`],
    ["unexpected exits", r.unexpectedExits.length === 0 ? "0" : r.unexpectedExits.join("; ")],
    ["rotation rounds", String(r.rotations)],
    ["settled", r.settled],
    ["final exit (SIGTERM)", r.finalExit],
    [
      "receiver answers",
      Object.entries(r.receiverAnswers)
        .map(([k, v]) => `${k}: ${v}`)
        .join(", "),
    ],
    ["foreign records", r.foreign === 0 ? "0" : `${r.foreign}, e.g. ${JSON.stringify(r.foreignSamples[0])}`],
    ["agent peak RSS", `${(r.agentPeakRssBytes / MiB).toFixed(1)} MiB`],
    ["elapsed", `${(r.elapsedMs / 1000).toFixed(1)} s`],
  );
  if (r.dir) rows.push(["dir (kept)", r.dir]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  if (r.lostRuns.length > 0) {
    lines.push("", "lost runs (first ones):");
    for (const run of r.lostRuns)
      lines.push(`  ${run.writer} s=${run.from}${run.to > run.from ? `..${run.to}` : ""} (${run.to - run.from + 1})`);
  }
  if (r.outOfOrderRuns.length > 0) {
    lines.push("", "out-of-order runs (first ones):");
    for (const o of r.outOfOrderRuns) lines.push(`  ${o.writer} s=${o.seq} arrived after s=${o.after} (at ${o.atS} s)`);
  }
  if (r.duplicateRuns.length > 0) {
    lines.push("", "duplicate runs (the longest):");
    for (const d of r.duplicateRuns) lines.push(`  ${d.writer} s=${d.from}..${d.from + d.count - 1} (${d.count}) again at ${d.atS} s`);
  }
  const logs = Object.entries(r.agentLogCounts);
  if (logs.length > 0) {
    lines.push("", "agent log messages (warn/error, checkpoint/rotated/lost):");
    for (const [msg, n] of logs.slice(0, 30)) lines.push(`  ${String(n).padStart(6)}  ${msg}`);
  }
  return lines.join("\n") + "\n";
}
