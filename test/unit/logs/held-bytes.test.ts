import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultsOf } from "../../../agent/config/schema.js";
import { logsSchema } from "../../../agent/logs/config.js";
import { CheckpointStore } from "../../../agent/logs/checkpoint.js";
import { InFlightBudget } from "../../../agent/logs/in-flight-budget.js";
import { CriDecoder } from "../../../agent/logs/parsers/cri.js";
import type { LogRecord } from "../../../agent/logs/record.js";
import { fileSourceSpecs, tailSettingsFrom } from "../../../agent/logs/sources/file-source-spec.js";
import { FileTailManager } from "../../../agent/logs/sources/file-tail-manager.js";
import { decoderContext, newMetrics, silentLogger } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await sleep(20);
  }
}

describe("InFlightBudget held bytes", () => {
  it("counts held bytes against the limit, but never pauses reading when nothing is in flight", () => {
    const { metrics } = newMetrics();
    const b = new InFlightBudget(100, metrics);
    b.addHeld(150);
    expect(b.bytes).toBe(150);
    expect(b.exhausted).toBe(false); // nothing in flight would ever release it: keep reading
    b.add(10);
    expect(b.exhausted).toBe(true);
    b.release(10);
    expect(b.exhausted).toBe(false);
    b.releaseHeld(100);
    b.add(60);
    expect(b.exhausted).toBe(true);
    b.releaseHeld(50);
    expect(b.bytes).toBe(60);
    expect(b.exhausted).toBe(false);
  });
});

describe("CriDecoder held pieces", () => {
  it("reports held bytes and emits held P pieces marked partial", () => {
    const { metrics } = newMetrics();
    const d = new CriDecoder(decoderContext(metrics));
    const out: Array<{ record: LogRecord; start: number }> = [];
    d.decode(Buffer.from("2024-05-01T10:00:00.000000000Z stdout P hello "), 0, false, () => undefined);
    expect(d.heldBytes()).toBe(6);
    expect(d.flushHeldPieces((record, start) => out.push({ record, start }))).toBe(1);
    expect(d.heldBytes()).toBe(0);
    expect(d.pendingStart()).toBe(Infinity);
    expect(out[0]?.record.message).toBe("hello ");
    expect(out[0]?.record.attributes).toEqual({ partial: "true" });
  });
});

describe("FileTailer partial pieces of a container killed mid-line", () => {
  let dir: string;
  let manager: FileTailManager | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-held-"));
  });
  afterEach(async () => {
    await manager?.stop();
    await manager?.closeAll();
    manager = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it.each(["cri", "auto"] as const)(
    "%s: counts the held P piece in the budget, flushes it after partialLineFlushAfter and frees the checkpoint",
    async (format) => {
      const file = path.join(dir, "0.log");
      const full = "2024-05-01T10:00:00.000000000Z stdout F done\n";
      const piece = `2024-05-01T10:00:01.000000000Z stdout P ${"x".repeat(1000)}\n`;
      fs.writeFileSync(file, full + piece);
      const c = defaultsOf(logsSchema);
      c.sources.pods.enabled = false;
      c.sources.host.enabled = false;
      c.sources.files.include = [`${dir}/*.log`];
      c.sources.files.format = format;
      c.tail.scanInterval = 0.05;
      c.tail.pollInterval = 0.05;
      c.tail.partialLineFlushAfter = 0.6;
      const { metrics } = newMetrics();
      const checkpoints = await CheckpointStore.open(dir, silentLogger, metrics);
      const budget = new InFlightBudget(1 << 20, metrics);
      const records: LogRecord[] = [];
      manager = new FileTailManager(fileSourceSpecs(c), tailSettingsFrom(c), {
        metrics,
        logger: silentLogger,
        checkpoints,
        budget,
        nodeName: "n",
        submit: (rs, ticket) => {
          records.push(...rs);
          ticket.ack(rs.length); // acknowledged at once: the budget then holds only what the tailer holds
        },
      });
      const started = Date.now();
      await manager.start();
      await waitFor(() => records.length === 1);
      expect(budget.heldBytes).toBe(1000);
      const cp = () => [...checkpoints.allFiles()][0]?.offset;
      expect(cp()).toBe(full.length); // pinned before the held piece
      await waitFor(() => records.length === 2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      expect(records[1]?.message).toBe("x".repeat(1000));
      expect(records[1]?.attributes).toEqual({ partial: "true" });
      expect(budget.heldBytes).toBe(0);
      expect(budget.bytes).toBe(0);
      await waitFor(() => cp() === full.length + piece.length);
    },
  );
});
