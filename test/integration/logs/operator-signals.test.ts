// What an operator sees of the log pipeline: how many files are tailed, a glob that matches
// nothing, how much is not yet acknowledged (/status), when delivery resumes, and which host the
// records come from outside a cluster. The real agent process against a real HTTP receiver.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AgentProcess, metricValue, waitFor, writeAgentConfig } from "./harness/agent-process.js";
import { LogReceiver, type ReceivedRecord } from "./harness/receiver.js";

describe("operator signals of the log pipeline (real agent process)", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  it("logs the files per source and empty globs, shows delivery lag in /status, logs when delivery resumes, names the host", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-signals-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, "a.log"), "one\ntwo\n");
    fs.writeFileSync(path.join(dir, "b.log"), "three\n");
    const records: ReceivedRecord[] = [];
    const receiver = new LogReceiver((r) => records.push(r));
    await receiver.listen();
    cleanup.push(() => receiver.close());
    await receiver.refuse();
    const cfg = path.join(dir, "nodetap.yaml");
    const missing = path.join(dir, "nothing-here", "*.log");
    writeAgentConfig(cfg, {
      checkpoint: { dir: path.join(dir, "state") },
      sources: { files: { include: [path.join(dir, "*.log"), missing] } },
      sink: { type: "http", http: { url: receiver.url } },
    });
    const agent = new AgentProcess(cfg, { env: { NODE_NAME: "" } });
    cleanup.push(async () => {
      agent.kill("SIGKILL");
      await agent.exited;
    });
    await agent.whenStarted();

    const tailing = agent.logsMatching(/^tailing log files$/);
    expect(tailing).toHaveLength(1);
    expect(tailing[0].files).toMatchObject({ files: 2 });
    const empty = agent.logsMatching(/include glob matches no file/);
    expect(empty.map((l) => l.glob)).toEqual([missing]);

    // The sink refuses: everything read is unacknowledged.
    await waitFor("delivery lag in /status", async () => Number((await agent.status()).logs.deliveryLagBytes) === 14, 10_000);
    await waitFor("a failed attempt", async () => metricValue(await agent.metrics(), "nodetap_log_send_errors_total") > 0, 10_000);
    await receiver.reopen();
    await waitFor("3 records", () => records.length >= 3, 20_000);
    await waitFor("lag 0", async () => Number((await agent.status()).logs.deliveryLagBytes) === 0, 10_000);
    expect(agent.logsMatching(/^log delivery resumed$/)).toHaveLength(1);
    expect(new Set(records.map((r) => r.node))).toEqual(new Set([os.hostname()]));
  });
});
