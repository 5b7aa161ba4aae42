import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defaultsOf } from "../../../agent/config/schema.js";
import { CheckpointStore } from "../../../agent/logs/checkpoint.js";
import { logsSchema } from "../../../agent/logs/config.js";
import { InFlightBudget } from "../../../agent/logs/in-flight-budget.js";
import type { LogRecord } from "../../../agent/logs/record.js";
import { fileSourceSpecs, tailSettingsFrom } from "../../../agent/logs/sources/file-source-spec.js";
import { FileTailManager } from "../../../agent/logs/sources/file-tail-manager.js";
import type { ReadGate } from "../../../agent/logs/sources/read-order.js";
import { newMetrics, silentLogger } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a read gate that wakes the readers from inside blocked()", () => {
  let dir: string | undefined;
  let manager: FileTailManager | undefined;
  afterEach(async () => {
    await manager?.stop();
    await manager?.closeAll();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // Found with the Kubernetes enricher's start-up gate: its blocked() woke the readers, the
  // manager's kick() started a second pump while the first was still starting, and the two read
  // into the one shared buffer: lines of one file went out under another file's name.
  it("never runs two reads at once: every file's lines keep their own file", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-gate-"));
    const files = 12;
    for (let i = 0; i < files; i++) {
      const lines = Array.from({ length: 50 }, (_, n) => `file-${i} line-${n}`).join("\n") + "\n";
      fs.writeFileSync(path.join(dir, `f${i}.log`), lines);
    }
    const c = defaultsOf(logsSchema);
    c.sources.pods.enabled = false;
    c.sources.host.enabled = false;
    c.sources.files.include = [`${dir}/*.log`];
    c.tail.scanInterval = 0.05;
    c.tail.pollInterval = 0.05;
    const { metrics } = newMetrics();
    const checkpoints = await CheckpointStore.open(dir, silentLogger, metrics);
    const budget = new InFlightBudget(1 << 20, metrics);
    const listeners: Array<() => void> = [];
    let closedFor = 3; // the first few asks are "blocked", each waking the readers synchronously
    const gate: ReadGate = {
      blocked: () => {
        for (const l of listeners) l();
        return closedFor-- > 0;
      },
      onRoom: (l) => listeners.push(l),
    };
    const records: LogRecord[] = [];
    manager = new FileTailManager(fileSourceSpecs(c), tailSettingsFrom(c), {
      metrics,
      logger: silentLogger,
      checkpoints,
      budget,
      nodeName: "n",
      gate,
      submit: (rs, ticket) => {
        records.push(...rs);
        ticket.ack(rs.length);
      },
    });
    await manager.start();
    const end = Date.now() + 5000;
    while (records.length < files * 50 && Date.now() < end) await sleep(20);
    expect(records).toHaveLength(files * 50);
    const wrong = records.filter((r) => !r.message.startsWith(`${path.basename(r.origin.file!, ".log").replace("f", "file-")} `));
    expect(wrong).toEqual([]);
  });
});
