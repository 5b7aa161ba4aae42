// The README's "ship log files" example, run as written: its YAML (glob and URL pointed at a
// temporary directory and a local receiver, nothing else changed) with the real agent, once as
// the HTTP sink it shows and once as the Loki variant its comment describes. A record must arrive.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import zlib from "node:zlib";
import snappy from "snappyjs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDocsAgent, type DocsAgent } from "../../../scripts/gen-docs.js";
import { buildStartBundle, removeTempDirs, tempDir } from "../../helpers/agent-process.js";
import { localizedExample, lokiVariant, shipExample } from "../../helpers/readme.js";

interface Received {
  method: string;
  url: string;
  contentType: string;
  body: Buffer;
}

/** A receiver that keeps every request (gzip bodies unpacked) and answers 204. */
async function receiver(): Promise<{ url: string; requests: Received[]; close(): Promise<void> }> {
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = zlib.gunzipSync(body);
      requests.push({ method: req.method ?? "", url: req.url ?? "", contentType: String(req.headers["content-type"]), body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function waitFor<T>(what: string, check: () => T | undefined, agent: DocsAgent, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms\n${agent.process.describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
afterAll(removeTempDirs);
beforeAll(buildStartBundle);

/** Writes the config and a log file with a unique line, starts the agent as the README's command does. */
async function run(configText: (dir: string) => string): Promise<{ line: string; agent: DocsAgent }> {
  const dir = tempDir("nodetap-readme-example-");
  const line = `shipped by the README example ${process.pid} ${Date.now()}`;
  fs.writeFileSync(path.join(dir, "app.log"), `${line}\n`);
  const config = path.join(dir, "ship.yaml");
  fs.writeFileSync(config, configText(dir));
  // The README runs `npm start -- --config ship.yaml`, i.e. `node dist/start/nodetap.cjs` after
  // its prestart bundle; here on a free port, without the metrics collectors, with checkpoints in
  // the temporary directory.
  const agent = await startDocsAgent(
    ["--config", config, "--collector.disable-defaults", `--logs.checkpoint.dir=${path.join(dir, "state")}`],
    {},
    "bundle",
  );
  cleanup.push(() => agent.stop());
  return { line, agent };
}

describe("the README's ship-a-log-file example", () => {
  it("delivers the file's lines to the HTTP endpoint as NDJSON", async () => {
    const { yaml } = shipExample();
    const rx = await receiver();
    cleanup.push(rx.close);
    const { line, agent } = await run((dir) => localizedExample(yaml, dir, rx.url));
    const request = await waitFor("POST with the line", () => rx.requests.find((r) => r.body.toString("utf8").includes(line)), agent);
    expect(request.method).toBe("POST");
    expect(request.url).toBe("/ingest");
    const records = request.body
      .toString("utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { message: string; source: string; file: string });
    const record = records.find((r) => r.message === line);
    expect(record?.source).toBe("files");
    expect(record?.file).toMatch(/app\.log$/);
  });

  it("delivers them to Loki's push API with the variant the comment gives", async () => {
    const { yaml } = shipExample();
    const rx = await receiver();
    cleanup.push(rx.close);
    const { line, agent } = await run((dir) => lokiVariant(localizedExample(yaml, dir, rx.url), rx.url));
    const push = await waitFor("Loki push", () => rx.requests.find((r) => r.url === "/loki/api/v1/push"), agent);
    expect(push.method).toBe("POST");
    expect(push.contentType).toBe("application/x-protobuf");
    expect(Buffer.from(snappy.uncompress(push.body)).toString("utf8")).toContain(line);
  });
});
