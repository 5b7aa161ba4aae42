import path from "node:path";
import type { Registry } from "prom-client";
import { defaultsOf } from "../../../agent/config/schema.js";
import { CheckpointStore } from "../../../agent/logs/checkpoint.js";
import { logsSchema, type LogsConfig } from "../../../agent/logs/config.js";
import { InFlightBudget } from "../../../agent/logs/in-flight-budget.js";
import { fileSourceSpecs, tailSettingsFrom } from "../../../agent/logs/sources/file-source-spec.js";
import { FileTailManager } from "../../../agent/logs/sources/file-tail-manager.js";
import { newMetrics, silentLogger } from "./helpers.js";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms; throws after `ms`. */
export async function waitUntil(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await sleep(20);
  }
}

/** The files source over `logDir/*.log` alone, scanned and polled every 50 ms. */
export function filesOnlyConfig(logDir: string): LogsConfig {
  const c = defaultsOf(logsSchema);
  c.sources.pods.enabled = false;
  c.sources.host.enabled = false;
  c.sources.files.include = [`${path.resolve(logDir)}/*.log`];
  c.tail.scanInterval = 0.05;
  c.tail.pollInterval = 0.05;
  return c;
}

export interface RunningManager {
  manager: FileTailManager;
  /** Every record's message, in the order submitted; each is acknowledged at once. */
  records: string[];
  registry: Registry;
  budget: InFlightBudget;
  /** Stops the manager and writes its checkpoints, as a graceful shutdown does. */
  stop(): Promise<void>;
}

/** A FileTailManager over `cfg` with its checkpoints in `stateDir`, started. */
export async function startManager(cfg: LogsConfig, stateDir: string): Promise<RunningManager> {
  const { metrics, registry } = newMetrics();
  const checkpoints = await CheckpointStore.open(stateDir, silentLogger, metrics);
  const budget = new InFlightBudget(1 << 20, metrics);
  const records: string[] = [];
  const manager = new FileTailManager(fileSourceSpecs(cfg), tailSettingsFrom(cfg), {
    metrics,
    logger: silentLogger,
    checkpoints,
    budget,
    nodeName: "n",
    submit: (rs, ticket) => {
      records.push(...rs.map((r) => String(r.message)));
      ticket.ack(rs.length);
    },
  });
  await manager.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await manager.stop();
    await manager.closeAll();
    await checkpoints.flush(true);
  };
  return { manager, records, registry, budget, stop };
}
