import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../../agent/config/errors.js";
import { loadConfig } from "../../../agent/config/load.js";
import { CHECKPOINT_FILE } from "../../../agent/logs/checkpoint.js";
import { createLogPipeline } from "../../../agent/logs/index.js";
import { StdoutTransport } from "../../../agent/logs/sinks/stdout/transport.js";
import { Registry } from "prom-client";
import pino from "pino";
import { waitFor } from "./harness/agent-process.js";
import { inProcessPipeline, logsConfig } from "./harness/in-process.js";
import { LogReceiver, type ReceivedRecord } from "./harness/receiver.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("log pipeline (in process, real files, real HTTP receiver)", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  function tmp(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-pipe-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  function checkpointOffsets(stateDir: string): Record<string, number> {
    const file = path.join(stateDir, CHECKPOINT_FILE);
    if (!fs.existsSync(file)) return {};
    const doc = JSON.parse(fs.readFileSync(file, "utf8")) as { files: Array<{ path: string; offset: number }> };
    return Object.fromEntries(doc.files.map((f) => [path.basename(f.path), f.offset]));
  }

  it("never moves a checkpoint before the sink acknowledged the lines, and moves it once it did", async () => {
    const dir = tmp();
    const got: ReceivedRecord[] = [];
    const receiver = new LogReceiver((r) => got.push(r));
    receiver.mode = { kind: "status", status: 503 };
    await receiver.listen();
    cleanup.push(() => receiver.close());
    const file = path.join(dir, "app.log");
    fs.writeFileSync(file, "one\ntwo\nthree\n");
    const state = path.join(dir, "state");
    const { pipeline } = inProcessPipeline(
      logsConfig((c) => {
        c.checkpoint.dir = state;
        c.sources.files.include = [`${dir}/*.log`];
        c.sink.type = "http";
        c.sink.http.url = receiver.url;
      }),
    );
    await pipeline.start();
    cleanup.push(() => pipeline.stop(1000));
    await waitFor("retries", () => receiver.requests >= 3, 10_000);
    await sleep(200);
    expect(checkpointOffsets(state)).toEqual({ "app.log": 0 });
    receiver.mode = { kind: "accept" };
    await waitFor("delivery", () => got.length === 3, 10_000);
    await waitFor("checkpoint at the end of the file", () => checkpointOffsets(state)["app.log"] === 14, 5_000);
    expect(got.map((r) => r.message)).toEqual(["one", "two", "three"]);
    expect(got[0]).toMatchObject({ source: "files", file, node: "node-a", stream: "" });
    const status = pipeline.status() as { files: Array<Record<string, unknown>>; sink: { type: string } };
    expect(status.files[0]).toMatchObject({ path: file, size: 14, readOffset: 14, committedOffset: 14, lagBytes: 0 });
    expect(status.sink.type).toBe("http");
  });

  it("resumes from the checkpoint after a restart, and reads files that appeared meanwhile from their start", async () => {
    const dir = tmp();
    const got: string[] = [];
    const receiver = new LogReceiver((r) => got.push(r.message));
    await receiver.listen();
    cleanup.push(() => receiver.close());
    const config = logsConfig((c) => {
      c.checkpoint.dir = path.join(dir, "state");
      c.sources.files.include = [`${dir}/*.log`];
      c.sink.type = "http";
      c.sink.http.url = receiver.url;
    });
    fs.writeFileSync(path.join(dir, "a.log"), "a1\na2\n");
    const first = inProcessPipeline(config).pipeline;
    await first.start();
    await waitFor("first run", () => got.length === 2, 10_000);
    await first.stop(5000);
    fs.appendFileSync(path.join(dir, "a.log"), "a3\n");
    fs.writeFileSync(path.join(dir, "b.log"), "b1\n");
    const second = inProcessPipeline(config).pipeline;
    await second.start();
    cleanup.push(() => second.stop(1000));
    await waitFor("second run", () => got.length === 4, 10_000);
    await sleep(300);
    expect(got.slice(0, 2)).toEqual(["a1", "a2"]);
    expect(got.slice(2).sort()).toEqual(["a3", "b1"]);
  });

  it("startAt=end skips what host files held at the first start, but not lines written later", async () => {
    const dir = tmp();
    const got: string[] = [];
    const receiver = new LogReceiver((r) => got.push(r.message));
    await receiver.listen();
    cleanup.push(() => receiver.close());
    const syslog = path.join(dir, "syslog");
    fs.writeFileSync(syslog, "old history\n");
    const { pipeline } = inProcessPipeline(
      logsConfig((c) => {
        c.checkpoint.dir = path.join(dir, "state");
        c.sources.host.enabled = true;
        c.sources.host.include = [syslog, path.join(dir, "messages")];
        c.sink.type = "http";
        c.sink.http.url = receiver.url;
      }),
    );
    await pipeline.start();
    cleanup.push(() => pipeline.stop(1000));
    fs.appendFileSync(syslog, "new line\n");
    fs.writeFileSync(path.join(dir, "messages"), "appeared after start\n");
    await waitFor("new lines", () => got.length === 2, 10_000);
    await sleep(300);
    expect(got.sort()).toEqual(["appeared after start", "new line"]);
  });

  it("file sink: NDJSON with size-based rotation, acknowledged after the write", async () => {
    const dir = tmp();
    const out = path.join(dir, "out", "records.ndjson");
    const input = path.join(dir, "in.log");
    fs.writeFileSync(input, Array.from({ length: 300 }, (_, i) => `line ${i} ${"x".repeat(50)}`).join("\n") + "\n");
    const { pipeline } = inProcessPipeline(
      logsConfig((c) => {
        c.checkpoint.dir = path.join(dir, "state");
        c.sources.files.include = [input];
        c.sink.type = "file";
        c.sink.file.path = out;
        c.sink.file.maxBytes = 8 * 1024;
        c.sink.file.maxFiles = 50;
        c.sink.batch.maxRecords = 20;
      }),
    );
    await pipeline.start();
    const read = () =>
      fs
        .readdirSync(path.dirname(out))
        .flatMap((f) =>
          fs
            .readFileSync(path.join(path.dirname(out), f), "utf8")
            .trim()
            .split("\n"),
        )
        .filter((l) => l !== "")
        .map((l) => (JSON.parse(l) as { message: string }).message);
    await waitFor("all records in the files", () => fs.existsSync(out) && read().length === 300, 10_000);
    await pipeline.stop(2000);
    const files = fs.readdirSync(path.dirname(out));
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) expect(fs.statSync(path.join(path.dirname(out), f)).size).toBeLessThanOrEqual(8 * 1024);
    expect(new Set(read()).size).toBe(300);
  });

  it("stdout transport acknowledges once the write completed", async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on("data", (c: Buffer) => chunks.push(c));
    const t = new StdoutTransport(sink);
    expect(await t.deliver(Buffer.from('{"message":"x"}\n'))).toEqual({ kind: "ok" });
    expect(Buffer.concat(chunks).toString()).toBe('{"message":"x"}\n');
  });

  it("journald: follows journalctl -o json, checkpoints the cursor, resumes after it", async () => {
    const dir = tmp();
    // A stand-in journalctl: prints entries after --after-cursor, then follows (sleeps).
    const fake = path.join(dir, "journalctl");
    fs.writeFileSync(
      fake,
      `#!/usr/bin/env node
const args = process.argv.slice(2);
const after = (args.find((a) => a.startsWith("--after-cursor=")) || "").slice(15);
require("fs").appendFileSync(${JSON.stringify(path.join(dir, "args.txt"))}, args.join(" ") + "\\n");
const total = Number(require("fs").readFileSync(${JSON.stringify(path.join(dir, "count"))}, "utf8"));
let start = after ? Number(after.split("=").pop()) + 1 : 1;
for (let i = start; i <= total; i++) console.log(JSON.stringify({ __CURSOR: "s=x;i=" + i, __REALTIME_TIMESTAMP: String(1714557600000000 + i), MESSAGE: "entry " + i, _SYSTEMD_UNIT: "kubelet.service", PRIORITY: "6" }));
setInterval(() => {}, 1000);
`,
    );
    fs.chmodSync(fake, 0o755);
    fs.writeFileSync(path.join(dir, "count"), "3");
    const got: ReceivedRecord[] = [];
    const receiver = new LogReceiver((r) => got.push(r));
    await receiver.listen();
    cleanup.push(() => receiver.close());
    const config = logsConfig((c) => {
      c.checkpoint.dir = path.join(dir, "state");
      c.sources.journald.enabled = true;
      c.sources.journald.journalctlPath = fake;
      c.sources.journald.startAt = "beginning";
      c.sink.type = "http";
      c.sink.http.url = receiver.url;
    });
    const first = inProcessPipeline(config).pipeline;
    await first.start();
    await waitFor("3 entries", () => got.length === 3, 10_000);
    await first.stop(5000);
    expect(got[0]).toMatchObject({
      message: "entry 1",
      source: "journald",
      time: "2024-05-01T10:00:00.000001000Z",
      attributes: { unit: "kubelet.service", priority: "6" },
    });
    const cp = JSON.parse(fs.readFileSync(path.join(dir, "state", CHECKPOINT_FILE), "utf8")) as { cursors: Record<string, string> };
    expect(cp.cursors.journald).toBe("s=x;i=3");
    fs.writeFileSync(path.join(dir, "count"), "5");
    const second = inProcessPipeline(config).pipeline;
    await second.start();
    cleanup.push(() => second.stop(1000));
    await waitFor("2 more entries", () => got.length === 5, 10_000);
    expect(got.map((r) => r.message)).toEqual(["entry 1", "entry 2", "entry 3", "entry 4", "entry 5"]);
    expect(fs.readFileSync(path.join(dir, "args.txt"), "utf8")).toContain("--after-cursor=s=x;i=3");
  });

  it("a missing journalctl is an error log and a counter, not a crash", async () => {
    const dir = tmp();
    const { pipeline, registry, logs } = inProcessPipeline(
      logsConfig((c) => {
        c.checkpoint.dir = path.join(dir, "state");
        c.sources.journald.enabled = true;
        c.sources.journald.journalctlPath = path.join(dir, "no-such-journalctl");
      }),
    );
    await pipeline.start();
    cleanup.push(() => pipeline.stop(1000));
    await waitFor("error logged", () => logs.some((l) => String(l.msg).includes("journalctl not found")), 5000);
    const metric = await registry.getSingleMetric("nodetap_log_source_errors_total")?.get();
    expect(metric?.values.find((v) => v.labels.reason === "missing")?.value).toBeGreaterThanOrEqual(1);
    expect(pipeline.ready()).toBe(true);
  });
});

describe("log pipeline configuration", () => {
  it("maps env variables and flags onto logs.* keys", () => {
    const loaded = loadConfig(["--logs.sink.type=http", "--logs.sources.files.include=/a/*.log", "--logs.sources.files.include=/b/*.log"], {
      NODETAP_LOGS_SINK_HTTP_URL: "http://collector:8080/in",
      NODETAP_LOGS_SOURCES_PODS_START_AT: "end",
      NODETAP_LOGS_MAX_IN_FLIGHT_BYTES: "1048576",
    });
    expect(loaded.config.logs.sink.type).toBe("http");
    expect(loaded.config.logs.sink.http.url).toBe("http://collector:8080/in");
    expect(loaded.config.logs.sources.files.include).toEqual(["/a/*.log", "/b/*.log"]);
    expect(loaded.config.logs.sources.pods.startAt).toBe("end");
    expect(loaded.config.logs.maxInFlightBytes).toBe(1048576);
  });

  it("rejects impossible settings with a ConfigError naming the key", async () => {
    const make = (patch: Parameters<typeof logsConfig>[0]) => () =>
      createLogPipeline({ config: logsConfig(patch), registry: new Registry(), logger: pino({ level: "silent" }) });
    expect(make((c) => (c.sink.type = "http"))).toThrow(ConfigError);
    expect(make((c) => (c.sink.type = "http"))).toThrow(/logs\.sink\.http\.url/);
    expect(make((c) => (c.sink.type = "file"))).toThrow(/logs\.sink\.file\.path/);
    expect(make((c) => (c.sources.files.include = ["relative/*.log"]))).toThrow(/logs\.sources\.files\.include/);
    expect(
      make((c) => {
        c.sources.pods.multiline.preset = "java";
        c.sources.pods.multiline.startPattern = "^x";
      }),
    ).toThrow(/logs\.sources\.pods\.multiline\.startPattern/);
    expect(() => loadConfig([], { NODETAP_LOGS_SINK_TYPE: "kafka" })).toThrow(/logs\.sink\.type/);
    const p = createLogPipeline({
      config: logsConfig((c) => (c.checkpoint.dir = "/proc/nodetap-cannot-write-here")),
      registry: new Registry(),
      logger: pino({ level: "silent" }),
    });
    await expect(p.start()).rejects.toThrow(/logs\.checkpoint\.dir/);
  });
});
