import { execFile } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { AgentProcess, metricValue, waitFor, writeAgentConfig } from "./harness/agent-process.js";
import { LineWriter, SequenceLedger } from "./harness/line-writer.js";
import { LogReceiver } from "./harness/receiver.js";
import { havePrograms } from "../../helpers/test-programs.js";

const RATE = 10_000; // lines per second per file
const ROUNDS = 4;
const ROUND_MS = 2000;
/** Lines written this long before a copytruncate starts must have been read (our allowed lag). */
const LAG_ALLOWANCE_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Async, so the writers keep writing while logrotate copies, renames and truncates.
const run = promisify(execFile);

describe.runIf(havePrograms("rotation under load", "logrotate"))(
  "rotation under load (real agent process, real files, real HTTP receiver)",
  () => {
    let cleanup: Array<() => Promise<void> | void> = [];
    afterEach(async () => {
      for (const c of cleanup.reverse()) await c();
      cleanup = [];
    });

    it("delivers every line in order per file through rename+create, copytruncate and kubelet rotations at 10,000 lines/s each", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-rot-"));
      cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      const appDir = path.join(dir, "app");
      const podDir = path.join(dir, "pods", "default_web-0_5f1c2e7a-0000-4000-8000-000000000001", "nginx");
      fs.mkdirSync(appDir);
      fs.mkdirSync(podDir, { recursive: true });

      const ledger = new SequenceLedger(2_000_000);
      const receiver = new LogReceiver((r) => ledger.add(r.message));
      await receiver.listen();
      cleanup.push(() => receiver.close());

      const cfg = path.join(dir, "nodetap.yaml");
      writeAgentConfig(cfg, {
        checkpoint: { dir: path.join(dir, "state") },
        sources: {
          files: { include: [`${appDir}/*.log`] },
          pods: { enabled: true, include: [`${dir}/pods/*/*/*.log`, `${dir}/pods/*/*/*.log.*`] },
        },
        sink: { type: "http", http: { url: receiver.url } },
      });
      const agent = new AgentProcess(cfg);
      cleanup.push(() => agent.kill("SIGKILL"));
      await agent.whenStarted();

      const rc = new LineWriter(path.join(appDir, "rename-create.log"), "rc", RATE);
      const ct = new LineWriter(path.join(appDir, "copytruncate.log"), "ct", RATE);
      const kube = new LineWriter(path.join(podDir, "0.log"), "kube", RATE, "cri");
      const writers = [rc, ct, kube];
      cleanup.push(() => writers.forEach((w) => w.close()));
      for (const w of writers) w.start();

      // The real logrotate, as a node's cron would run it (postrotate = the writer reopening).
      const lrState = path.join(dir, "logrotate.state");
      const lrConf = (name: string, body: string) => {
        const f = path.join(dir, `${name}.conf`);
        fs.writeFileSync(f, `${path.join(appDir, `${name}.log`)} {\n  rotate 3\n  missingok\n  ${body}\n}\n`);
        return f;
      };
      const rcConf = lrConf("rename-create", "create");
      const ctConf = lrConf("copytruncate", "copytruncate");
      const copytruncateWindows: Array<[number, number]> = [];
      const kubeletRotated: string[] = [];

      for (let round = 1; round <= ROUNDS; round++) {
        await sleep(ROUND_MS - LAG_ALLOWANCE_MS);
        const ctMark = ct.seq;
        await sleep(LAG_ALLOWANCE_MS);
        await run("logrotate", ["-f", "-s", lrState, rcConf]);
        rc.reopen();
        await run("logrotate", ["-f", "-s", `${lrState}.ct`, ctConf]);
        copytruncateWindows.push([ctMark, ct.seq]);
        // kubelet: rename 0.log to 0.log.<timestamp>, the runtime reopens 0.log, older rotated
        // files are gzipped through a .tmp file and the uncompressed one removed.
        const rotated = path.join(podDir, `0.log.2024050${round}-101500`);
        fs.renameSync(kube.file, rotated);
        kube.reopen();
        kubeletRotated.push(rotated);
        if (kubeletRotated.length > 1) {
          const old = kubeletRotated[kubeletRotated.length - 2];
          fs.writeFileSync(`${old}.tmp`, zlib.gzipSync(fs.readFileSync(old)));
          fs.renameSync(`${old}.tmp`, `${old}.gz`);
          fs.unlinkSync(old);
        }
      }
      await sleep(500);
      for (const w of writers) w.stop();

      const inWindow = (s: number) => copytruncateWindows.some(([a, b]) => s >= a && s < b);
      const complete = () =>
        ledger.missing("rc", rc.seq).length === 0 &&
        ledger.missing("kube", kube.seq).length === 0 &&
        ledger.missing("ct", ct.seq).every(inWindow);
      await waitFor("every line at the receiver", complete, 90_000, 250);

      const ctLost = ledger.missing("ct", ct.seq);
      const windowLines = copytruncateWindows.reduce((n, [a, b]) => n + (b - a), 0);
      console.log(
        `rotation: rc ${rc.seq} lines, ct ${ct.seq}, kube ${kube.seq}; received ${ledger.total}, duplicates ${ledger.duplicates}, out of order ${ledger.outOfOrder}; ` +
          `copytruncate lost ${ctLost.length} lines, all inside the rotator's copy→truncate windows (${windowLines} lines written in those windows)`,
      );
      expect(ledger.missing("rc", rc.seq)).toEqual([]);
      expect(ledger.missing("kube", kube.seq)).toEqual([]);
      expect(ctLost.filter((s) => !inWindow(s))).toEqual([]);
      expect(ledger.outOfOrder).toBe(0);
      expect(ledger.duplicates).toBe(0);
      expect(ledger.foreign).toBe(0);
      expect(rc.seq + ct.seq + kube.seq).toBeGreaterThan(3 * RATE * ROUNDS * (ROUND_MS / 1000) * 0.9);

      const metrics = await agent.metrics();
      expect(metricValue(metrics, "nodetap_log_rotations_total", { kind: "rename" })).toBeGreaterThanOrEqual(2 * ROUNDS);
      expect(metricValue(metrics, "nodetap_log_rotations_total", { kind: "truncate" })).toBeGreaterThanOrEqual(ROUNDS);
      // The gzipped files were never read: everything came from the open descriptors.
      expect(metricValue(metrics, "nodetap_log_parse_errors_total")).toBe(0);

      agent.kill("SIGTERM");
      expect(await agent.exited).toEqual({ code: 0, signal: null });
    }, 150_000);
  },
);
