import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { ConfigError } from "../config/errors.js";
import { logsSchema } from "./config.js";
import { ensureDir } from "./ensure-dir.js";

/** Where `npm start` on a laptop keeps checkpoints when /var/lib/nodetap is not writable. */
export const LOCAL_STATE_DIR = ".nodetap-state";

/**
 * Makes sure the checkpoint directory exists and is writable. In a cluster an unwritable
 * directory is a deployment error (checkpoints are what at-least-once rests on), so it stops
 * the start with a clear message. Outside a cluster, when the directory is the default one, the
 * pipeline falls back to ./.nodetap-state so a developer's `npm start` works without root.
 */
export async function resolveStateDir(configured: string, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const problem = await probeWritable(configured);
  if (problem === undefined) return configured;
  const isDefault = configured === logsSchema.checkpoint.dir.default;
  const inCluster = (env.KUBERNETES_SERVICE_HOST ?? "") !== "";
  if (isDefault && !inCluster) {
    const fallback = path.resolve(LOCAL_STATE_DIR);
    const fallbackProblem = await probeWritable(fallback);
    if (fallbackProblem === undefined) {
      logger.warn({ dir: configured, problem, fallback }, "checkpoint directory not writable outside a cluster; using the local fallback");
      return fallback;
    }
  }
  throw new ConfigError(
    "logs.checkpoint.dir",
    `${configured} is not a writable directory (${problem}); mount a writable directory there (hostPath in the chart) or set logs.checkpoint.dir`,
  );
}

async function probeWritable(dir: string): Promise<string | undefined> {
  try {
    await ensureDir(dir);
    const probe = path.join(dir, `.probe-${process.pid}`);
    await fs.writeFile(probe, "");
    await fs.unlink(probe);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}
