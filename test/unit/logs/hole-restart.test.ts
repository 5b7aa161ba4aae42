import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { counterValue } from "./helpers.js";
import { filesOnlyConfig, sleep, startManager, waitUntil, type RunningManager } from "./tail-manager-harness.js";

/**
 * A copytruncate while nodetap is down, of a file its writer does not open O_APPEND: the file
 * keeps its inode and, once it started with a hole, its first bytes (NULs), and its size does not
 * drop below the checkpoint. The byte before the checkpoint's offset, data when it was read (a
 * line's end), is a NUL of the new hole now: the generation the checkpoint names is in the copy.
 * Before, the file resumed at the offset (in the hole: right) and the copy was read whole as a
 * generation rotated away unseen: every line read before the stop came again, after newer ones.
 */
describe("restarts and holes of NUL bytes (FileTailManager, real files)", () => {
  let dir: string;
  let logDir: string;
  const running: RunningManager[] = [];
  const line = (i: number) => `s=${String(i).padStart(5, "0")} ${"x".repeat(56)}\n`;
  const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => line(from + i)).join("");
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-hole-restart-"));
    logDir = path.join(dir, "logs");
    fs.mkdirSync(logDir);
    fs.mkdirSync(path.join(dir, "state"));
  });
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function run() {
    const r = await startManager(filesOnlyConfig(logDir), path.join(dir, "state"));
    running.push(r);
    return { records: r.records, stop: r.stop, lost: () => counterValue(r.registry, "nodetap_log_files_lost_total") };
  }

  /**
   * Lines 0-49, copytruncated before nodetap ran (the copy at `oldCopy`, an hour old: not ours),
   * so the file starts with a hole; then lines 50-99, read by a run that is returned.
   */
  async function runOverAHole(file: string, fd: number, oldCopy: string) {
    fs.writeSync(fd, lines(0, 50));
    fs.copyFileSync(file, oldCopy);
    fs.truncateSync(file, 0);
    const hourAgo = new Date(Date.now() - 3_600_000);
    fs.utimesSync(oldCopy, hourAgo, hourAgo);
    fs.writeSync(fd, lines(50, 100));
    const first = await run();
    await waitUntil(() => first.records.some((r) => r.startsWith("s=00099")));
    return first;
  }

  const seqs = (records: string[]) => records.map((r) => Number(/^s=(\d+)/.exec(r)?.[1] ?? -1));

  it.each([
    ["the file already started with a hole (its second such rotation)", true],
    ["the file started with text (its first such rotation)", false],
  ])("reads the copy from the checkpoint and the file on, each line once and in order: %s", async (_what, holeFirst) => {
    const file = path.join(logDir, "app.log");
    const fd = fs.openSync(file, "w");
    try {
      if (holeFirst) {
        fs.writeSync(fd, lines(0, 50));
        fs.copyFileSync(file, `${file}.1`);
        fs.truncateSync(file, 0);
        fs.renameSync(`${file}.1`, `${file}.2`); // an old copy, from before nodetap ran: not ours
        const hourAgo = new Date(Date.now() - 3_600_000);
        fs.utimesSync(`${file}.2`, hourAgo, hourAgo);
      }
      fs.writeSync(fd, lines(50, 100));
      const first = await run();
      await waitUntil(() => first.records.some((r) => r.startsWith("s=00099")));
      await first.stop();

      fs.writeSync(fd, lines(100, 150)); // written while nodetap is down
      fs.copyFileSync(file, `${file}.1`); // logrotate copytruncate, while nodetap is down
      fs.truncateSync(file, 0);
      fs.writeSync(fd, lines(150, 200)); // at the writer's offset: a hole before it

      const second = await run();
      await waitUntil(() => second.records.some((r) => r.startsWith("s=00199")));
      await sleep(300);
      expect(seqs(second.records)).toEqual(Array.from({ length: 100 }, (_, i) => 100 + i));
      expect(await second.lost()).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
  });

  it.each([
    ["both copies kept: each line once, in order", true],
    ["the checkpoint's copy deleted (rotate 1): its rest counted lost, the newer copy read whole", false],
  ])(
    "two such rotations while nodetap is down: the checkpoint's generation is its own copy's, not the newest: %s",
    async (_what, keepOlder) => {
      // Both copies start with the same NULs; the checkpoint's offset tells them apart: in its own
      // generation's copy the byte before it is data (a line's end), in the later one's a hole.
      const file = path.join(logDir, "app.log");
      const fd = fs.openSync(file, "w");
      try {
        const first = await runOverAHole(file, fd, `${file}.9`);
        await first.stop();

        fs.writeSync(fd, lines(100, 150)); // written while nodetap is down
        fs.copyFileSync(file, `${file}.1`);
        fs.truncateSync(file, 0);
        fs.writeSync(fd, lines(150, 200));
        fs.renameSync(`${file}.1`, `${file}.2`);
        fs.copyFileSync(file, `${file}.1`);
        fs.truncateSync(file, 0);
        fs.writeSync(fd, lines(200, 250));
        if (!keepOlder) fs.rmSync(`${file}.2`);

        const second = await run();
        await waitUntil(() => second.records.some((r) => r.startsWith("s=00249")));
        await sleep(300);
        const from = keepOlder ? 100 : 150;
        expect(seqs(second.records)).toEqual(Array.from({ length: 250 - from }, (_, i) => from + i));
        expect(await second.lost()).toBe(keepOlder ? 0 : 1);
      } finally {
        fs.closeSync(fd);
      }
    },
  );

  it("does not read again, at a restart, the copy of a rotation the previous run did not notice (reading was caught up)", async () => {
    // The writer's next line came right where reading stood, so no hole was met and the first
    // bytes (the earlier hole's NULs) did not change: the tailer read on, rightly, and the copy
    // holds only what it read. Before, the restart read that copy whole as a file "created and
    // rotated away while nodetap was down" (the crash matrix's copytruncate-noappend x drain:
    // a whole generation late, 5,396-6,040 of about 24,000 lines out of order).
    const file = path.join(logDir, "app.log");
    const fd = fs.openSync(file, "w");
    try {
      const first = await runOverAHole(file, fd, `${file}.2`);
      await sleep(200);

      fs.copyFileSync(file, `${file}.1`); // copytruncate while nodetap runs and is caught up
      fs.truncateSync(file, 0);
      fs.writeSync(fd, lines(100, 150));
      await waitUntil(() => first.records.some((r) => r.startsWith("s=00149")));
      await first.stop();
      expect(seqs(first.records)).toEqual(Array.from({ length: 100 }, (_, i) => 50 + i));

      const second = await run();
      await sleep(500);
      fs.writeSync(fd, lines(150, 160));
      await waitUntil(() => second.records.some((r) => r.startsWith("s=00159")));
      await sleep(300);
      expect(seqs(second.records)).toEqual(Array.from({ length: 10 }, (_, i) => 150 + i));
      expect(await second.lost()).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
  });

  it("resumes a file whose writer puts a NUL after each line (strlen + 1 bytes) where it stopped, counting nothing lost", async () => {
    // Its NULs are skipped where a line would start; the checkpoint stays before them (after the
    // line's end), so the byte before it is data and the file is resumed, not read again.
    const file = path.join(logDir, "app.log");
    const nulEnded = (from: number, to: number) => lines(from, to).replaceAll("\n", "\n\0");
    fs.writeFileSync(file, nulEnded(0, 50));
    const first = await run();
    await waitUntil(() => first.records.some((r) => r.startsWith("s=00049")));
    await first.stop();
    fs.appendFileSync(file, nulEnded(50, 60));
    const second = await run();
    await waitUntil(() => second.records.some((r) => r.startsWith("s=00059")));
    await sleep(300);
    expect(seqs(second.records)).toEqual(Array.from({ length: 10 }, (_, i) => 50 + i));
    expect(await second.lost()).toBe(0);
  });
});
