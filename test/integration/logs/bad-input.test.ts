import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AgentProcess, metricValue, waitFor, writeAgentConfig } from "./harness/agent-process.js";
import { LogReceiver, type ReceivedRecord } from "./harness/receiver.js";

const MiB = 1024 * 1024;
const MANY = 5000;
const NOBODY = 65534;

/**
 * Tests run as root, and root reads a chmod 000 file anyway. So the agent runs as nobody
 * (spawn with uid/gid 65534), as the chart runs it (non-root, group 0 for /var/log/pods): the
 * unreadable file is then really unreadable.
 */
describe("bad input (real agent process as uid 65534, real files)", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  it("survives a 50 MB line, invalid UTF-8, NULs, no final newline, unreadable files, a directory, a symlink loop, a fifo, 5,000 files and a truncation", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-bad-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.chmodSync(dir, 0o755);
    const input = path.join(dir, "in");
    fs.mkdirSync(input);
    const state = path.join(dir, "state");
    fs.mkdirSync(state);
    fs.chownSync(state, NOBODY, NOBODY);

    const huge = Buffer.alloc(50 * MiB + 1, 0x61);
    huge[huge.length - 1] = 0x0a;
    fs.writeFileSync(path.join(input, "huge.log"), Buffer.concat([huge, Buffer.from("after-huge\n")]));
    fs.writeFileSync(path.join(input, "invalid.log"), Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x0a, ...Buffer.from("valid\n")]));
    fs.writeFileSync(path.join(input, "nul.log"), "a\u0000b\n");
    fs.writeFileSync(path.join(input, "nonl.log"), "complete\nno newline at the end");
    fs.writeFileSync(path.join(input, "unreadable.log"), "secret\n");
    fs.chmodSync(path.join(input, "unreadable.log"), 0o000);
    fs.mkdirSync(path.join(input, "dir.log"));
    fs.symlinkSync(path.join(input, "loop-b.log"), path.join(input, "loop-a.log"));
    fs.symlinkSync(path.join(input, "loop-a.log"), path.join(input, "loop-b.log"));
    execFileSync("mkfifo", [path.join(input, "fifo.log")]);
    let before = "";
    for (let i = 0; i < 200_000; i++) before += `before-truncate-${i}\n`;
    const truncFile = path.join(input, "trunc.log");
    fs.writeFileSync(truncFile, before);
    for (let i = 0; i < MANY; i++) {
      const d = path.join(input, "many", `d${i % 50}`);
      if (i < 50) fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, `f${i}.log`), `many-${i}\n`);
    }

    const byFile = new Map<string, number>();
    const special = new Map<string, ReceivedRecord[]>();
    const manySeen = new Set<number>();
    let afterTruncate = 0;
    const receiver = new LogReceiver((r) => {
      const name = path.basename(String(r.file));
      byFile.set(name, (byFile.get(name) ?? 0) + 1);
      if (r.message.startsWith("many-")) manySeen.add(Number(r.message.slice(5)));
      else if (r.message.startsWith("after-truncate-")) afterTruncate++;
      else if (!r.message.startsWith("before-truncate-"))
        special.set(name, [
          ...(special.get(name) ?? []),
          { ...r, message: r.message.length > 100 ? `${r.message.slice(0, 10)}...(${r.message.length})` : r.message },
        ]);
    });
    await receiver.listen();
    cleanup.push(() => receiver.close());

    const cfg = path.join(dir, "nodetap.yaml");
    writeAgentConfig(cfg, {
      checkpoint: { dir: state },
      tail: { maxOpenFiles: 1000, idleCloseAfter: "1s" },
      sources: { files: { include: [`${input}/*.log`, `${input}/many/*/*.log`] } },
      sink: { type: "http", http: { url: receiver.url } },
    });
    const agent = new AgentProcess(cfg, { uid: NOBODY, gid: NOBODY, env: { HOME: "/tmp" } });
    cleanup.push(() => agent.kill("SIGKILL"));
    await agent.whenStarted(90_000);

    let sawWaiting = false;
    let maxRss = 0;
    const sample = async () => {
      const m = await agent.metrics();
      sawWaiting ||= metricValue(m, "nodetap_log_files_waiting") > 0;
      maxRss = Math.max(maxRss, agent.rssBytes());
    };
    await sample();
    // Truncate trunc.log while it is tailed, then write new lines to it.
    await waitFor("trunc.log read", () => (byFile.get("trunc.log") ?? 0) > 0, 60_000, 50);
    fs.truncateSync(truncFile, 0);
    fs.appendFileSync(truncFile, Array.from({ length: 100 }, (_, i) => `after-truncate-${i}\n`).join(""));

    await waitFor(
      "every readable file delivered",
      async () => {
        await sample();
        return manySeen.size === MANY && afterTruncate >= 100 && special.has("nonl.log") && (special.get("huge.log")?.length ?? 0) >= 2;
      },
      90_000,
      250,
    ).catch(async (err: Error) => {
      const st = await agent.status().catch(() => undefined);
      throw new Error(
        `${err.message}: many ${manySeen.size}/${MANY}, after-truncate ${afterTruncate}, special ${JSON.stringify([...special.entries()])}, ` +
          `status ${JSON.stringify({ ...st?.logs, files: st?.logs.files.slice(0, 5) })}`,
      );
    });
    const m = await agent.metrics();
    const health = await fetch(`${agent.address}/healthz`);
    console.log(
      `bad input: ${MANY} small files delivered (waited for slots: ${sawWaiting}); peak RSS ${(agent.peakRssBytes() / MiB).toFixed(0)} MiB; ` +
        `file errors ${["permission", "directory", "loop", "not_regular"].map((r) => `${r}=${metricValue(m, "nodetap_log_file_errors_total", { reason: r })}`).join(" ")}; ` +
        `truncated lines ${metricValue(m, "nodetap_log_lines_truncated_total", { reason: "line" })}, invalid UTF-8 lines ${metricValue(m, "nodetap_log_invalid_utf8_lines_total")}`,
    );

    expect(health.status).toBe(200);
    expect(special.get("huge.log")?.map((r) => [r.message, r.truncated ?? false])).toEqual([
      [`aaaaaaaaaa...(${MiB})`, true],
      ["after-huge", false],
    ]);
    expect(special.get("invalid.log")?.map((r) => r.message)).toEqual(["a\ufffd\ufffdb", "valid"]);
    expect(special.get("nul.log")?.map((r) => r.message)).toEqual(["a\u0000b"]);
    expect(special.get("nonl.log")?.map((r) => r.message)).toEqual(["complete", "no newline at the end"]);
    expect(byFile.has("unreadable.log")).toBe(false);
    expect(afterTruncate).toBe(100);
    expect(manySeen.size).toBe(MANY);
    expect(sawWaiting).toBe(true);

    expect(metricValue(m, "nodetap_log_lines_truncated_total", { reason: "line" })).toBeGreaterThanOrEqual(1);
    expect(metricValue(m, "nodetap_log_invalid_utf8_lines_total")).toBeGreaterThanOrEqual(1);
    expect(metricValue(m, "nodetap_log_rotations_total", { kind: "truncate" })).toBeGreaterThanOrEqual(1);
    for (const reason of ["permission", "directory", "loop", "not_regular"]) {
      expect(metricValue(m, "nodetap_log_file_errors_total", { reason }), reason).toBeGreaterThanOrEqual(1);
    }
    const skipped = agent.logsMatching(/^log file skipped/).map((l) => `${path.basename(String(l.file))}:${String(l.reason)}`);
    expect(skipped).toEqual(
      expect.arrayContaining(["unreadable.log:permission", "dir.log:directory", "loop-a.log:loop", "fifo.log:not_regular"]),
    );
    expect(agent.logsMatching(/longer than tail.maxLineBytes/).length).toBeGreaterThanOrEqual(1);
    expect(agent.logsMatching(/not valid UTF-8/).length).toBeGreaterThanOrEqual(1);
    // Bounded memory: a 50 MB line never sits in memory whole (maxLineBytes is 1 MiB).
    expect(agent.peakRssBytes()).toBeLessThan(350 * MiB);

    agent.kill("SIGTERM");
    expect(await agent.exited).toEqual({ code: 0, signal: null });
  }, 180_000);
});
