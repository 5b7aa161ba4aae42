import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AgentProcess, metricValue, waitFor, writeAgentConfig } from "./harness/agent-process.js";
import { LineWriter, SequenceLedger } from "./harness/line-writer.js";
import { LogReceiver } from "./harness/receiver.js";

const MiB = 1024 * 1024;
const BUDGET = 1 * MiB;
const READ_BUFFER = 256 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("sink outage and permanent rejections (real agent process, real HTTP receiver)", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  function setup(name: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nodetap-${name}-`));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, "app"));
    return dir;
  }

  it("refused connections, then 500s, then 429 with Retry-After: nothing lost, in-flight bytes and memory bounded", async () => {
    const dir = setup("outage");
    const ledger = new SequenceLedger(1_000_000);
    const receiver = new LogReceiver((r) => ledger.add(r.message));
    await receiver.listen();
    cleanup.push(() => receiver.close());
    const cfg = path.join(dir, "nodetap.yaml");
    writeAgentConfig(cfg, {
      maxInFlightBytes: BUDGET,
      checkpoint: { dir: path.join(dir, "state") },
      tail: { readBufferBytes: READ_BUFFER },
      sources: { files: { include: [`${dir}/app/*.log`] } },
      sink: {
        type: "http",
        batch: { maxBytes: 256 * 1024 },
        retry: { initialBackoff: "50ms", maxBackoff: "500ms" },
        http: { url: receiver.url, concurrency: 1, timeout: "2s" },
      },
    });
    const agent = new AgentProcess(cfg);
    cleanup.push(() => agent.kill("SIGKILL"));
    await agent.whenStarted();
    const writer = new LineWriter(path.join(dir, "app", "app.log"), "w", 20_000, "plain", 100);
    cleanup.push(() => writer.close());
    writer.start();
    await sleep(1500);

    let maxInFlight = 0;
    let sawPaused = false;
    let rssMax = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = await agent.metrics();
        maxInFlight = Math.max(maxInFlight, metricValue(m, "nodetap_log_in_flight_bytes"));
        sawPaused ||= metricValue(m, "nodetap_log_reading_paused") === 1;
        rssMax = Math.max(rssMax, agent.rssBytes());
        await sleep(200);
      }
    })();

    const rssBefore = agent.rssBytes();
    const backlogStart = writer.seq;
    await receiver.refuse();
    await sleep(3000);
    await receiver.reopen();
    receiver.mode = { kind: "status", status: 500 };
    await sleep(2000);
    const answersBefore429 = receiver.requests;
    const times429: number[] = [];
    receiver.mode = { kind: "status", status: 429, retryAfter: "1" };
    const watch429 = setInterval(() => {
      if (receiver.requests > answersBefore429 + times429.length) times429.push(Date.now());
    }, 5);
    await sleep(3500);
    clearInterval(watch429);
    const backlogLines = writer.seq - backlogStart;
    receiver.mode = { kind: "accept" };
    await sleep(1000);
    writer.stop();
    await waitFor("every line at the receiver after recovery", () => ledger.missing("w", writer.seq).length === 0, 60_000, 200);
    sampling = false;
    await sampler;

    const m = await agent.metrics();
    const gaps = times429.slice(1).map((t, i) => t - times429[i]);
    console.log(
      `sink outage: ${writer.seq} lines (${backlogLines} written during the ${(3 + 2 + 3.5).toFixed(1)} s outage, ~${((backlogLines * 120) / MiB).toFixed(1)} MiB); ` +
        `max in-flight ${(maxInFlight / 1024).toFixed(0)} KiB of a ${BUDGET / 1024} KiB budget; RSS ${(rssBefore / MiB).toFixed(0)} -> max ${(rssMax / MiB).toFixed(0)} MiB; ` +
        `429 answers ${times429.length}, gaps ${gaps.join(",")} ms; errors: refused ${metricValue(m, "nodetap_log_send_errors_total", { reason: "connection_refused" })}, ` +
        `5xx ${metricValue(m, "nodetap_log_send_errors_total", { reason: "status_5xx" })}, 429 ${metricValue(m, "nodetap_log_send_errors_total", { reason: "status_429" })}`,
    );
    expect(ledger.missing("w", writer.seq)).toEqual([]);
    expect(ledger.outOfOrder).toBe(0);
    expect(ledger.duplicates).toBe(0);
    // Bounded: the budget plus at most one read chunk's records past it.
    expect(maxInFlight).toBeLessThanOrEqual(BUDGET + 2 * READ_BUFFER);
    expect(sawPaused).toBe(true);
    expect(rssMax - rssBefore).toBeLessThan(48 * MiB);
    expect(metricValue(m, "nodetap_log_send_errors_total", { reason: "connection_refused" })).toBeGreaterThan(0);
    expect(metricValue(m, "nodetap_log_send_errors_total", { reason: "status_5xx" })).toBeGreaterThan(0);
    expect(metricValue(m, "nodetap_log_send_errors_total", { reason: "status_429" })).toBeGreaterThan(1);
    expect(metricValue(m, "nodetap_log_send_retries_total")).toBeGreaterThan(3);
    expect(metricValue(m, "nodetap_log_dead_letter_records_total")).toBe(0);
    // Retry-After: 1 is honoured: retries during the 429 phase are at least ~1 s apart.
    expect(times429.length).toBeGreaterThanOrEqual(2);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(900);
    expect(metricValue(m, "nodetap_log_reading_paused")).toBe(0);

    agent.kill("SIGTERM");
    expect(await agent.exited).toEqual({ code: 0, signal: null });
  }, 120_000);

  it("a permanent 4xx sends the batch to the dead-letter file, counted, and the rest flows on", async () => {
    const dir = setup("dlq");
    const ledger = new SequenceLedger(100_000);
    const receiver = new LogReceiver((r) => ledger.add(r.message));
    receiver.rejectBatch = (records) => (records.some((r) => r.message.includes("POISON")) ? 400 : undefined);
    await receiver.listen();
    cleanup.push(() => receiver.close());
    const deadLetterPath = path.join(dir, "dlq", "dead.ndjson");
    const cfg = path.join(dir, "nodetap.yaml");
    writeAgentConfig(cfg, {
      checkpoint: { dir: path.join(dir, "state") },
      sources: { files: { include: [`${dir}/app/*.log`] } },
      sink: { type: "http", batch: { maxRecords: 5 }, deadLetter: { path: deadLetterPath }, http: { url: receiver.url, concurrency: 1 } },
    });
    const file = path.join(dir, "app", "app.log");
    const writer = new LineWriter(file, "w", 1000);
    writer.write(500);
    fs.appendFileSync(file, "POISON record the receiver refuses\n");
    writer.write(500);
    const agent = new AgentProcess(cfg);
    cleanup.push(() => agent.kill("SIGKILL"));
    await agent.whenStarted();
    await waitFor(
      "dead letters written",
      () => fs.existsSync(deadLetterPath) && fs.readFileSync(deadLetterPath, "utf8").includes("POISON"),
      30_000,
    );
    const dead = () =>
      fs
        .readFileSync(deadLetterPath, "utf8")
        .trim()
        .split("\n")
        .map(
          (l) =>
            JSON.parse(l) as { deadLetter: { reason: string; status: number; sink: string }; record: { message: string; file: string } },
        );
    await waitFor("the rest delivered", () => ledger.total + dead().length === 1001, 30_000);
    const entries = dead();
    expect(entries.length).toBeGreaterThanOrEqual(1);
    expect(entries.length).toBeLessThanOrEqual(5);
    expect(entries.some((e) => e.record.message === "POISON record the receiver refuses")).toBe(true);
    for (const e of entries) expect(e.deadLetter).toMatchObject({ sink: "http", reason: "status_400", status: 400 });
    expect(entries[0].record.file).toBe(file);
    // Every line is either delivered or dead-lettered: nothing silently dropped.
    const deadSeqs = entries.filter((e) => !e.record.message.includes("POISON")).length;
    expect(ledger.total + deadSeqs).toBe(1000);
    const m = await agent.metrics();
    expect(metricValue(m, "nodetap_log_dead_letter_records_total", { reason: "status_400" })).toBe(entries.length);
    expect(agent.logsMatching(/dead-letter/).length).toBeGreaterThanOrEqual(1);
    agent.kill("SIGTERM");
    expect(await agent.exited).toEqual({ code: 0, signal: null });
  }, 90_000);
});
