import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import YAML from "yaml";
import { AgentProcess, metricValue, waitFor } from "./harness/agent-process.js";
import { LineWriter, SequenceLedger } from "./harness/line-writer.js";
import { LogReceiver } from "./harness/receiver.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sequence numbers a drop filter with messagePattern ` s=\d*7 ` removes. */
const dropped = (seq: number) => seq % 10 === 7;

describe("several sinks, routes and filters (real agent process, two real HTTP receivers)", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  async function setup() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-routing-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, "app"));
    const atHealthy = new SequenceLedger(1_000_000);
    const atDead = new SequenceLedger(1_000_000);
    const healthy = new LogReceiver((r) => atHealthy.add(r.message));
    const dead = new LogReceiver((r) => atDead.add(r.message));
    for (const r of [healthy, dead]) {
      await r.listen();
      cleanup.push(() => r.close());
    }
    await dead.refuse();
    const a = path.join(dir, "app", "a.log");
    const b = path.join(dir, "app", "b.log");
    const http = (url: string) => ({
      type: "http",
      batch: { maxWait: "100ms", maxBytes: 64 * KiB },
      retry: { initialBackoff: "50ms", maxBackoff: "300ms" },
      http: { url, concurrency: 1, timeout: "2s" },
    });
    const cfg = path.join(dir, "nodetap.yaml");
    fs.writeFileSync(
      cfg,
      YAML.stringify({
        log: { level: "info" },
        logs: {
          maxInFlightBytes: 4 * MiB,
          checkpoint: { dir: path.join(dir, "state") },
          tail: { scanInterval: "200ms", pollInterval: "200ms", readBufferBytes: 64 * KiB },
          sources: { pods: { enabled: false }, host: { enabled: false }, files: { include: [`${dir}/app/*.log`] } },
          sinks: { healthy: http(healthy.url), siem: { ...http(dead.url), maxInFlightBytes: 256 * KiB } },
          routes: [
            { name: "a-everywhere", match: { files: [a] }, sinks: ["healthy", "siem"] },
            { name: "b-to-healthy", match: { files: [b] }, sinks: ["healthy"] },
          ],
          filters: [{ type: "drop", name: "sevens", match: { messagePattern: " s=\\d*7 " } }],
        },
      }),
    );
    return { dir, cfg, a, b, atHealthy, atDead, healthy, dead };
  }

  /** Starts the agent and two writers at 3,000 lines/s each; returns once the dead siem sink blocks a.log. */
  async function startBlocked(cfg: string, a: string, b: string) {
    const agent = new AgentProcess(cfg);
    cleanup.push(() => agent.kill("SIGKILL"));
    await agent.whenStarted();
    const writerA = new LineWriter(a, "a", 3000, "plain", 100);
    const writerB = new LineWriter(b, "b", 3000, "plain", 100);
    cleanup.push(() => writerA.close());
    cleanup.push(() => writerB.close());
    writerA.start();
    writerB.start();
    // The siem sink refuses connections: a.log fills its 256 KiB and waits; b.log goes on.
    await waitFor(
      "a.log blocked on the siem sink",
      async () => metricValue(await agent.metrics(), "nodetap_log_files_blocked", { sink: "siem" }) === 1,
      15_000,
    );
    return { agent, writerA, writerB };
  }

  it("a dead sink stalls only the file routed to it (up to its own budget); nothing is lost and nothing filtered arrives", async () => {
    const { cfg, a, b, atHealthy, atDead, dead } = await setup();
    const { agent, writerA, writerB } = await startBlocked(cfg, a, b);
    const aAtHealthyWhenBlocked = atHealthy.count("a", writerA.seq);
    await sleep(3000);
    const m = await agent.metrics();
    expect(metricValue(m, "nodetap_log_sink_in_flight_bytes", { sink: "siem" })).toBeLessThan(256 * KiB + 128 * KiB);
    expect(metricValue(m, "nodetap_log_sink_in_flight_bytes", { sink: "healthy" })).toBeLessThan(1 * MiB);
    // a.log's copies for the healthy sink wait with it: its file is the buffer.
    expect(atHealthy.count("a", writerA.seq) - aAtHealthyWhenBlocked).toBeLessThan(3000);
    // b.log flowed the whole time: what was written more than 1.5 s ago has arrived.
    const bWritten = writerB.seq - 4500;
    const bMissing = atHealthy.missing("b", bWritten).filter((s) => !dropped(s));
    expect(bMissing, atHealthy.missingRanges("b", bWritten)).toEqual([]);
    const status = (await agent.status()).logs as Record<string, unknown>;
    expect(Object.values(status.blockedFiles as Record<string, string[]>)).toEqual([["siem"]]);

    await dead.reopen();
    writerA.stop();
    writerB.stop();
    const wantA = writerA.seq;
    const wantB = writerB.seq;
    const complete = (ledger: SequenceLedger, writer: string, upTo: number) =>
      ledger.missing(writer, upTo).filter((s) => !dropped(s)).length === 0;
    await waitFor(
      "every line delivered to the sinks its route names",
      () => complete(atHealthy, "a", wantA) && complete(atDead, "a", wantA) && complete(atHealthy, "b", wantB),
      60_000,
    );
    await sleep(1000);
    for (const ledger of [atHealthy, atDead]) {
      for (const [writer, upTo] of [
        ["a", wantA],
        ["b", wantB],
      ] as const) {
        const arrivedDropped = Array.from({ length: upTo }, (_, s) => s).filter(
          (s) => dropped(s) && !ledger.missing(writer, upTo).includes(s),
        );
        expect(arrivedDropped.length, `${writer}: lines the filter drops arrived`).toBe(0);
      }
      expect(ledger.outOfOrder).toBe(0);
      expect(ledger.foreign).toBe(0);
    }
    expect(atDead.count("b", wantB)).toBe(0);
    const after = await agent.metrics();
    const droppedLines = Math.floor((wantA + 2) / 10) + Math.floor((wantB + 2) / 10);
    expect(metricValue(after, "nodetap_log_filter_records_total", { filter: "sevens", outcome: "dropped" })).toBeGreaterThanOrEqual(
      droppedLines,
    );
    expect(metricValue(after, "nodetap_log_route_records_total", { route: "b-to-healthy" })).toBe(wantB - Math.floor((wantB + 2) / 10));
    expect(metricValue(after, "nodetap_log_records_sent_total", { sink: "siem" })).toBe(wantA - Math.floor((wantA + 2) / 10));
    expect(metricValue(after, "nodetap_log_files_blocked", { sink: "siem" })).toBe(0);

    // Every file's checkpoint reached its end: restarting sends nothing again.
    agent.kill("SIGTERM");
    expect((await agent.exited).code).toBe(0);
    const before = [atHealthy.total, atDead.total];
    const again = new AgentProcess(cfg);
    cleanup.push(() => again.kill("SIGKILL"));
    await again.whenStarted();
    await sleep(1500);
    expect([atHealthy.total, atDead.total]).toEqual(before);
  }, 120_000);

  it("killed while a sink is dead: after the restart that sink gets every line its route names (the healthy sink's acks did not move the checkpoint)", async () => {
    const { cfg, a, b, atHealthy, atDead, dead } = await setup();
    const { agent, writerA, writerB } = await startBlocked(cfg, a, b);
    await sleep(1500);
    writerA.stop();
    writerB.stop();
    // The checkpoint file is written every 0.25 s: wait for one more write, then crash.
    await sleep(500);
    agent.kill("SIGKILL");
    await agent.exited;
    expect(atDead.total).toBe(0);
    await dead.reopen();
    const again = new AgentProcess(cfg);
    cleanup.push(() => again.kill("SIGKILL"));
    await again.whenStarted();
    const complete = (ledger: SequenceLedger, writer: string, upTo: number) =>
      ledger.missing(writer, upTo).filter((s) => !dropped(s)).length === 0;
    await waitFor(
      "every line at the sinks its route names after the restart",
      () => complete(atDead, "a", writerA.seq) && complete(atHealthy, "a", writerA.seq) && complete(atHealthy, "b", writerB.seq),
      60_000,
    );
    expect(atDead.count("b", writerB.seq)).toBe(0);
  }, 120_000);
});
