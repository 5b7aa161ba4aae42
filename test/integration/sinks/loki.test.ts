import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { LineWriter, SequenceLedger } from "../logs/harness/line-writer.js";
import { metricValue, readDeadLetters, startAgent, stopAgent, tempDir, type AgentProcess } from "./harness/agent.js";
import { appendCri, epochNanos, knownLines, podLog, type KnownLine, type PodLog } from "./harness/corpus.js";
import { makeTlsFixtures, sleep, waitUntil } from "./harness/servers.js";
import { VictoriaLogs, type VlRow } from "./harness/victorialogs.js";
import { havePrograms } from "../../helpers/test-programs.js";

// The Loki sink against a real VictoriaLogs (its Loki push API), queried back with LogsQL.
// VictoriaLogs parses JSON-looking messages into fields unless told not to: the sink's own
// `headers` setting sends VL-Loki-Disable-Message-Parsing so messages are stored as sent.
const PUSH = "/insert/loki/api/v1/push";
const NO_PARSING = { "VL-Loki-Disable-Message-Parsing": "true" };

describe.runIf(havePrograms("Loki sink", "victoria-logs", "openssl"))(
  "Loki sink against VictoriaLogs (real server)",
  { timeout: 120_000 },
  () => {
    let cleanup: Array<() => Promise<void> | void> = [];
    afterEach(async () => {
      for (const c of cleanup.reverse()) await c();
      cleanup = [];
    });

    async function setup(vlOpts: Parameters<typeof VictoriaLogs.start>[1] = {}) {
      const dir = tempDir("loki");
      cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      const vl = await VictoriaLogs.start(dir, vlOpts);
      cleanup.push(() => vl.stop());
      return { dir, vl };
    }

    function track(agent: AgentProcess): AgentProcess {
      cleanup.push(() => stopAgent(agent));
      return agent;
    }

    function checkRows(rows: VlRow[], pods: Array<{ log: PodLog; lines: KnownLine[] }>): void {
      const byMessage = new Map(rows.map((r) => [r._msg, r]));
      expect(byMessage.size).toBe(rows.length); // no duplicates
      for (const { log, lines } of pods) {
        for (const line of lines) {
          const row = byMessage.get(line.message);
          expect(row, `missing ${line.message}`).toBeDefined();
          if (!row) continue;
          expect(epochNanos(row._time)).toBe(epochNanos(line.time));
          expect(row._stream).toBe(`{container="${log.container}",namespace="${log.namespace}",node="test-node"}`);
          expect({
            pod: row.pod,
            pod_uid: row.pod_uid,
            stream: row.stream,
            file: row.file,
            restart_count: row.restart_count,
            source: row.source,
          }).toEqual({
            pod: log.pod,
            pod_uid: log.uid,
            stream: line.stream,
            file: log.file,
            restart_count: String(log.restart),
            source: "pods",
          });
        }
      }
    }

    for (const encoding of ["protobuf", "json"] as const) {
      it(`${encoding}: every line arrives once, with labels, structured metadata and nanosecond timestamps`, async () => {
        const { dir, vl } = await setup();
        const api1 = podLog(dir, "prod", "api-7d9f", "0b6c1d2e-0000-4000-8000-000000000001", "api");
        const api2 = podLog(dir, "prod", "api-8e1a", "0b6c1d2e-0000-4000-8000-000000000002", "api", 3);
        const dns = podLog(dir, "kube-system", "coredns-5d78", "0b6c1d2e-0000-4000-8000-000000000003", "coredns");
        const pods = [
          { log: api1, lines: knownLines(`${encoding}-api1`, 700) },
          { log: api2, lines: knownLines(`${encoding}-api2`, 500) },
          { log: dns, lines: knownLines(`${encoding}-dns`, 300) },
        ];
        for (const p of pods) appendCri(p.log.file, p.lines.slice(0, 200));
        const tenant = encoding === "json" ? "42" : undefined;
        const agent = track(
          await startAgent(dir, {
            type: "loki",
            loki: { url: `${vl.base}${PUSH}`, encoding, headers: NO_PARSING, ...(tenant ? { tenantId: tenant } : {}) },
          }),
        );
        await sleep(500);
        for (const p of pods) appendCri(p.log.file, p.lines.slice(200)); // the rest while the agent runs
        const total = pods.reduce((n, p) => n + p.lines.length, 0);
        await vl.waitForRows("*", total, 60_000, tenant);
        await sleep(1500); // late duplicates would show up now
        const rows = await vl.query("*", tenant);
        expect(rows).toHaveLength(total);
        checkRows(rows, pods);
        if (tenant) expect(await vl.count("*")).toBe(0); // nothing landed in the default tenant
        const metrics = await agent.metrics();
        expect(metricValue(metrics, "nodetap_log_records_sent_total", { sink: "loki" })).toBe(total);
        expect(metricValue(metrics, "nodetap_log_sink_request_duration_seconds_count", { sink: "loki", outcome: "ok" })).toBeGreaterThan(0);
        expect(readDeadLetters(dir)).toEqual([]);
      });
    }

    it("server stopped mid-stream and restarted: nothing lost, retries counted, memory bounded", async () => {
      const { dir, vl } = await setup();
      const pod = podLog(dir, "prod", "writer-1", "0b6c1d2e-0000-4000-8000-00000000000a", "app");
      const maxInFlight = 1024 * 1024;
      const agent = track(
        await startAgent(dir, { type: "loki", loki: { url: `${vl.base}${PUSH}`, headers: NO_PARSING } }, { maxInFlightBytes: maxInFlight }),
      );
      const writer = new LineWriter(pod.file, "w1", 3000, "cri");
      cleanup.push(() => writer.close());
      writer.start();
      await sleep(2000);
      // SIGTERM, not SIGKILL: VictoriaLogs buffers acknowledged rows in memory for about a second
      // (no write-ahead log), so a SIGKILL loses rows the server had already acknowledged (tried:
      // rows go missing). That would be the server's loss, not the agent's. The Elasticsearch
      // test kills OpenSearch with SIGKILL (its translog is fsynced before it answers).
      await vl.stop("SIGTERM");
      // While the server is down: retries pile up, reading pauses at the in-flight budget.
      let maxInFlightSeen = 0;
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        const m = await agent.metrics();
        maxInFlightSeen = Math.max(maxInFlightSeen, metricValue(m, "nodetap_log_in_flight_bytes"));
        await sleep(250);
      }
      await vl.restart();
      await sleep(2000);
      writer.stop();
      const written = writer.seq;
      await vl.waitForRows("*", written, 90_000);
      await sleep(1500);
      const ledger = new SequenceLedger(written + 10);
      for (const row of await vl.query("*")) ledger.add(row._msg);
      expect(ledger.missing("w1", written)).toEqual([]);
      const m = await agent.metrics();
      const retries = metricValue(m, "nodetap_log_send_retries_total", { sink: "loki" });
      expect(retries).toBeGreaterThan(0);
      expect(metricValue(m, "nodetap_log_send_errors_total", { sink: "loki", reason: "connection_refused" })).toBeGreaterThan(0);
      expect(maxInFlightSeen).toBeLessThanOrEqual(maxInFlight + 256 * 1024); // one read chunk over the budget at most
      expect(agent.peakRssBytes()).toBeLessThan(400 * 1024 * 1024);
      console.log(
        `loki restart: ${written} lines, ${ledger.duplicates} duplicates, ${retries} retries, in-flight max ${maxInFlightSeen} B, peak RSS ${(agent.peakRssBytes() / 1048576).toFixed(0)} MiB`,
      );
    });

    it("a record over the server's request size limit is dead-lettered with the server's reason; the rest of its batch arrives", async () => {
      const { dir, vl } = await setup({ flags: ["-loki.maxRequestSize=65536"] });
      const pod = podLog(dir, "prod", "big-1", "0b6c1d2e-0000-4000-8000-00000000000b", "app");
      const lines = knownLines("reject", 101);
      const big = `reject#50 ${randomBytes(90_000).toString("base64")}`; // incompressible: > 64 KiB after snappy
      lines[50] = { ...lines[50], message: big };
      appendCri(pod.file, lines);
      const agent = track(await startAgent(dir, { type: "loki", loki: { url: `${vl.base}${PUSH}`, headers: NO_PARSING } }));
      await vl.waitForRows("*", 100, 60_000);
      await waitUntil("the dead letter", () => readDeadLetters(dir).length === 1, 30_000);
      const rows = await vl.query("*");
      expect(rows.map((r) => r._msg).sort()).toEqual(
        lines
          .filter((_, i) => i !== 50)
          .map((l) => l.message)
          .sort(),
      );
      const [dl] = readDeadLetters(dir);
      expect(dl.deadLetter).toMatchObject({ sink: "loki", reason: "status_400", status: 400 });
      expect(dl.deadLetter.detail).toMatch(/too big .*loki\.maxRequestSize=65536/);
      expect(dl.record.message).toBe(big);
      const m = await agent.metrics();
      expect(metricValue(m, "nodetap_log_dead_letter_records_total", { sink: "loki", reason: "status_400" })).toBe(1);
      // The dead-lettered record is counted as a dead letter, not as sent.
      expect(metricValue(m, "nodetap_log_records_sent_total", { sink: "loki" })).toBe(100);
      // The 101 records went in one batch; halving it isolated the big one: 1 + log2(101) rejected requests.
      const rejected = metricValue(m, "nodetap_log_sink_request_duration_seconds_count", { sink: "loki", outcome: "reject" });
      expect(rejected).toBeGreaterThanOrEqual(7);
      expect(rejected).toBeLessThanOrEqual(9);
    });

    it("TLS: the CA given in config verifies the server; a wrong CA fails with a clear error", async () => {
      const dir0 = tempDir("loki-tls");
      cleanup.push(() => fs.rmSync(dir0, { recursive: true, force: true }));
      const tls = makeTlsFixtures(path.join(dir0, "tls"));
      const { dir, vl } = await setup({ tls });
      const pod = podLog(dir, "prod", "tls-1", "0b6c1d2e-0000-4000-8000-00000000000c", "app");
      const lines = knownLines("tls", 50);
      appendCri(pod.file, lines);

      // Wrong CA first: nothing is delivered, the agent says why, and the records stay unacknowledged.
      const bad = track(
        await startAgent(dir, { type: "loki", loki: { url: `${vl.tlsBase}${PUSH}`, headers: NO_PARSING, tls: { caFile: tls.wrongCa } } }),
      );
      await waitUntil("a TLS failure", () => bad.logsMatching(/sink delivery failed/).length > 0, 30_000);
      const warn = bad.logsMatching(/sink delivery failed/)[0];
      expect(warn.reason).toBe("tls");
      expect(String(warn.detail)).toMatch(
        /TLS handshake with 127\.0\.0\.1:\d+ failed: .*(self-signed|unable to verify|SELF_SIGNED|UNABLE_TO_VERIFY).*checked against logs CA file .*wrong-ca\.pem/,
      );
      const status = await bad.status();
      expect(JSON.stringify(status.logs.sink)).toMatch(/tls: TLS handshake/);
      expect(await vl.count("*")).toBe(0);
      await stopAgent(bad);

      // The right CA: everything (still unacknowledged from the failed run) arrives.
      track(await startAgent(dir, { type: "loki", loki: { url: `${vl.tlsBase}${PUSH}`, headers: NO_PARSING, tls: { caFile: tls.ca } } }));
      const rows = await vl.waitForRows("*", lines.length, 60_000);
      expect(rows.map((r) => r._msg)).toEqual(lines.map((l) => l.message));
    });
  },
);
