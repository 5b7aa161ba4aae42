import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "./harness/agent-process.js";
import { inProcessPipeline, logsConfig } from "./harness/in-process.js";
import { LogReceiver } from "./harness/receiver.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("log pipeline shutdown deadline", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  it("bounds the journald stop by the deadline: a journalctl ignoring SIGTERM is killed", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-stop-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const pidFile = path.join(dir, "pid");
    const fake = path.join(dir, "journalctl");
    fs.writeFileSync(
      fake,
      `#!/usr/bin/env node
process.on("SIGTERM", () => {});
require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
setInterval(() => {}, 1000);
`,
    );
    fs.chmodSync(fake, 0o755);
    const receiver = new LogReceiver(() => undefined);
    await receiver.listen();
    cleanup.push(() => receiver.close());
    const { pipeline, logs } = inProcessPipeline(
      logsConfig((c) => {
        c.checkpoint.dir = path.join(dir, "state");
        c.sources.journald.enabled = true;
        c.sources.journald.journalctlPath = fake;
        c.sink.type = "http";
        c.sink.http.url = receiver.url;
      }),
    );
    await pipeline.start();
    await waitFor("fake journalctl running", () => fs.existsSync(pidFile) && fs.readFileSync(pidFile, "utf8") !== "", 10_000);
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    cleanup.push(() => {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    });
    const started = Date.now();
    await pipeline.stop(500);
    const took = Date.now() - started;
    expect(took).toBeLessThan(3000);
    expect(took).toBeGreaterThanOrEqual(400);
    await waitFor("journalctl gone", () => !alive(pid), 2000);
    expect(logs.some((l) => String(l.msg).includes("killing it"))).toBe(true);
    expect(logs.some((l) => l.msg === "log pipeline stopped")).toBe(true);
  });
});
