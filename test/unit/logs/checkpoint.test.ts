import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CHECKPOINT_FILE, CheckpointStore } from "../../../agent/logs/checkpoint.js";
import { counterValue, newMetrics, silentLogger } from "./helpers.js";

describe("CheckpointStore", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-cp-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const entry = { dev: "1", ino: "2", fingerprintBytes: 256, fingerprint: "abc", path: "/var/log/x.log", source: "files", offset: 42 };

  it("is a first start without a file, and round-trips files, cursors and known sources", async () => {
    const { metrics } = newMetrics();
    const a = await CheckpointStore.open(dir, silentLogger, metrics);
    expect(a.firstStart).toBe(true);
    a.setFile(entry);
    a.setCursor("journald", "s=1;i=2");
    a.markSourceKnown("pods");
    await a.flush();
    expect(fs.readdirSync(dir)).toEqual([CHECKPOINT_FILE]);
    const b = await CheckpointStore.open(dir, silentLogger, metrics);
    expect(b.firstStart).toBe(false);
    expect(b.file("1", "2")).toEqual(entry);
    expect(b.cursor("journald")).toBe("s=1;i=2");
    expect(b.sourceKnown("pods")).toBe(true);
    expect(b.sourceKnown("host")).toBe(false);
  });

  it("remembers the last few files of each stream read to their end, across restarts", async () => {
    const { metrics } = newMetrics();
    const a = await CheckpointStore.open(dir, silentLogger, metrics);
    for (let i = 0; i < 6; i++) a.noteFinished({ stream: "/var/log/a.log", fingerprintBytes: 256, fingerprint: `a${i}` });
    a.noteFinished({ stream: "/var/log/b.log", fingerprintBytes: 256, fingerprint: "b0" });
    a.noteFinished({ stream: "/var/log/b.log", fingerprintBytes: 0, fingerprint: "empty" });
    await a.flush();
    const doc = JSON.parse(fs.readFileSync(path.join(dir, CHECKPOINT_FILE), "utf8")) as { finished: unknown[] };
    doc.finished.push({ stream: 1 }, null);
    fs.writeFileSync(path.join(dir, CHECKPOINT_FILE), JSON.stringify(doc));
    const b = await CheckpointStore.open(dir, silentLogger, metrics);
    expect(b.recovered).toBe(false);
    expect(b.finishedOf("/var/log/a.log").map((f) => f.fingerprint)).toEqual(["a2", "a3", "a4", "a5"]);
    expect(b.finishedOf("/var/log/b.log").map((f) => f.fingerprint)).toEqual(["b0"]);
  });

  it("keeps checkpoints still being recovered next to a new generation of the same inode, until they are done", async () => {
    const { metrics } = newMetrics();
    const a = await CheckpointStore.open(dir, silentLogger, metrics);
    a.setFile({ ...entry, fingerprint: "new generation", offset: 0 });
    a.setRecovering([entry]);
    await a.flush();
    const b = await CheckpointStore.open(dir, silentLogger, metrics);
    expect(b.file("1", "2")?.fingerprint).toBe("new generation");
    expect(b.recoveringFiles()).toEqual([entry]);
    b.setRecovering([]);
    await b.flush();
    expect(JSON.parse(fs.readFileSync(path.join(dir, CHECKPOINT_FILE), "utf8"))).not.toHaveProperty("recovering");
    expect((await CheckpointStore.open(dir, silentLogger, metrics)).recoveringFiles()).toEqual([]);
  });

  it("treats a bad recovering entry like a bad file entry: the file is unusable", async () => {
    const { metrics } = newMetrics();
    const a = await CheckpointStore.open(dir, silentLogger, metrics);
    a.setFile(entry);
    await a.flush();
    const doc = JSON.parse(fs.readFileSync(path.join(dir, CHECKPOINT_FILE), "utf8")) as Record<string, unknown>;
    fs.writeFileSync(path.join(dir, CHECKPOINT_FILE), JSON.stringify({ ...doc, recovering: [{ ...entry, offset: -1 }] }));
    const b = await CheckpointStore.open(dir, silentLogger, metrics);
    expect(b.recovered).toBe(true);
    expect(b.recoveringFiles()).toEqual([]);
    expect(b.fileCount).toBe(0);
  });

  it("writes only when something changed, unless forced", async () => {
    const { registry, metrics } = newMetrics();
    const s = await CheckpointStore.open(dir, silentLogger, metrics);
    s.setFile(entry);
    await s.flush();
    await s.flush();
    expect(await counterValue(registry, "nodetap_log_checkpoint_writes_total")).toBe(1);
    await s.flush(true);
    expect(await counterValue(registry, "nodetap_log_checkpoint_writes_total")).toBe(2);
  });

  it("keeps a corrupt file aside, counts it, and is not a first start", async () => {
    fs.writeFileSync(path.join(dir, CHECKPOINT_FILE), '{"version":1,"files":[{"dev":1}]}');
    const { registry, metrics } = newMetrics();
    const s = await CheckpointStore.open(dir, silentLogger, metrics);
    expect(s.firstStart).toBe(false);
    expect(s.fileCount).toBe(0);
    expect(fs.readdirSync(dir).some((f) => f.startsWith(`${CHECKPOINT_FILE}.corrupt-`))).toBe(true);
    expect(await counterValue(registry, "nodetap_log_checkpoint_errors_total", { op: "load" })).toBe(1);
  });

  it.each([
    ["unparsable", '{"version":1,"fi'],
    ["an unknown version", JSON.stringify({ version: 2, sources: ["host"], files: [], cursors: {} })],
    ["a bad entry after known sources", JSON.stringify({ version: 1, sources: ["pods"], files: [{ dev: 1 }], cursors: {} })],
  ])("recovers from %s: every source is known (reads from the beginning), warning names the file", async (_name, text) => {
    const file = path.join(dir, CHECKPOINT_FILE);
    fs.writeFileSync(file, text);
    const { metrics } = newMetrics();
    const warnings: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line) as Record<string, unknown>) });
    const s = await CheckpointStore.open(dir, logger, metrics);
    expect(s.recovered).toBe(true);
    expect(s.firstStart).toBe(false);
    // Sources that were never recorded (or whose record is lost) must not start at the end.
    expect(s.sourceKnown("host")).toBe(true);
    expect(s.sourceKnown("journald")).toBe(true);
    expect(s.sourceKnown("pods")).toBe(true);
    expect(s.fileCount).toBe(0);
    const kept = fs.readdirSync(dir).filter((f) => f.startsWith(`${CHECKPOINT_FILE}.corrupt-`));
    expect(kept).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, kept[0]!), "utf8")).toBe(text);
    const warning = warnings.find((w) => w.level === 40 && w.file === file);
    expect(warning?.reason).toEqual(expect.any(String));
    expect(warning?.kept).toBe(path.join(dir, kept[0]!));
  });

  it("a healthy file is not a recovery: unknown sources stay unknown", async () => {
    const { metrics } = newMetrics();
    const a = await CheckpointStore.open(dir, silentLogger, metrics);
    a.markSourceKnown("pods");
    await a.flush();
    const b = await CheckpointStore.open(dir, silentLogger, metrics);
    expect(b.recovered).toBe(false);
    expect(b.sourceKnown("host")).toBe(false);
  });

  it("a failed write is counted and retried on the next flush", async () => {
    const { registry, metrics } = newMetrics();
    const s = await CheckpointStore.open(dir, silentLogger, metrics);
    s.setFile(entry);
    fs.rmSync(dir, { recursive: true });
    await s.flush();
    expect(await counterValue(registry, "nodetap_log_checkpoint_errors_total", { op: "write" })).toBe(1);
    fs.mkdirSync(dir);
    await s.flush();
    expect(JSON.parse(fs.readFileSync(path.join(dir, CHECKPOINT_FILE), "utf8")).files).toEqual([entry]);
  });
});
