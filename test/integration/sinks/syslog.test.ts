import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LineWriter, SequenceLedger } from "../logs/harness/line-writer.js";
import { metricValue, startAgent, stopAgent, tempDir, type AgentProcess } from "./harness/agent.js";
import { appendCri, knownLines, podLog, type KnownLine, type PodLog } from "./harness/corpus.js";
import { makeTlsFixtures, sleep, waitUntil } from "./harness/servers.js";
import { SyslogNg, type SyslogNgMessage } from "./harness/syslog-ng.js";
import { havePrograms } from "../../helpers/test-programs.js";

// The syslog sink against a real syslog-ng (syslog() sources: tcp, tls, udp -> JSON file).

/** syslog-ng's S_ISODATE for a record time: microseconds, +00:00. */
function isoMicros(time: string): string {
  return `${time.slice(0, 26)}+00:00`;
}

describe.runIf(havePrograms("syslog sink", "syslog-ng", "openssl"))(
  "syslog sink against syslog-ng (real server)",
  { timeout: 120_000 },
  () => {
    let cleanup: Array<() => Promise<void> | void> = [];
    afterEach(async () => {
      for (const c of cleanup.reverse()) await c();
      cleanup = [];
    });

    async function setup(opts: Parameters<typeof SyslogNg.start>[1] = {}) {
      const dir = tempDir("syslog");
      cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
      const tls = opts.tls ? opts.tls : undefined;
      const sng = await SyslogNg.start(path.join(dir, "sng"), { ...opts, tls });
      cleanup.push(() => sng.stop());
      return { dir, sng };
    }

    function track(agent: AgentProcess): AgentProcess {
      cleanup.push(() => stopAgent(agent));
      return agent;
    }

    function check(got: SyslogNgMessage[], pods: Array<{ log: PodLog; lines: KnownLine[] }>, facility: string): void {
      const byMsg = new Map(got.map((m) => [m.MESSAGE, m]));
      expect(byMsg.size).toBe(got.length);
      for (const { log, lines } of pods) {
        for (const line of lines) {
          const m = byMsg.get(line.message);
          expect(m, line.message).toBeDefined();
          if (!m) continue;
          expect(m.S_ISODATE).toBe(isoMicros(line.time));
          expect({ host: m.HOST, program: m.PROGRAM, msgid: m.MSGID, priority: m.PRIORITY, facility: m.FACILITY }).toEqual({
            host: "test-node",
            program: log.container,
            msgid: line.stream,
            priority: line.stream === "stderr" ? "err" : "info",
            facility,
          });
          expect(m._SDATA?.["k8s@32473"]).toEqual({
            namespace: log.namespace,
            pod: log.pod,
            pod_uid: log.uid,
            container: log.container,
            restart_count: String(log.restart),
            node: "test-node",
            source: "pods",
            file: log.file,
          });
        }
      }
    }

    it("tcp: every line arrives once, with RFC 5424 header fields and k8s structured data", async () => {
      const { dir, sng } = await setup();
      const pods = [
        { log: podLog(dir, "prod", "api-7d9f", "0b6c1d2e-0000-4000-8000-000000000001", "api"), lines: knownLines("tcp-api", 800) },
        {
          log: podLog(dir, "kube-system", "coredns-5d78", "0b6c1d2e-0000-4000-8000-000000000003", "coredns", 1),
          lines: knownLines("tcp-dns", 400),
        },
      ];
      for (const p of pods) appendCri(p.log.file, p.lines.slice(0, 100));
      const agent = track(
        await startAgent(dir, { type: "syslog", syslog: { address: `127.0.0.1:${sng.tcpPort}`, transport: "tcp", facility: "local3" } }),
      );
      await sleep(300);
      for (const p of pods) appendCri(p.log.file, p.lines.slice(100));
      const total = 1200;
      await sng.waitForMessages(total);
      await sleep(1000);
      const got = sng.messages();
      expect(got).toHaveLength(total);
      check(got, pods, "local3");
      // Per file, syslog-ng got the lines in file order (one connection).
      for (const p of pods) {
        const order = got.filter((m) => m._SDATA?.["k8s@32473"]?.pod === p.log.pod).map((m) => m.MESSAGE);
        expect(order).toEqual(p.lines.map((l) => l.message));
      }
      expect(metricValue(await agent.metrics(), "nodetap_log_records_sent_total", { sink: "syslog" })).toBe(total);
    });

    it("udp: every line arrives; messages over maxMessageBytes are cut and counted", async () => {
      const { dir, sng } = await setup();
      const pod = podLog(dir, "prod", "udp-1", "0b6c1d2e-0000-4000-8000-000000000004", "app");
      const lines = knownLines("udp", 200);
      lines[10] = { ...lines[10], message: `udp#10 ${"long ".repeat(400)}` };
      const agent = track(
        await startAgent(dir, { type: "syslog", syslog: { address: `127.0.0.1:${sng.udpPort}`, transport: "udp", maxMessageBytes: 1024 } }),
      );
      // As an application logs: 20 lines every 200 ms. (A burst of hundreds of datagrams overflows
      // the receiver's socket buffer and the kernel drops them: UDP gives no delivery guarantee.)
      for (let i = 0; i < lines.length; i += 20) {
        appendCri(pod.file, lines.slice(i, i + 20));
        await sleep(200);
      }
      const got = await sng.waitForMessages(200);
      const cut = got.find((m) => m.MESSAGE.startsWith("udp#10 "));
      expect(cut).toBeDefined();
      expect(lines[10].message.startsWith(cut!.MESSAGE)).toBe(true);
      expect(cut!.MESSAGE.length).toBeLessThan(1024);
      check(
        got.filter((m) => m !== cut),
        [{ log: pod, lines: lines.filter((_, i) => i !== 10) }],
        "user",
      );
      expect(metricValue(await agent.metrics(), "nodetap_log_sink_record_outcomes_total", { sink: "syslog", outcome: "truncated" })).toBe(
        1,
      );
    });

    it("TLS: the CA given in config verifies syslog-ng; a wrong CA fails with a clear error", async () => {
      const dir0 = tempDir("syslog-tls");
      cleanup.push(() => fs.rmSync(dir0, { recursive: true, force: true }));
      const tls = makeTlsFixtures(path.join(dir0, "tls"));
      const { dir, sng } = await setup({ tls });
      const pod = podLog(dir, "prod", "tls-1", "0b6c1d2e-0000-4000-8000-00000000000c", "app");
      const lines = knownLines("tls", 60);
      appendCri(pod.file, lines);
      const address = `127.0.0.1:${sng.tlsPort}`;
      const bad = await startAgent(dir, { type: "syslog", syslog: { address, transport: "tls", tls: { caFile: tls.wrongCa } } });
      await waitUntil("a TLS failure", () => bad.logsMatching(/sink delivery failed/).length > 0, 30_000);
      const warn = bad.logsMatching(/sink delivery failed/)[0];
      expect(warn.reason).toBe("tls");
      expect(String(warn.detail)).toMatch(/TLS handshake with 127\.0\.0\.1:\d+ failed: .*checked against logs CA file .*wrong-ca\.pem/);
      await stopAgent(bad);
      expect(sng.messages()).toHaveLength(0);
      track(await startAgent(dir, { type: "syslog", syslog: { address, transport: "tls", tls: { caFile: tls.ca } } }));
      const got = await sng.waitForMessages(lines.length);
      expect(got.map((m) => m.MESSAGE)).toEqual(lines.map((l) => l.message));
    });

    it("server restarted mid-stream: lines sent while it is down are retried; loss is bounded to what the kernel had accepted", async () => {
      const { dir, sng } = await setup();
      const pod = podLog(dir, "prod", "writer-1", "0b6c1d2e-0000-4000-8000-00000000000a", "app");
      const agent = track(
        await startAgent(dir, { type: "syslog", syslog: { address: `127.0.0.1:${sng.tcpPort}` } }, { maxInFlightBytes: 1024 * 1024 }),
      );
      const writer = new LineWriter(pod.file, "w1", 3000, "cri");
      cleanup.push(() => writer.close());
      writer.start();
      await sleep(2000);
      await sng.stop("SIGTERM");
      const atStop = writer.seq;
      await sleep(4000);
      await sng.restart();
      await sleep(2000);
      writer.stop();
      const written = writer.seq;
      await waitUntil(
        "the lines written after the restart",
        async () => {
          const ledger = new SequenceLedger(written + 10);
          for (const m of sng.messages()) ledger.add(m.MESSAGE);
          return ledger.missing("w1", written).every((s) => s < atStop);
        },
        60_000,
      );
      await sleep(1000);
      const ledger = new SequenceLedger(written + 10);
      for (const m of sng.messages()) ledger.add(m.MESSAGE);
      const missing = ledger.missing("w1", written);
      const m = await agent.metrics();
      const retries = metricValue(m, "nodetap_log_send_retries_total", { sink: "syslog" });
      console.log(
        `syslog restart: ${written} lines, ${missing.length} lost (all before the stop at #${atStop}), ${ledger.duplicates} duplicates, ${retries} retries`,
      );
      expect(retries).toBeGreaterThan(0);
      // Everything written after the server went down arrived (the agent retried); what was lost
      // had been written to the socket before the stop (no application ack in syslog).
      expect(missing.every((s) => s < atStop)).toBe(true);
      expect(missing.length).toBeLessThan(3000);
    });
  },
);
