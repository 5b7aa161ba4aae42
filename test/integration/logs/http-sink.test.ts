import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Registry } from "prom-client";
import { makeTlsFixtures } from "../sinks/harness/servers.js";
import { waitFor } from "./harness/agent-process.js";
import { inProcessPipeline, logsConfig } from "./harness/in-process.js";
import { LogReceiver, type ReceiverTls } from "./harness/receiver.js";
import type { LogsConfig } from "../../../agent/logs/config.js";

async function errorsByReason(registry: Registry, reason: string): Promise<number> {
  const m = await registry.getSingleMetric("nodetap_log_send_errors_total")?.get();
  return m?.values.filter((v) => v.labels.reason === reason).reduce((s, v) => s + v.value, 0) ?? 0;
}

describe("http sink: TLS, secret headers, timeouts (in process, real HTTPS receiver)", () => {
  let cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup = [];
  });

  let tlsDir: string;
  let tls: ReturnType<typeof makeTlsFixtures> & { clientCert: string; clientKey: string };

  function material() {
    if (tls) return tls;
    tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-tls-"));
    const base = makeTlsFixtures(tlsDir);
    const run = (...args: string[]) => execFileSync("openssl", args, { cwd: tlsDir, stdio: ["ignore", "ignore", "pipe"] });
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=nodetap-client", "-keyout", "client.key", "-out", "client.csr");
    fs.writeFileSync(path.join(tlsDir, "client.ext"), "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
    run(
      "x509",
      "-req",
      "-in",
      "client.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      "client.ext",
      "-out",
      "client.pem",
    );
    tls = { ...base, clientCert: path.join(tlsDir, "client.pem"), clientKey: path.join(tlsDir, "client.key") };
    return tls;
  }

  async function run(receiverTls: ReceiverTls | undefined, patch: (c: LogsConfig) => void) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-https-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const got: string[] = [];
    const receiver = new LogReceiver((r) => got.push(r.message), receiverTls);
    await receiver.listen();
    cleanup.push(() => receiver.close());
    fs.writeFileSync(path.join(dir, "app.log"), "hello over the wire\n");
    const p = inProcessPipeline(
      logsConfig((c) => {
        c.checkpoint.dir = path.join(dir, "state");
        c.sources.files.include = [`${dir}/*.log`];
        c.sink.type = "http";
        c.sink.http.url = receiver.url;
        patch(c);
      }),
    );
    await p.pipeline.start();
    cleanup.push(() => p.pipeline.stop(500));
    return { ...p, got, receiver, dir };
  }

  it("verifies the server with tls.caFile", async () => {
    const t = material();
    const { got } = await run(
      { cert: fs.readFileSync(t.cert, "utf8"), key: fs.readFileSync(t.key, "utf8") },
      (c) => (c.sink.http.tls.caFile = t.ca),
    );
    await waitFor("delivery over https", () => got.length === 1, 10_000);
  });

  it("refuses a server its CA does not vouch for (counted as tls, retried), unless insecureSkipVerify", async () => {
    const t = material();
    const serverTls = { cert: fs.readFileSync(t.cert, "utf8"), key: fs.readFileSync(t.key, "utf8") };
    const wrong = await run(serverTls, (c) => (c.sink.http.tls.caFile = t.wrongCa));
    await waitFor("tls errors", async () => (await errorsByReason(wrong.registry, "tls")) >= 2, 10_000);
    expect(wrong.got).toEqual([]);
    const insecure = await run(serverTls, (c) => (c.sink.http.tls.insecureSkipVerify = true));
    await waitFor("delivery without verification", () => insecure.got.length === 1, 10_000);
    expect(insecure.logs.some((l) => String(l.msg).includes("insecureSkipVerify"))).toBe(true);
  });

  it("presents a client certificate (mTLS) from tls.certFile and tls.keyFile", async () => {
    const t = material();
    const serverTls = {
      cert: fs.readFileSync(t.cert, "utf8"),
      key: fs.readFileSync(t.key, "utf8"),
      ca: fs.readFileSync(t.ca, "utf8"),
      requestCert: true,
    };
    const anonymous = await run(serverTls, (c) => (c.sink.http.tls.caFile = t.ca));
    await waitFor(
      "handshake failures",
      async () => (await errorsByReason(anonymous.registry, "connection_reset")) + (await errorsByReason(anonymous.registry, "tls")) >= 1,
      10_000,
    );
    expect(anonymous.got).toEqual([]);
    const withCert = await run(serverTls, (c) => {
      c.sink.http.tls.caFile = t.ca;
      c.sink.http.tls.certFile = t.clientCert;
      c.sink.http.tls.keyFile = t.clientKey;
    });
    await waitFor("delivery with a client certificate", () => withCert.got.length === 1, 10_000);
  });

  it("sends header values read from env and files, and never shows them in logs or status", async () => {
    const secretFile = path.join(os.tmpdir(), `nodetap-secret-${process.pid}`);
    fs.writeFileSync(secretFile, "tenant-from-file\n");
    cleanup.push(() => fs.rmSync(secretFile, { force: true }));
    process.env.LOGS_TEST_SINK_TOKEN = "Bearer s3cr3t-token";
    cleanup.push(() => void delete process.env.LOGS_TEST_SINK_TOKEN);
    const { got, receiver, logs, pipeline } = await run(undefined, (c) => {
      c.sink.http.headers = { Authorization: "env:LOGS_TEST_SINK_TOKEN", "X-Scope-OrgID": `file:${secretFile}`, "X-Plain": "plain" };
    });
    await waitFor("delivery", () => got.length === 1, 10_000);
    expect(receiver.lastHeaders).toMatchObject({
      authorization: "Bearer s3cr3t-token",
      "x-scope-orgid": "tenant-from-file",
      "x-plain": "plain",
      "content-encoding": "gzip",
    });
    const everything = JSON.stringify(logs) + JSON.stringify(pipeline.status());
    expect(everything).not.toContain("s3cr3t");
    expect(everything).not.toContain("tenant-from-file");
    expect(JSON.stringify(pipeline.status())).toContain("Authorization");
  });

  it("gives up on a request after the timeout and retries it (reason timeout)", async () => {
    const { registry, receiver, got } = await run(undefined, (c) => (c.sink.http.timeout = 0.2));
    receiver.mode = { kind: "hang" };
    await waitFor("timeouts", async () => (await errorsByReason(registry, "timeout")) >= 2, 10_000);
    receiver.mode = { kind: "accept" };
    await waitFor("delivery after the server answers again", () => got.length >= 1, 10_000);
  });
});
