import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TruncationRecovery } from "../../../agent/logs/sources/truncation-recovery.js";
import { counterValue } from "./helpers.js";
import { filesOnlyConfig, sleep, startManager, waitUntil, type RunningManager } from "./tail-manager-harness.js";

/**
 * What a tailer holds unended when a copytruncate is found (the head of a line) waits until the
 * copy was looked for: the copy gives it whole, or, where it does not, the head goes out as read.
 * Ways a review found it lost: the copy made before the head was written, the lookup failing.
 */
describe("the line held when a truncation is found (FileTailManager, real files)", () => {
  let dir: string;
  let logDir: string;
  let running: RunningManager | undefined;
  const line = (i: number) => `s=${String(i).padStart(5, "0")} ${"x".repeat(56)}\n`;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-held-trunc-"));
    logDir = path.join(dir, "logs");
    fs.mkdirSync(logDir);
    fs.mkdirSync(path.join(dir, "state"));
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await running?.stop();
    running = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(file: string) {
    const cfg = filesOnlyConfig(logDir);
    cfg.tail.rotateWait = 0.1;
    running = await startManager(cfg, path.join(dir, "state"));
    const { records, budget, registry } = running;
    await waitUntil(() => records.length >= 10);
    return { records, budget, lost: () => counterValue(registry, "nodetap_log_files_lost_total"), file };
  }

  function writeTen(): string {
    const file = path.join(logDir, "app.log");
    fs.writeFileSync(file, Array.from({ length: 10 }, (_, i) => line(i)).join(""));
    return file;
  }

  it("sends the head when the copy was made before it was written (the copy lacks it)", async () => {
    const t = await start(writeTen());
    fs.copyFileSync(t.file, `${t.file}.1`); // logrotate's copy
    fs.appendFileSync(t.file, "HEAD-of-a-line-"); // the writer, between copy and truncate
    await sleep(300); // read and held: no newline
    fs.truncateSync(t.file, 0);
    fs.appendFileSync(t.file, "new generation\n");
    await waitUntil(() => t.records.includes("new generation"));
    expect(t.records.slice(10)).toEqual(["HEAD-of-a-line-", "new generation"]);
    expect(await t.lost()).toBe(0);
    expect(t.budget.bytes).toBe(0);
  });

  it("sends nothing twice and no head when the copy holds the whole line", async () => {
    const t = await start(writeTen());
    fs.appendFileSync(t.file, "a line in two writes, ");
    await sleep(300);
    fs.appendFileSync(t.file, "its end written before the copy\n");
    fs.copyFileSync(t.file, `${t.file}.1`);
    fs.truncateSync(t.file, 0);
    fs.appendFileSync(t.file, "new generation\n");
    await waitUntil(() => t.records.includes("new generation"));
    expect(t.records.slice(10)).toEqual(["a line in two writes, its end written before the copy", "new generation"]);
  });

  it("sends the head when looking for the copy fails, and frees its bytes in the budget", async () => {
    vi.spyOn(TruncationRecovery.prototype, "drainAfterTruncation").mockRejectedValue(new Error("EMFILE: too many open files, scandir"));
    const t = await start(writeTen());
    fs.copyFileSync(t.file, `${t.file}.1`);
    fs.appendFileSync(t.file, "HEAD-of-a-line-");
    await sleep(300);
    fs.truncateSync(t.file, 0);
    fs.appendFileSync(t.file, "new generation\n");
    await waitUntil(() => t.records.includes("new generation"));
    expect(t.records.slice(10)).toEqual(["HEAD-of-a-line-", "new generation"]);
    expect(t.budget.bytes).toBe(0);
  });
});
