import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultsOf } from "../../../agent/config/schema.js";
import { CheckpointStore } from "../../../agent/logs/checkpoint.js";
import { logsSchema } from "../../../agent/logs/config.js";
import { InFlightBudget } from "../../../agent/logs/in-flight-budget.js";
import { fileSourceSpecs, tailSettingsFrom } from "../../../agent/logs/sources/file-source-spec.js";
import { FileTailManager } from "../../../agent/logs/sources/file-tail-manager.js";
import { newMetrics, silentLogger } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Globs that name rotated files too (the pods preset's `*.log.*`): a rotated file found by the
 * scan is read in its active file's stream (one delivery lane, oldest data first), also when the
 * active file is missing at that moment: between the kubelet's rename of 0.log and the runtime's
 * reopen. In a lane of its own its lines went out beside the older rotated files' (crash matrix,
 * kubelet × drain: 3-6 % of the lines late in 3 of 17 runs).
 */
describe("a rotated name found while its active file is missing", () => {
  let dir: string;
  let manager: FileTailManager | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-rotname-"));
    fs.mkdirSync(path.join(dir, "logs"));
  });
  afterEach(async () => {
    await manager?.stop();
    await manager?.closeAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("is read in the active file's lane, and the active file after it", async () => {
    const logDir = path.join(dir, "logs");
    fs.writeFileSync(path.join(logDir, "0.log.20240101-000001"), "r1\nr2\n");
    const cfg = defaultsOf(logsSchema);
    cfg.sources.pods.enabled = false;
    cfg.sources.host.enabled = false;
    cfg.sources.files.include = [`${logDir}/*.log`, `${logDir}/*.log.*`];
    cfg.tail.scanInterval = 0.05;
    cfg.tail.pollInterval = 0.05;
    const { metrics } = newMetrics();
    const lanes: Array<[string, string]> = [];
    manager = new FileTailManager(fileSourceSpecs(cfg), tailSettingsFrom(cfg), {
      metrics,
      logger: silentLogger,
      checkpoints: await CheckpointStore.open(path.join(dir, "state"), silentLogger, metrics),
      budget: new InFlightBudget(1 << 20, metrics),
      nodeName: "n",
      submit: (rs, ticket, lane) => {
        for (const r of rs) lanes.push([r.message, path.basename(lane)]);
        ticket.ack(rs.length);
      },
    });
    await manager.start();
    await sleep(300);
    fs.writeFileSync(path.join(logDir, "0.log"), "a1\n");
    await sleep(400);
    expect(lanes).toEqual([
      ["r1", "0.log"],
      ["r2", "0.log"],
      ["a1", "0.log"],
    ]);
  });
});
