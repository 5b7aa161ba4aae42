import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { VERSION } from "../../../agent/version.js";
import { LineWriter, SequenceLedger } from "../logs/harness/line-writer.js";
import { metricValue, readDeadLetters, startAgent, stopAgent, tempDir, type AgentProcess } from "./harness/agent.js";
import { appendCri, epochNanos, knownLines, podLog, type KnownLine, type PodLog } from "./harness/corpus.js";
import { OtelCollector, type CollectedLog } from "./harness/otelcol.js";
import { makeTlsFixtures, sleep, waitUntil } from "./harness/servers.js";
import { VictoriaLogs } from "./harness/victorialogs.js";
import { havePrograms } from "../../helpers/test-programs.js";

// The OTLP/HTTP sink against a real OpenTelemetry Collector (OTLP receiver -> file exporter,
// read back from its JSON output) and a real VictoriaLogs (its OTLP endpoint, protobuf only).

describe.runIf(havePrograms("OTLP sink", "otelcol", "victoria-logs", "openssl"))(
  "OTLP sink against the OpenTelemetry Collector and VictoriaLogs (real servers)",
  { timeout: 120_000 },
  () => {
    let cleanup: Array<() => Promise<void> | void> = [];
    afterEach(async () => {
      for (const c of cleanup.reverse()) await c();
      cleanup = [];
    });

    function dirFor(name: string): string {
      const dir = tempDir(name);
      cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      return dir;
    }

    function track<T extends { stop(): Promise<void> } | AgentProcess>(x: T): T {
      cleanup.push(() => ("whenStarted" in x ? stopAgent(x as AgentProcess) : (x as { stop(): Promise<void> }).stop()));
      return x;
    }

    function threePods(dir: string, tag: string): Array<{ log: PodLog; lines: KnownLine[] }> {
      return [
        { log: podLog(dir, "prod", "api-7d9f", "0b6c1d2e-0000-4000-8000-000000000001", "api"), lines: knownLines(`${tag}-api1`, 600) },
        { log: podLog(dir, "prod", "api-8e1a", "0b6c1d2e-0000-4000-8000-000000000002", "api", 3), lines: knownLines(`${tag}-api2`, 400) },
        {
          log: podLog(dir, "kube-system", "coredns-5d78", "0b6c1d2e-0000-4000-8000-000000000003", "coredns"),
          lines: knownLines(`${tag}-dns`, 300),
        },
      ];
    }

    for (const encoding of ["protobuf", "json"] as const) {
      it(`${encoding} -> Collector: every line arrives once, with k8s resource attributes, times and log attributes`, async () => {
        const dir = dirFor("otlp");
        const col = track(await OtelCollector.start(path.join(dir, "col")));
        const pods = threePods(dir, encoding);
        for (const p of pods) appendCri(p.log.file, p.lines.slice(0, 150));
        const startedAt = BigInt(Date.now()) * 1_000_000n;
        const agent = track(
          await startAgent(dir, { type: "otlp", otlp: { url: col.url, encoding, resourceAttributes: { "k8s.cluster.name": "test" } } }),
        );
        await sleep(300);
        for (const p of pods) appendCri(p.log.file, p.lines.slice(150));
        const total = pods.reduce((n, p) => n + p.lines.length, 0);
        await col.waitForLogs(total);
        await sleep(1000);
        const got = col.logs();
        expect(got).toHaveLength(total);
        const byBody = new Map<string, CollectedLog>(got.map((g) => [g.body, g]));
        expect(byBody.size).toBe(total);
        const now = BigInt(Date.now()) * 1_000_000n;
        for (const { log, lines } of pods) {
          for (const line of lines) {
            const r = byBody.get(line.message);
            expect(r, line.message).toBeDefined();
            if (!r) continue;
            expect(BigInt(r.timeUnixNano)).toBe(epochNanos(line.time));
            expect(BigInt(r.observedTimeUnixNano) >= startedAt && BigInt(r.observedTimeUnixNano) <= now).toBe(true);
            expect(r.resource).toEqual({
              "k8s.namespace.name": log.namespace,
              "k8s.pod.name": log.pod,
              "k8s.pod.uid": log.uid,
              "k8s.container.name": log.container,
              "k8s.container.restart_count": String(log.restart),
              "k8s.node.name": "test-node",
              "k8s.cluster.name": "test",
            });
            expect(r.attributes).toEqual({ "log.file.path": log.file, "log.iostream": line.stream });
            expect(r.scope).toEqual({ name: "nodetap", version: VERSION });
            expect(r.severityNumber ?? 0).toBe(0);
          }
        }
        expect(metricValue(await agent.metrics(), "nodetap_log_records_sent_total", { sink: "otlp" })).toBe(total);
        expect(readDeadLetters(dir)).toEqual([]);
      });
    }

    it("protobuf -> VictoriaLogs OTLP endpoint: every line arrives with resource attributes as stream fields", async () => {
      const dir = dirFor("otlp-vl");
      const vl = track(await VictoriaLogs.start(dir));
      const pods = threePods(dir, "vl");
      for (const p of pods) appendCri(p.log.file, p.lines);
      track(await startAgent(dir, { type: "otlp", otlp: { url: `${vl.base}/insert/opentelemetry/v1/logs`, encoding: "protobuf" } }));
      const total = pods.reduce((n, p) => n + p.lines.length, 0);
      await vl.waitForRows("*", total);
      await sleep(1000);
      const rows = await vl.query("*");
      expect(rows).toHaveLength(total);
      const byMsg = new Map(rows.map((r) => [r._msg, r]));
      for (const { log, lines } of pods) {
        for (const line of lines) {
          const row = byMsg.get(line.message);
          expect(row, line.message).toBeDefined();
          if (!row) continue;
          expect(epochNanos(row._time)).toBe(epochNanos(line.time));
          expect(row["k8s.namespace.name"]).toBe(log.namespace);
          expect(row["k8s.pod.name"]).toBe(log.pod);
          expect(row["k8s.pod.uid"]).toBe(log.uid);
          expect(row["k8s.container.name"]).toBe(log.container);
          expect(row["k8s.node.name"]).toBe("test-node");
          expect(row["log.file.path"]).toBe(log.file);
          expect(row["log.iostream"]).toBe(line.stream);
          expect(row._stream).toContain(`k8s.pod.uid="${log.uid}"`);
        }
      }
    });

    it("Collector stopped mid-stream and restarted: nothing lost, retries counted, memory bounded", async () => {
      const dir = dirFor("otlp-restart");
      const col = track(await OtelCollector.start(path.join(dir, "col")));
      const pod = podLog(dir, "prod", "writer-1", "0b6c1d2e-0000-4000-8000-00000000000a", "app");
      const maxInFlight = 1024 * 1024;
      const agent = track(await startAgent(dir, { type: "otlp", otlp: { url: col.url } }, { maxInFlightBytes: maxInFlight }));
      const writer = new LineWriter(pod.file, "w1", 3000, "cri");
      cleanup.push(() => writer.close());
      writer.start();
      await sleep(2000);
      await col.stop("SIGTERM");
      let maxInFlightSeen = 0;
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        maxInFlightSeen = Math.max(maxInFlightSeen, metricValue(await agent.metrics(), "nodetap_log_in_flight_bytes"));
        await sleep(250);
      }
      await col.restart();
      await sleep(2000);
      writer.stop();
      const written = writer.seq;
      await col.waitForLogs(written, 90_000);
      await sleep(1000);
      const ledger = new SequenceLedger(written + 10);
      for (const r of col.logs()) ledger.add(r.body);
      expect(ledger.missing("w1", written)).toEqual([]);
      const m = await agent.metrics();
      expect(metricValue(m, "nodetap_log_send_retries_total", { sink: "otlp" })).toBeGreaterThan(0);
      expect(maxInFlightSeen).toBeLessThanOrEqual(maxInFlight + 256 * 1024);
      expect(agent.peakRssBytes()).toBeLessThan(400 * 1024 * 1024);
      console.log(
        `otlp restart: ${written} lines, ${ledger.duplicates} duplicates, retries ${metricValue(m, "nodetap_log_send_retries_total", { sink: "otlp" })}, in-flight max ${maxInFlightSeen} B`,
      );
    });

    it("a record over the Collector's max_request_body_size is dead-lettered with its reason; the rest of its batch arrives", async () => {
      const dir = dirFor("otlp-reject");
      const col = track(await OtelCollector.start(path.join(dir, "col"), { maxRequestBodyBytes: 65536 }));
      const pod = podLog(dir, "prod", "big-1", "0b6c1d2e-0000-4000-8000-00000000000b", "app");
      const lines = knownLines("reject", 101);
      const big = `reject#50 ${randomBytes(90_000).toString("base64")}`; // > 64 KiB even gzipped
      lines[50] = { ...lines[50], message: big };
      appendCri(pod.file, lines);
      const agent = track(await startAgent(dir, { type: "otlp", otlp: { url: col.url } }));
      await col.waitForLogs(100);
      await waitUntil("the dead letter", () => readDeadLetters(dir).length === 1, 30_000);
      expect(
        col
          .logs()
          .map((r) => r.body)
          .sort(),
      ).toEqual(
        lines
          .filter((_, i) => i !== 50)
          .map((l) => l.message)
          .sort(),
      );
      const [dl] = readDeadLetters(dir);
      expect(dl.deadLetter).toMatchObject({ sink: "otlp", reason: "status_400", status: 400 });
      expect(dl.deadLetter.detail).toMatch(/too large/i);
      expect(dl.record.message).toBe(big);
      expect(metricValue(await agent.metrics(), "nodetap_log_dead_letter_records_total", { sink: "otlp" })).toBe(1);
    });

    it("TLS: the CA given in config verifies the Collector; a wrong CA fails with a clear error", async () => {
      const dir = dirFor("otlp-tls");
      const tls = makeTlsFixtures(path.join(dir, "tls"));
      const col = track(await OtelCollector.start(path.join(dir, "col"), { tls }));
      const pod = podLog(dir, "prod", "tls-1", "0b6c1d2e-0000-4000-8000-00000000000c", "app");
      const lines = knownLines("tls", 40);
      appendCri(pod.file, lines);
      const bad = await startAgent(dir, { type: "otlp", otlp: { url: col.url, tls: { caFile: tls.wrongCa } } });
      await waitUntil("a TLS failure", () => bad.logsMatching(/sink delivery failed/).length > 0, 30_000);
      const warn = bad.logsMatching(/sink delivery failed/)[0];
      expect(warn.reason).toBe("tls");
      expect(String(warn.detail)).toMatch(/TLS handshake with 127\.0\.0\.1:\d+ failed: .*checked against logs CA file .*wrong-ca\.pem/);
      await stopAgent(bad);
      expect(col.logs()).toHaveLength(0);
      track(await startAgent(dir, { type: "otlp", otlp: { url: col.url, tls: { caFile: tls.ca } } }));
      const got = await col.waitForLogs(lines.length);
      expect(got.map((g) => g.body)).toEqual(lines.map((l) => l.message));
    });
  },
);
