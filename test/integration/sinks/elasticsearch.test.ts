import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LineWriter, SequenceLedger } from "../logs/harness/line-writer.js";
import { metricValue, readDeadLetters, startAgent, stopAgent, tempDir, type AgentProcess } from "./harness/agent.js";
import { appendCri, knownLines, podLog, type KnownLine, type PodLog } from "./harness/corpus.js";
import { OpenSearch } from "./harness/opensearch.js";
import { makeTlsFixtures, sleep, waitUntil } from "./harness/servers.js";
import { VictoriaLogs } from "./harness/victorialogs.js";
import { havePrograms } from "../../helpers/test-programs.js";

// The Elasticsearch sink against a real OpenSearch 2.19 node (Maven Central modules, one JVM) for
// _bulk per-item semantics, and VictoriaLogs' Elasticsearch bulk endpoint for TLS + basic auth.

type Doc = { _id: string; _index: string; _source: Record<string, unknown> };

describe.runIf(havePrograms("Elasticsearch sink against OpenSearch", "opensearch-node"))(
  "Elasticsearch sink against OpenSearch (real server)",
  { timeout: 120_000 },
  () => {
    let root: string;
    let os: OpenSearch;
    let cleanup: Array<() => Promise<void> | void> = [];

    beforeAll(async () => {
      root = tempDir("es");
      os = await OpenSearch.start(path.join(root, "os"));
      // Data streams need an index template; @timestamp as date_nanos keeps nanoseconds.
      await os.request("PUT", "/_index_template/nodetap-ds", {
        index_patterns: ["logs-nodetap-*"],
        data_stream: {},
        priority: 200,
        template: {
          settings: { number_of_replicas: 0 },
          mappings: { properties: { "@timestamp": { type: "date_nanos" }, message: { type: "keyword" } } },
        },
      });
      await os.request("PUT", "/_index_template/nodetap-idx", {
        index_patterns: ["nodetap-*"],
        priority: 100,
        template: { settings: { number_of_replicas: 0 } },
      });
    }, 180_000);
    afterAll(async () => {
      await os?.stop();
      fs.rmSync(root, { recursive: true, force: true });
    });
    afterEach(async () => {
      for (const c of cleanup.reverse()) await c();
      cleanup = [];
    });

    function dirFor(name: string): string {
      const dir = path.join(root, name);
      fs.mkdirSync(dir, { recursive: true });
      return dir;
    }
    function track(agent: AgentProcess): AgentProcess {
      cleanup.push(() => stopAgent(agent));
      return agent;
    }

    function checkDocs(docs: Doc[], pods: Array<{ log: PodLog; lines: KnownLine[] }>, index: (l: KnownLine) => RegExp): void {
      const byMsg = new Map(docs.map((d) => [d._source.message as string, d]));
      expect(byMsg.size).toBe(docs.length);
      for (const { log, lines } of pods) {
        for (const line of lines) {
          const d = byMsg.get(line.message);
          expect(d, line.message).toBeDefined();
          if (!d) continue;
          expect(d._index).toMatch(index(line));
          expect(d._source).toEqual({
            "@timestamp": line.time,
            message: line.message,
            stream: line.stream,
            log: { file: { path: log.file } },
            kubernetes: {
              namespace: log.namespace,
              pod: { name: log.pod, uid: log.uid },
              container: { name: log.container, restart_count: log.restart },
              node: { name: "test-node" },
            },
            nodetap: { source: "pods" },
          });
        }
      }
    }

    it("data stream (create): every line stored once with its metadata; gzip bodies", async () => {
      const dir = dirFor("ds");
      const pods = [
        { log: podLog(dir, "prod", "api-7d9f", "0b6c1d2e-0000-4000-8000-000000000001", "api"), lines: knownLines("ds-api", 1500) },
        {
          log: podLog(dir, "kube-system", "coredns-5d78", "0b6c1d2e-0000-4000-8000-000000000003", "coredns", 2),
          lines: knownLines("ds-dns", 500),
        },
      ];
      for (const p of pods) appendCri(p.log.file, p.lines);
      const agent = track(
        await startAgent(dir, { type: "elasticsearch", elasticsearch: { url: os.url, mode: "datastream", index: "logs-nodetap-ds" } }),
      );
      await waitUntil("2000 documents", async () => (await os.count("logs-nodetap-ds").catch(() => 0)) >= 2000, 60_000);
      await sleep(1000);
      const docs = await os.documents("logs-nodetap-ds");
      expect(docs).toHaveLength(2000);
      checkDocs(docs, pods, () => /^\.ds-logs-nodetap-ds-\d+$/);
      // date_nanos: the nanoseconds are in the index, not only in _source.
      const first = pods[0].lines[3];
      const hit = await os.request<{ hits: { total: { value: number } } }>("POST", "/logs-nodetap-ds/_search", {
        query: { term: { "@timestamp": first.time } },
      });
      expect(hit.hits.total.value).toBe(1);
      expect(metricValue(await agent.metrics(), "nodetap_log_records_sent_total", { sink: "elasticsearch" })).toBe(2000);
      expect(readDeadLetters(dir)).toEqual([]);
    });

    it("dated indices (nodetap-%Y.%m.%d) from the record time", async () => {
      const dir = dirFor("idx");
      const day = Date.parse("2026-01-15T23:59:59.900Z");
      const lines = knownLines("idx", 200, day); // crosses midnight UTC
      const pod = podLog(dir, "prod", "api-1", "0b6c1d2e-0000-4000-8000-000000000004", "api");
      appendCri(pod.file, lines);
      track(await startAgent(dir, { type: "elasticsearch", elasticsearch: { url: os.url, mode: "index", index: "nodetap-%Y.%m.%d" } }));
      await waitUntil("200 documents", async () => (await os.count("nodetap-2026.01.*").catch(() => 0)) >= 200, 60_000);
      const docs = await os.documents("nodetap-2026.01.*");
      expect(docs).toHaveLength(200);
      checkDocs(
        docs,
        [{ log: pod, lines }],
        (l) => new RegExp(`^nodetap-${l.time.slice(0, 4)}\\.${l.time.slice(5, 7)}\\.${l.time.slice(8, 10)}$`),
      );
      expect(new Set(docs.map((d) => d._index))).toEqual(new Set(["nodetap-2026.01.15", "nodetap-2026.01.16"]));
    });

    it("deterministic ids: re-reading a file (lost checkpoint) is answered 409 per item, counted as already stored, nothing stored twice", async () => {
      const dir = dirFor("ids");
      const pod = podLog(dir, "prod", "api-ids", "0b6c1d2e-0000-4000-8000-000000000005", "api");
      const lines = knownLines("ids", 800);
      appendCri(pod.file, lines);
      const sink = { type: "elasticsearch", elasticsearch: { url: os.url, index: "logs-nodetap-ids", documentId: "hash" } };
      const first = await startAgent(dir, sink);
      await waitUntil("800 documents", async () => (await os.count("logs-nodetap-ids").catch(() => 0)) >= 800, 60_000);
      await stopAgent(first);
      fs.rmSync(path.join(dir, "state"), { recursive: true, force: true }); // forget the checkpoints: everything is read again
      const second = track(await startAgent(dir, sink));
      await waitUntil(
        "800 records re-sent",
        async () => metricValue(await second.metrics(), "nodetap_log_records_sent_total", { sink: "elasticsearch" }) >= 800,
        60_000,
      );
      const m = await second.metrics();
      expect(metricValue(m, "nodetap_log_sink_record_outcomes_total", { sink: "elasticsearch", outcome: "already_stored" })).toBe(800);
      expect(await os.count("logs-nodetap-ids")).toBe(800);
      expect(readDeadLetters(dir)).toEqual([]);
    });

    it("rejected items (an immense keyword term) go to the dead-letter file with the server's reason; the rest of the batch is stored", async () => {
      const dir = dirFor("reject");
      const pod = podLog(dir, "prod", "api-big", "0b6c1d2e-0000-4000-8000-000000000006", "api");
      const lines = knownLines("reject", 300);
      for (const i of [17, 150]) lines[i] = { ...lines[i], message: `reject#${i} ${"z".repeat(40_000)}` }; // > 32766 bytes: Lucene's term limit
      appendCri(pod.file, lines);
      const agent = track(await startAgent(dir, { type: "elasticsearch", elasticsearch: { url: os.url, index: "logs-nodetap-reject" } }));
      await waitUntil("2 dead letters", () => readDeadLetters(dir).length === 2, 60_000);
      await waitUntil("298 documents", async () => (await os.count("logs-nodetap-reject").catch(() => 0)) >= 298, 30_000);
      const docs = await os.documents("logs-nodetap-reject");
      expect(docs.map((d) => d._source.message).sort()).toEqual(
        lines
          .filter((_, i) => i !== 17 && i !== 150)
          .map((l) => l.message)
          .sort(),
      );
      const dl = readDeadLetters(dir);
      expect(dl.map((d) => d.record.message.slice(0, 11)).sort()).toEqual(["reject#150 ", "reject#17 z"]);
      for (const d of dl) {
        expect(d.deadLetter).toMatchObject({ sink: "elasticsearch", reason: "item_400", status: 400 });
        expect(d.deadLetter.detail).toMatch(/illegal_argument_exception: Document contains at least one immense term in field="message"/);
      }
      const m = await agent.metrics();
      expect(metricValue(m, "nodetap_log_dead_letter_records_total", { sink: "elasticsearch", reason: "item_400" })).toBe(2);
      // Dead-lettered records are counted as dead letters, not as sent.
      expect(metricValue(m, "nodetap_log_records_sent_total", { sink: "elasticsearch" })).toBe(298);
    });

    it("server killed (SIGKILL) mid-stream and restarted: nothing lost (ids make re-sends idempotent), retries counted", async () => {
      const dir = dirFor("restart");
      const pod = podLog(dir, "prod", "writer-1", "0b6c1d2e-0000-4000-8000-00000000000a", "app");
      const agent = track(
        await startAgent(
          dir,
          { type: "elasticsearch", elasticsearch: { url: os.url, index: "logs-nodetap-restart", documentId: "hash" } },
          { maxInFlightBytes: 1024 * 1024 },
        ),
      );
      const writer = new LineWriter(pod.file, "w1", 500, "cri");
      cleanup.push(() => writer.close());
      writer.start();
      await sleep(3000);
      // OpenSearch fsyncs its translog before answering a bulk request: what it acknowledged
      // survives a SIGKILL, so every loss here would be the agent's.
      await os.stop("SIGKILL");
      await sleep(3000);
      await os.restart();
      await sleep(2000);
      writer.stop();
      const written = writer.seq;
      await waitUntil(`${written} documents`, async () => (await os.count("logs-nodetap-restart").catch(() => 0)) >= written, 120_000, 500);
      await sleep(1000);
      const docs = await os.documents("logs-nodetap-restart");
      const ledger = new SequenceLedger(written + 10);
      for (const d of docs) ledger.add(d._source.message as string);
      const missing = ledger.missing("w1", written);
      if (missing.length > 0) {
        // Say where the missing lines went, so a failure is diagnosable.
        const deadLetters = readDeadLetters(dir).map((d) => d.deadLetter);
        const odd = docs
          .map((d) => String(d._source.message))
          .filter((m) => !/^w=w1 g=\d+ s=\d+ x*$/.test(m))
          .slice(0, 5);
        console.log(
          "missing",
          missing.length,
          missing.slice(0, 5),
          "docs",
          docs.length,
          "written",
          written,
          "odd",
          JSON.stringify(odd).slice(0, 600),
          "dead letters",
          deadLetters.length,
          JSON.stringify(deadLetters.slice(0, 3)),
          JSON.stringify(agent.logs.filter((l) => (l as { level?: number }).level !== 30).slice(-15)),
        );
      }
      expect(missing).toEqual([]);
      expect(docs).toHaveLength(written); // no duplicates either: same record, same id
      const m = await agent.metrics();
      const retries = metricValue(m, "nodetap_log_send_retries_total", { sink: "elasticsearch" });
      expect(retries).toBeGreaterThan(0);
      expect(agent.peakRssBytes()).toBeLessThan(400 * 1024 * 1024);
      console.log(
        `elasticsearch restart: ${written} lines, ${retries} retries, already stored ${metricValue(m, "nodetap_log_sink_record_outcomes_total", { sink: "elasticsearch", outcome: "already_stored" })}`,
      );
    }, 240_000);
  },
);

describe.runIf(havePrograms("Elasticsearch sink: 429s", "opensearch-node"))(
  "Elasticsearch sink: real 429s from a saturated OpenSearch write pool",
  () => {
    it("retries only the rejected items: every line stored exactly once", async () => {
      const dir = tempDir("es429");
      const os = await OpenSearch.start(path.join(dir, "os"), { "thread_pool.write.size": "1", "thread_pool.write.queue_size": "1" });
      let agent: AgentProcess | undefined;
      try {
        await os.request("PUT", "/_index_template/nodetap-429", {
          index_patterns: ["nodetap429-*"],
          template: { settings: { number_of_shards: 6, number_of_replicas: 0 } },
        });
        const pods = Array.from({ length: 8 }, (_, i) => ({
          log: podLog(dir, "prod", `api-${i}`, `0b6c1d2e-0000-4000-8000-00000000010${i}`, "api"),
          lines: knownLines(`p${i}`, 600),
        }));
        for (const p of pods) appendCri(p.log.file, p.lines);
        agent = await startAgent(dir, {
          type: "elasticsearch",
          batch: { maxRecords: 200 },
          elasticsearch: { url: os.url, mode: "index", index: "nodetap429-%Y", concurrency: 8 },
        });
        await waitUntil(
          "4800 records acknowledged",
          async () => metricValue(await agent!.metrics(), "nodetap_log_records_sent_total", { sink: "elasticsearch" }) >= 4800,
          120_000,
          500,
        );
        const m = await agent.metrics();
        const partial = metricValue(m, "nodetap_log_sink_request_duration_seconds_count", { sink: "elasticsearch", outcome: "partial" });
        const itemRetries = metricValue(m, "nodetap_log_send_retries_total", { sink: "elasticsearch", reason: "items_429" });
        console.log(`elasticsearch 429: ${partial} partial responses, ${itemRetries} item retries`);
        expect(partial).toBeGreaterThan(0);
        expect(itemRetries).toBeGreaterThan(0);
        const docs = await os.documents("nodetap429-*");
        expect(docs).toHaveLength(4800);
        expect(new Set(docs.map((d) => d._source.message)).size).toBe(4800);
        expect(readDeadLetters(dir)).toEqual([]);
      } finally {
        await stopAgent(agent);
        await os.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 240_000);
  },
);

describe.runIf(havePrograms("Elasticsearch sink: TLS and basic auth", "victoria-logs", "openssl"))(
  "Elasticsearch sink: TLS and basic auth against VictoriaLogs' bulk API (real server)",
  () => {
    it("custom CA + credentials from env and file work; a wrong CA fails clearly; a wrong password is dead-lettered with 401", async () => {
      const dir = tempDir("es-tls");
      const tls = makeTlsFixtures(path.join(dir, "tls"));
      const vl = await VictoriaLogs.start(dir, { tls, flags: ["-httpAuth.username=shipper", "-httpAuth.password=s3cret"] });
      const agents: AgentProcess[] = [];
      try {
        const pod = podLog(dir, "prod", "tls-1", "0b6c1d2e-0000-4000-8000-00000000000c", "app");
        const lines = knownLines("es-tls", 50);
        appendCri(pod.file, lines);
        fs.writeFileSync(path.join(dir, "password"), "s3cret\n");
        const es = (caFile: string, password: string) => ({
          type: "elasticsearch",
          elasticsearch: {
            url: `${vl.tlsBase}/insert/elasticsearch`,
            headers: { "VL-Msg-Field": "message", "VL-Time-Field": "@timestamp" },
            auth: { username: "env:ES_USER", password },
            tls: { caFile },
          },
        });
        const bad = await startAgent(dir, es(tls.wrongCa, `file:${path.join(dir, "password")}`), {}, { ES_USER: "shipper" });
        agents.push(bad);
        await waitUntil("a TLS failure", () => bad.logsMatching(/sink delivery failed/).length > 0, 30_000);
        const warn = bad.logsMatching(/sink delivery failed/)[0];
        expect(warn.reason).toBe("tls");
        expect(String(warn.detail)).toMatch(/TLS handshake with 127\.0\.0\.1:\d+ failed: .*checked against logs CA file .*wrong-ca\.pem/);
        await stopAgent(bad);

        const good = await startAgent(dir, es(tls.ca, `file:${path.join(dir, "password")}`), {}, { ES_USER: "shipper" });
        agents.push(good);
        const rows = await (async () => {
          const auth = { Authorization: `Basic ${Buffer.from("shipper:s3cret").toString("base64")}` };
          let got: Array<{ _msg: string }> = [];
          await waitUntil(
            "50 rows",
            async () => {
              const res = await fetch(`${vl.base}/select/logsql/query?${new URLSearchParams({ query: "* | sort by (_time)" })}`, {
                headers: auth,
              });
              got = (await res.text())
                .trim()
                .split("\n")
                .filter(Boolean)
                .map((l) => JSON.parse(l) as { _msg: string });
              return got.length >= 50;
            },
            60_000,
          );
          return got;
        })();
        expect(rows.map((r) => r._msg)).toEqual(lines.map((l) => l.message));
        await stopAgent(good);

        appendCri(pod.file, knownLines("es-badpw", 5));
        const wrongPw = await startAgent(dir, es(tls.ca, "nope"), {}, { ES_USER: "shipper" });
        agents.push(wrongPw);
        await waitUntil("5 dead letters", () => readDeadLetters(dir).length === 5, 30_000);
        expect(readDeadLetters(dir)[0].deadLetter).toMatchObject({ sink: "elasticsearch", reason: "status_401", status: 401 });
      } finally {
        for (const a of agents) await stopAgent(a);
        await vl.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 180_000);
  },
);
