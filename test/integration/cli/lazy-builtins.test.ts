/**
 * The agent with its default config (metrics, pod and host logs, an HTTP sink) must not load
 * node:https, node:http2 or node:tls until a feature needs them: they cost every node ~9-13 MiB
 * of RSS (OpenSSL state, the TLS and HTTP/2 internals); nor node:crypto (2.3 MiB on Node 24).
 * A top-level `import https from "node:https"` in agent code loads them at start (the bundle's
 * lazy shims only cover the bundled packages); use process.getBuiltinModule where the feature
 * runs. (node:dns and node:dgram load anyway: Node's own net and child_process load them.) Runs
 * the bundle `npm start` runs.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT, buildStartBundle, startAgent } from "../../helpers/agent-process.js";
import { getText } from "../../helpers/http.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-builtins-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function recorded(args: string[], prefix: string, work: (url: string) => Promise<unknown>): Promise<string[]> {
  const record = path.join(dir, `builtins-${Math.random().toString(36).slice(2)}.txt`);
  const agent = await startAgent({
    runtime: "bundle",
    logs: true,
    args: [`--logs.checkpoint.dir=${dir}`, "--logs.sink.type=http", "--logs.sink.http.url=http://127.0.0.1:1/", ...args],
    env: {
      NODE_OPTIONS: `--require=${path.join(REPO_ROOT, "test/fixtures/runtime/record-builtins.cjs")}`,
      RECORD_BUILTINS_TO: record,
    },
  });
  await work(agent.url);
  await agent.stop();
  return fs
    .readFileSync(record, "utf8")
    .split("\n")
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}

const builtinsLoaded = (args: string[]) => recorded(args, "NativeModule ", (url) => getText(`${url}/metrics`));

describe("built-in modules loaded at start", () => {
  it("default config: no https, http2, tls or crypto", async () => {
    buildStartBundle();
    const loaded = await builtinsLoaded([]);
    expect(loaded).toContain("http");
    expect(loaded.filter((m) => ["https", "http2", "tls", "crypto"].includes(m))).toEqual([]);
  }, 90_000);

  it("an https:// sink loads them (the check above can fail)", async () => {
    const loaded = await builtinsLoaded(["--logs.sink.http.url=https://127.0.0.1:1/"]);
    expect(loaded).toContain("https");
    expect(loaded).toContain("tls");
    expect(loaded).toContain("crypto");
  }, 90_000);
});

/**
 * The host inventory (systeminformation: its code, and the helper processes it starts) is gathered
 * when /status is first asked for, not by every idle agent at start (agent/host/inventory.ts).
 */
describe("host inventory", () => {
  it("starts no process before /status is asked for, and gathers the inventory then", async () => {
    buildStartBundle();
    expect(await recorded([], "Spawn ", (url) => getText(`${url}/metrics`))).toEqual([]);
    let host: { gatheredAt?: string; memory?: { totalBytes: number } } = {};
    const spawned = await recorded([], "Spawn ", async (url) => {
      // The first /status waits up to 5 s for it; a slow machine gets "pending" and asks again.
      const deadline = Date.now() + 30_000;
      do host = (JSON.parse(await getText(`${url}/status`)) as { host: typeof host }).host;
      while (host.gatheredAt === undefined && Date.now() < deadline);
    });
    expect(host.gatheredAt).toBeDefined();
    expect(host.memory?.totalBytes).toBeGreaterThan(0);
    // systeminformation runs helpers (getconf, lscpu, ...) where it gathers: the check above can fail.
    expect(spawned.length).toBeGreaterThan(0);
  }, 90_000);
});
