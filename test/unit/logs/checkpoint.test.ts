import fs from "node:fs";
import os from "node:os";
import path from "node:path";
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
