// Issue 9: the crash/rotation matrix. Every rotation scheme users' nodes produce × every crash
// point, against the real agent process, real files rotated the way real rotators do, and an HTTP
// receiver that accounts for every line (scripts/torture, the same harness as `npm run
// torture:logs`). Each run asserts that no line was lost; copytruncate's own race (lines written
// between the rotator's copy and its truncate) is measured apart and reported, as it is lost
// whatever the reader does. Duplicates are allowed (at-least-once) and reported; out-of-order
// first arrivals within a stream are reported and asserted to stay under 0.5 % (see check()).
//
// Short runs (a few seconds of writing each) keep the matrix at a few minutes on 2 cores; the
// long runs and their figures are in docs/log-pipeline.md ("Crash and rotation torture").
import { describe, expect, it } from "vitest";
import { runTorture, type TortureResult } from "../../../scripts/torture/run.js";
import type { CrashMode, Scheme, TortureOptions } from "../../../scripts/torture/options.js";

const SCHEMES: Scheme[] = [
  "rename-chain",
  "dateext",
  "delaycompress",
  "compress",
  "copytruncate",
  "copytruncate-compress",
  // Out of the matrix from 4459ad8 to f9d6d75: drain had a whole generation late (about 25 %) in
  // two runs of a clean-clone CI (a copy of a rotation the previous run had not noticed, read
  // again at the restart), and under load 2 of 64 runs lost a generation (2bc1d00).
  "copytruncate-noappend",
  "kubelet",
  "kubelet-symlinks",
];
const CRASHES: CrashMode[] = ["random", "startup", "drain", "sink-refusing"];

const BASE: Partial<TortureOptions> = {
  files: 2,
  rate: 2000,
  duration: 6,
  rotateEvery: 1.5,
  kills: 5,
  settleQuiet: 15,
  settleMax: 60,
  // The agent runs with its default tailing settings, as on a user's node.
};

function summary(r: TortureResult): string {
  const o = r.options;
  return (
    `${o.scheme} × ${o.crash} (seed ${o.seed}, ${o.files} files × ${o.rate} lines/s × ${o.duration} s): ` +
    `written ${r.written}, received ${r.received}, lost ${r.lost}, duplicates ${r.duplicates}, ` +
    `out of order ${r.outOfOrder}, rotator race ${r.rotatorRaceLines}, kills ${r.kills} ` +
    `(${r.killsBeforeStarted} before started), rotations ${r.rotations}, settled ${r.settled}, ` +
    `peak RSS ${(r.agentPeakRssBytes / 2 ** 20).toFixed(0)} MiB`
  );
}

const orderBound = (r: TortureResult) => Math.ceil(r.written * 0.005);

/** Everything but order: asserted on every run, never retried (a loss is never a flake). */
function checkDelivery(r: TortureResult): string {
  console.log(summary(r));
  const detail = `${summary(r)}\nlost runs: ${JSON.stringify(r.lostRuns.slice(0, 5))}\nlog: ${JSON.stringify(r.agentLogCounts)}\nforeign: ${JSON.stringify(r.foreignSamples)}\nlate runs: ${JSON.stringify(r.outOfOrderRuns.slice(0, 5))}`;
  expect(r.unexpectedExits, detail).toEqual([]);
  expect(r.kills, detail).toBeGreaterThan(0);
  expect(r.foreign, detail).toBe(0);
  expect(r.lost, detail).toBe(0);
  expect(r.received, detail).toBe(r.written - r.rotatorRaceLines);
  expect(r.finalExit, detail).toMatch(/code 0/);
  return detail;
}

/**
 * A stream's rotated files are read before its active file (and a copytruncated file's new
 * generation after the copies of the old one): order holds per stream, except for lines a writer
 * puts into the old file after nodetap read it to its end and moved on (the writer reopens a
 * moment after the rename: a few lines per rotation on a loaded machine, about 0.03 % in the long
 * runs). A broken order shows up as whole files late: 2.5–48 % of the lines before issue 9's
 * fixes, 14–25 % for copytruncate × startup before the copies went first. kubelet × drain had
 * 3–6 % of its lines late in about one run in six until 2026-12-06: a scan that came between the
 * kubelet's rename of 0.log and the runtime's reopen read the rotated file in a lane of its own
 * (test/unit/logs/rotated-name-stream.test.ts); 0 in 22 runs since. A run over the bound is run
 * again, and the second run must hold it (delivery is asserted on both).
 */
async function check(options: Partial<TortureOptions>): Promise<void> {
  const first = await runTorture(options);
  const detail = checkDelivery(first);
  if (first.outOfOrder <= orderBound(first)) return;
  console.log(`out of order over the bound, running again: ${detail}`);
  const second = await runTorture(options);
  expect(second.outOfOrder, checkDelivery(second)).toBeLessThanOrEqual(orderBound(second));
}

describe("crash/rotation matrix (real agent process, real files, real HTTP receiver)", () => {
  for (const scheme of SCHEMES) {
    for (const crash of CRASHES) {
      it(`${scheme} × ${crash}: nothing lost`, { timeout: 240_000 }, async () => {
        await check({ ...BASE, scheme, crash, seed: 11 });
      });
    }
  }

  it("rename-chain at 10,000 lines/s per file with random kills: nothing lost", { timeout: 240_000 }, async () => {
    await check({ ...BASE, files: 2, rate: 10_000, duration: 6, kills: 6, scheme: "rename-chain", crash: "random", seed: 12 });
  });

  it("kubelet at 10,000 lines/s per file with kills during drains: nothing lost", { timeout: 240_000 }, async () => {
    await check({ ...BASE, files: 2, rate: 10_000, duration: 6, kills: 6, scheme: "kubelet", crash: "drain", seed: 13 });
  });
});
