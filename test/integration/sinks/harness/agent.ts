import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AgentProcess, metricValue, writeAgentConfig } from "../../logs/harness/agent-process.js";

export { AgentProcess, metricValue };

/** A temp dir removed by the returned cleanup. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `nodetap-${prefix}-`));
}

/**
 * Starts the real agent (node --import tsx agent/main.ts) tailing <dir>/pods/** with `sink`
 * merged into logs.sink, checkpoints and dead letters under <dir>/state.
 */
export async function startAgent(
  dir: string,
  sink: Record<string, unknown>,
  logs: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = {},
): Promise<AgentProcess> {
  const cfg = path.join(dir, `nodetap-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.yaml`);
  writeAgentConfig(cfg, {
    checkpoint: { dir: path.join(dir, "state") },
    sources: { pods: { enabled: true, include: [`${dir}/pods/*/*/*.log`] } },
    ...logs,
    sink: { deadLetter: { path: path.join(dir, "dead-letter.ndjson") }, ...sink },
  });
  const agent = new AgentProcess(cfg, { env });
  await agent.whenStarted();
  return agent;
}

export interface DeadLetterLine {
  deadLetter: { sink: string; reason: string; status?: number; detail?: string };
  record: { message: string; time: string };
}

export function readDeadLetters(dir: string): DeadLetterLine[] {
  const file = path.join(dir, "dead-letter.ndjson");
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as DeadLetterLine);
}

export async function stopAgent(agent: AgentProcess | undefined): Promise<void> {
  if (!agent) return;
  agent.kill("SIGTERM");
  const timer = setTimeout(() => agent.kill("SIGKILL"), 15_000);
  await agent.exited;
  clearTimeout(timer);
}
