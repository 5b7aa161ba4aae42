/**
 * nodetap as a real process over HTTP: exposition formats, gzip, collect[]/exclude[], the
 * concurrent-scrape limit, probes, /status (and that secrets never leak), basic auth, TLS, signals,
 * exit codes, the CLI, and node_exporter conformance on its recorded fixture tree.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExposition, seriesKey, type ParsedFamily } from "../../helpers/exposition-parse.js";
import { FIXTURE_ROOT, expectedFamilies, sameValue } from "../../helpers/fixtures.js";
import { e2eProcessFlags, e2eProcfs } from "../../helpers/e2e-overlay.js";
import {
  REPO_ROOT,
  runAgent,
  buildStartBundle,
  startAgent,
  tempDir,
  type AgentProcess,
  type ExitResult,
  removeTempDirs,
} from "../../helpers/agent-process.js";
import { httpRequest, getJson, getText } from "../../helpers/http.js";
import { E2E_REQUIRED_COLLECTORS, E2E_VARYING, collectorsClaiming, familiesOf } from "../../helpers/collector-families.js";

const PACKAGE_VERSION = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
const OPENMETRICS_ACCEPT = "application/openmetrics-text; version=1.0.0";
/** What Prometheus 2.42 sends when scraping. */
const PROMETHEUS_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/** Series keys of the families that start with node_ (host metrics), for set comparisons. */
function nodeFamilies(parsed: Map<string, ParsedFamily>): string[] {
  return [...parsed.keys()].filter((n) => n.startsWith("node_")).sort();
}

/** What the process said, stdout then stderr, with JSON log lines reduced to their key and message. */
function output(r: ExitResult): string {
  const lines = `${r.stdout}\n${r.stderr}`.split("\n").map((line) => {
    if (!line.startsWith("{")) return line;
    try {
      const l = JSON.parse(line) as { key?: string; msg?: string };
      return `${l.key ?? ""} ${l.msg ?? ""}`;
    } catch {
      return line;
    }
  });
  return lines.join("\n");
}

interface Status {
  version: string;
  ready: boolean;
  uptimeSeconds: number;
  config: { web: { listenAddress: string; basicAuth: { username: string; passwordFile: string } }; paths: { procfs: string } };
  host: { gatheredAt?: string; error?: string; memory?: { totalBytes: number } };
  collectors: Array<{ name: string; lastSuccess?: boolean; lastDurationSeconds?: number; lastError?: string }>;
  logs?: unknown;
}

/**
 * Series of e2e-output.txt that node_exporter read from outside the recorded tree, so nodetap
 * cannot reproduce them from it: rx_nohandler of the live host's lo, which node_exporter got over
 * rtnetlink and nodetap reads from sysfs, where the recorded sys/class/net has no lo
 * (test/fixtures/metrics-e2e/README.md). node-exporter-live.test.ts covers it on a real host.
 */
const NOT_FROM_THE_TREE = new Set(['node_network_receive_nohandler_total{device="lo"}']);

/** The textfile collector's HELP names the file as given on the command line: compare it relative to the fixture. */
function normalizeHelp(help: string | undefined): string | undefined {
  return help?.replace(`Metric read from ${FIXTURE_ROOT}/`, "Metric read from collector/fixtures/");
}

afterAll(removeTempDirs);

/**
 * Differences between nodetap's exposition and node_exporter's recorded one for the families of
 * the required collectors: missing or extra series, types, values; and host families nodetap
 * serves that node_exporter did not with the same collectors.
 */
function conformanceProblems(actual: Map<string, ParsedFamily>, expected: Map<string, ParsedFamily>): string[] {
  const required = familiesOf(E2E_REQUIRED_COLLECTORS, expected.keys()).sort();
  const problems: string[] = [];
  for (const name of required) {
    const exp = expected.get(name)!;
    const act = actual.get(name);
    const expectedSamples = [...exp.samples].filter(([key]) => !NOT_FROM_THE_TREE.has(key));
    if (expectedSamples.length === 0 && act === undefined) continue;
    if (!act) {
      problems.push(`${name}: family missing`);
      continue;
    }
    if (act.type !== exp.type) problems.push(`${name}: type ${act.type}, node_exporter ${exp.type}`);
    if (E2E_VARYING.test(name)) {
      // Presence only (values, and for the time zone the label value, vary run to run).
      if (act.samples.size === 0) problems.push(`${name}: no samples`);
      continue;
    }
    for (const [key, value] of expectedSamples) {
      const got = act.samples.get(key);
      if (got === undefined) problems.push(`missing ${key} (node_exporter: ${value})`);
      else if (!sameValue(got, value)) problems.push(`${key}: ${got}, node_exporter ${value}`);
    }
    for (const key of act.samples.keys()) if (!exp.samples.has(key)) problems.push(`extra ${key} = ${act.samples.get(key)}`);
  }
  const requiredSet = new Set(required);
  for (const name of actual.keys()) {
    if (requiredSet.has(name) || name.startsWith("nodetap_") || name.startsWith("process_") || name.startsWith("nodejs_")) continue;
    if (name === "node_scrape_collector_success" || name === "node_scrape_collector_duration_seconds") continue;
    problems.push(`extra family ${name}`);
  }
  return problems;
}

/** nodetap's exposition with rapl's zone paths relative to the fixture, as node_exporter's run had them. */
async function scrapeAsRecorded(agent: AgentProcess): Promise<Map<string, ParsedFamily>> {
  const text = await getText(`${agent.url}/metrics`);
  return parseExposition(text.replaceAll(`path="${FIXTURE_ROOT}/`, 'path="collector/fixtures/'));
}

describe("nodetap on the node_exporter fixture tree, over HTTP", () => {
  let agent: AgentProcess;

  beforeAll(async () => {
    agent = await startAgent({ args: e2eProcessFlags() });
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it("serves text format 0.0.4 by default", async () => {
    const res = await httpRequest(`${agent.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(res.text).not.toContain("# EOF");
    const parsed = parseExposition(res.text);
    expect(parsed.get("node_cpu_seconds_total")?.type).toBe("counter");
    expect(parsed.get("node_netstat_Tcp_InSegs")?.type).toBe("untyped");
    // An explicit text/plain Accept gets text too.
    const plain = await httpRequest(`${agent.url}/metrics`, { headers: { accept: "text/plain;version=0.0.4" } });
    expect(plain.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
  });

  it("negotiates OpenMetrics 1.0.0: # EOF at the end, counter families named without _total, untyped as unknown", async () => {
    for (const accept of [OPENMETRICS_ACCEPT, PROMETHEUS_ACCEPT]) {
      const res = await httpRequest(`${agent.url}/metrics`, { headers: { accept } });
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^application\/openmetrics-text; version=1\.0\.0; charset=utf-8$/);
      expect(res.text.endsWith("\n# EOF\n")).toBe(true);
      expect(res.text.indexOf("# EOF")).toBe(res.text.length - "# EOF\n".length);

      const types = new Map<string, string>();
      for (const m of res.text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1], m[2]);
      expect(types.get("node_cpu_seconds")).toBe("counter");
      expect(types.has("node_cpu_seconds_total")).toBe(false);
      expect(types.get("node_netstat_Tcp_InSegs")).toBe("unknown");
      const badCounters = [...types].filter(([name, type]) => type === "counter" && name.endsWith("_total")).map(([n]) => n);
      expect(badCounters).toEqual([]);
      expect([...types.values()].filter((t) => t === "untyped")).toEqual([]);

      // Every sample of a counter family is <family>_total (or _created).
      let family = "";
      let type = "";
      const badSamples: string[] = [];
      for (const line of res.text.split("\n")) {
        const t = /^# TYPE (\S+) (\S+)$/.exec(line);
        if (t) [, family, type] = t;
        else if (line !== "" && !line.startsWith("#") && type === "counter") {
          const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
          if (name !== `${family}_total` && name !== `${family}_created`) badSamples.push(line);
        }
      }
      expect(badSamples).toEqual([]);
      expect(res.text).toMatch(/^node_cpu_seconds_total\{cpu="0",mode="idle"\} /m);
    }
  });

  it("gzips when asked and only then", async () => {
    const [plain, gz] = await Promise.all([
      httpRequest(`${agent.url}/metrics`),
      httpRequest(`${agent.url}/metrics`, { headers: { "accept-encoding": "gzip, deflate" } }),
    ]);
    expect(gz.status).toBe(200);
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gz.body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const unzipped = zlib.gunzipSync(gz.body).toString("utf8");
    expect(nodeFamilies(parseExposition(unzipped))).toEqual(nodeFamilies(parseExposition(plain.text)));
    expect(gz.body.length).toBeLessThan(plain.body.length / 3);
  });

  it("collect[] and exclude[] pick collectors per scrape, as node_exporter's", async () => {
    const only = parseExposition(await getText(`${agent.url}/metrics?collect[]=loadavg`));
    expect(nodeFamilies(only)).toEqual([
      "node_load1",
      "node_load15",
      "node_load5",
      "node_scrape_collector_duration_seconds",
      "node_scrape_collector_success",
    ]);
    expect([...only.get("node_scrape_collector_success")!.samples.keys()]).toEqual([
      seriesKey("node_scrape_collector_success", { collector: "loadavg" }),
    ]);
    expect(only.get("node_load1")!.samples.get("node_load1{}")).toBe(expectedFamilies().get("node_load1")!.samples.get("node_load1{}"));

    const two = parseExposition(await getText(`${agent.url}/metrics?collect[]=loadavg&collect[]=entropy`));
    expect(nodeFamilies(two).filter((n) => !n.startsWith("node_scrape_"))).toEqual([
      "node_entropy_available_bits",
      "node_entropy_pool_size_bits",
      "node_load1",
      "node_load15",
      "node_load5",
    ]);

    const without = parseExposition(await getText(`${agent.url}/metrics?exclude[]=loadavg`));
    expect(without.has("node_load1")).toBe(false);
    expect(without.has("node_cpu_seconds_total")).toBe(true);
    const excludedKeys = [...without.get("node_scrape_collector_success")!.samples.keys()];
    expect(excludedKeys).not.toContain(seriesKey("node_scrape_collector_success", { collector: "loadavg" }));
    expect(excludedKeys).toHaveLength(E2E_REQUIRED_COLLECTORS.length - 1);

    for (const query of ["collect[]=nosuch", "exclude[]=nosuch", "collect[]=filesystem" /* known but disabled here */]) {
      const res = await httpRequest(`${agent.url}/metrics?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.text, query).toContain(query.split("=")[1]);
    }
    const both = await httpRequest(`${agent.url}/metrics?collect[]=loadavg&exclude[]=cpu`);
    expect(both.status).toBe(400);
  });

  it("answers /healthz, /readyz and /", async () => {
    const health = await httpRequest(`${agent.url}/healthz`);
    expect([health.status, health.text]).toEqual([200, "ok\n"]);
    const ready = await httpRequest(`${agent.url}/readyz`);
    expect([ready.status, ready.text]).toEqual([200, "ready\n"]);
    const index = await httpRequest(`${agent.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers["content-type"]).toMatch(/^text\/html/);
    expect(index.text).toContain('href="/metrics"');
    expect((await httpRequest(`${agent.url}/no-such-page`)).status).toBe(404);
  });

  it("/status reports version, redacted config, collectors' last scrape and host inventory", async () => {
    await getText(`${agent.url}/metrics`);
    let status = await getJson<Status>(`${agent.url}/status`);
    expect(status.version).toBe(PACKAGE_VERSION);
    expect(status.ready).toBe(true);
    expect(typeof status.uptimeSeconds).toBe("number");
    expect(status.config.web.listenAddress).toBe("127.0.0.1:0");
    expect(status.config.paths.procfs).toBe(e2eProcfs());
    expect(status.collectors.map((c) => c.name).sort()).toEqual([...E2E_REQUIRED_COLLECTORS].sort());
    for (const c of status.collectors) {
      expect(c.lastSuccess, `${c.name}: ${c.lastError ?? ""}`).toBe(true);
      expect(c.lastDurationSeconds).toBeGreaterThanOrEqual(0);
    }
    // The inventory is gathered in the background after start.
    const deadline = Date.now() + 30_000;
    while (status.host.gatheredAt === undefined && status.host.error === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      status = await getJson<Status>(`${agent.url}/status`);
    }
    expect(status.host.error).toBeUndefined();
    expect(status.host.memory?.totalBytes).toBeGreaterThan(0);
  });

  describe("fixture conformance: node_exporter 1.12's e2e-output.txt through the real process", () => {
    let actual: Map<string, ParsedFamily>;
    const expected = expectedFamilies();
    const required = familiesOf(E2E_REQUIRED_COLLECTORS, expected.keys()).sort();

    beforeAll(async () => {
      actual = await scrapeAsRecorded(agent);
    });

    it("maps every family of e2e-output.txt to exactly one collector (collector-families.ts)", () => {
      const unmapped = [...expected.keys()]
        .filter((n) => collectorsClaiming(n).length !== 1)
        .map((n) => `${n}: ${collectorsClaiming(n).join(",") || "none"}`);
      expect(unmapped).toEqual([]);
      for (const c of E2E_REQUIRED_COLLECTORS) expect(familiesOf([c], expected.keys()).length, c).toBeGreaterThan(0);
    });

    it("has every series of the required collectors with node_exporter's labels, type and value, and nothing extra", () => {
      expect(conformanceProblems(actual, expected)).toEqual([]);
    });

    it("has the series of the run-to-run-varying families that node_exporter has (presence)", () => {
      const lo = (n: string) => actual.get(n)?.samples.has(seriesKey(n, { device: "lo" }));
      for (const n of [
        "node_network_receive_bytes_total",
        "node_network_receive_packets_total",
        "node_network_transmit_bytes_total",
        "node_network_transmit_packets_total",
      ]) {
        expect(lo(n), n).toBe(true);
      }
      const mtimes = [...(actual.get("node_textfile_mtime_seconds")?.samples.keys() ?? [])];
      expect(mtimes.map((k) => /file="[^"]*\/(metrics\d\.prom)"/.exec(k)?.[1]).sort()).toEqual(["metrics1.prom", "metrics2.prom"]);
      const zones = [...(actual.get("node_time_zone_offset_seconds")?.samples.keys() ?? [])];
      expect(zones.length).toBe(1);
      expect(zones[0]).toMatch(/^node_time_zone_offset_seconds\{time_zone="[^"]+"\}$/);
      const now = actual.get("node_time_seconds")?.samples.get("node_time_seconds{}") ?? 0;
      expect(Math.abs(now - Date.now() / 1000)).toBeLessThan(60);
    });

    it("reports success 1 for every required collector and only those", () => {
      const success = actual.get("node_scrape_collector_success")!;
      const got = Object.fromEntries([...success.samples].map(([k, v]) => [/collector="([^"]+)"/.exec(k)![1], v]));
      expect(got).toEqual(Object.fromEntries(E2E_REQUIRED_COLLECTORS.map((c) => [c, 1])));
    });

    it("uses node_exporter's HELP text for the required families", () => {
      const problems = required
        .filter((n) => actual.has(n) && normalizeHelp(actual.get(n)!.help) !== expected.get(n)!.help)
        .map((n) => `${n}: ${JSON.stringify(actual.get(n)!.help)}, node_exporter ${JSON.stringify(expected.get(n)!.help)}`);
      expect(problems).toEqual([]);
    });
  });
});

/**
 * node_exporter's end-to-end script compares against e2e-64k-page-output.txt on aarch64 and
 * ppc64le, where it runs with --no-collector.cpu.info (CPU info is tested on x86-64 only); the
 * file differs from e2e-output.txt by exactly the families that flag removes. Page-size-scaled
 * values (sockstat's *_mem_bytes) are the same in both files, so that run had 4 KiB pages; the
 * page size itself is read from /proc/self/auxv (test/unit/host/page-size.test.ts, sockstat's tests).
 */
describe("node_exporter's aarch64/ppc64le end-to-end output (e2e-64k-page-output.txt)", () => {
  let agent: AgentProcess;
  beforeAll(async () => {
    agent = await startAgent({
      args: [...e2eProcessFlags(), "--no-collector.cpu.info", "--collector.cpu.info.flags-include=", "--collector.cpu.info.bugs-include="],
    });
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it("equals it for every family of the required collectors", async () => {
    const expected64k = parseExposition(fs.readFileSync(path.join(FIXTURE_ROOT, "e2e-64k-page-output.txt"), "utf8"));
    const x86Only = [...expectedFamilies().keys()].filter((n) => !expected64k.has(n));
    expect(x86Only.sort()).toEqual(["node_cpu_bug_info", "node_cpu_flag_info", "node_cpu_frequency_hertz", "node_cpu_info"]);
    expect(conformanceProblems(await scrapeAsRecorded(agent), expected64k)).toEqual([]);
  });
});

describe("concurrent scrape limit (--web.max-requests)", () => {
  let agent: AgentProcess;
  beforeAll(async () => {
    // A textfile directory big enough that a scrape takes a while, so concurrent ones overlap.
    const dir = tempDir("nodetap-slow-textfile-");
    for (let f = 0; f < 20; f++) {
      let text = `# HELP slow_metric_${f} A metric to make scrapes slow.\n# TYPE slow_metric_${f} gauge\n`;
      for (let i = 0; i < 3000; i++) text += `slow_metric_${f}{instance_id="${i}",shard="s${i % 7}"} ${i}.5\n`;
      fs.writeFileSync(path.join(dir, `slow${f}.prom`), text);
    }
    agent = await startAgent({
      args: ["--web.max-requests=1", "--collector.disable-defaults", "--collector.textfile", `--collector.textfile.directory=${dir}`],
    });
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it("answers 503 past the limit and counts the rejections in nodetap_scrapes_rejected_total", async () => {
    const results = await Promise.all(Array.from({ length: 24 }, () => httpRequest(`${agent.url}/metrics`)));
    const statuses = results.map((r) => r.status);
    const rejected = statuses.filter((s) => s === 503).length;
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(rejected).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(results.find((r) => r.status === 503)!.text).toMatch(/limit/i);
    expect(results.find((r) => r.status === 200)!.text).toContain("slow_metric_19{");

    // This scrape runs alone, so it is served and sees every earlier rejection.
    const after = parseExposition(await getText(`${agent.url}/metrics`));
    expect(after.get("nodetap_scrapes_rejected_total")?.samples.get("nodetap_scrapes_rejected_total{}")).toBe(rejected);
    // Probes are not scrapes: never limited.
    const probes = await Promise.all([
      ...Array.from({ length: 5 }, () => httpRequest(`${agent.url}/metrics`)),
      httpRequest(`${agent.url}/healthz`),
    ]);
    expect(probes[probes.length - 1].status).toBe(200);
  });
});

describe("basic auth, and secrets in /status and logs", () => {
  let agent: AgentProcess;
  const password = `pw-${randomBytes(12).toString("hex")}`;
  let passwordFile: string;
  beforeAll(async () => {
    const dir = tempDir("nodetap-auth-");
    passwordFile = path.join(dir, "password");
    fs.writeFileSync(passwordFile, password + "\n", { mode: 0o600 });
    agent = await startAgent({
      args: [...e2eProcessFlags(), "--web.basic-auth.username=prom", `--web.basic-auth.password-file=${passwordFile}`, "--log.level=debug"],
    });
  });
  afterAll(async () => {
    await agent?.stop();
  });

  it("requires credentials on /metrics and /status but not on the probes", async () => {
    const none = await httpRequest(`${agent.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/^Basic /);
    expect((await httpRequest(`${agent.url}/metrics`, { auth: "prom:wrong" })).status).toBe(401);
    expect((await httpRequest(`${agent.url}/metrics`, { auth: `other:${password}` })).status).toBe(401);
    expect((await httpRequest(`${agent.url}/status`)).status).toBe(401);
    const ok = await httpRequest(`${agent.url}/metrics`, { auth: `prom:${password}` });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain("node_cpu_seconds_total");
    expect((await httpRequest(`${agent.url}/healthz`)).status).toBe(200);
    expect((await httpRequest(`${agent.url}/readyz`)).status).toBe(200);
  });

  it("never shows the password (nor the password file) in /status or the logs", async () => {
    const res = await httpRequest(`${agent.url}/status`, { auth: `prom:${password}` });
    expect(res.status).toBe(200);
    const status = JSON.parse(res.text) as Status;
    expect(status.config.web.basicAuth.username).toBe("prom");
    expect(status.config.web.basicAuth.passwordFile).toBe("<redacted>");
    const base64 = Buffer.from(`prom:${password}`).toString("base64");
    for (const secret of [password, base64, passwordFile]) expect(res.text).not.toContain(secret);
    const stopped = await agent.stop();
    expect(stopped.code).toBe(0);
    for (const secret of [password, base64]) {
      expect(stopped.stdout).not.toContain(secret);
      expect(stopped.stderr).not.toContain(secret);
    }
    expect(agent.logs().length).toBeGreaterThan(2);
  });
});

describe("TLS", () => {
  let dir: string;
  let serverCert: Buffer;
  let clientCert: Buffer;
  let clientKey: Buffer;
  beforeAll(() => {
    dir = tempDir("nodetap-tls-");
    const selfSigned = (name: string, cn: string, ext: string) =>
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "2",
          "-subj",
          `/CN=${cn}`,
          "-addext",
          ext,
          "-keyout",
          path.join(dir, `${name}.key`),
          "-out",
          path.join(dir, `${name}.crt`),
        ],
        { stdio: "pipe" },
      );
    selfSigned("server", "127.0.0.1", "subjectAltName=IP:127.0.0.1");
    selfSigned("client", "prometheus", "extendedKeyUsage=clientAuth");
    serverCert = fs.readFileSync(path.join(dir, "server.crt"));
    clientCert = fs.readFileSync(path.join(dir, "client.crt"));
    clientKey = fs.readFileSync(path.join(dir, "client.key"));
  });

  // The bundle `npm start` (and the binary, the image) runs loads https lazily through
  // scripts/bundle-shims: the server must still come up with TLS there.
  it.each(["tsx", "bundle"] as const)("serves https with the configured certificate (%s)", async (runtime) => {
    if (runtime === "bundle") buildStartBundle();
    const agent = await startAgent({
      runtime,
      args: [
        "--collector.disable-defaults",
        "--collector.loadavg",
        `--web.tls.cert-file=${dir}/server.crt`,
        `--web.tls.key-file=${dir}/server.key`,
      ],
      ca: serverCert,
    });
    try {
      expect(agent.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const res = await httpRequest(`${agent.url}/metrics`, { ca: serverCert });
      expect(res.status).toBe(200);
      expect(res.text).toContain("node_load1 ");
      // Without trusting the certificate the handshake fails: it really is this certificate.
      await expect(httpRequest(`${agent.url}/metrics`)).rejects.toThrow(/self[- ]signed|certificate/i);
      // Plain http on the TLS port gets no metrics.
      const plain = await httpRequest(`http://127.0.0.1:${agent.port}/metrics`).catch((e: Error) => e);
      expect(plain instanceof Error ? plain.message : plain.text).not.toContain("node_load1");
    } finally {
      expect((await agent.stop()).code).toBe(0);
    }
  });

  it("requires a client certificate signed by --web.tls.client-ca-file (mTLS)", async () => {
    const agent = await startAgent({
      args: [
        "--collector.disable-defaults",
        "--collector.loadavg",
        `--web.tls.cert-file=${dir}/server.crt`,
        `--web.tls.key-file=${dir}/server.key`,
        `--web.tls.client-ca-file=${dir}/client.crt`,
      ],
      ca: serverCert,
      clientCert: { cert: clientCert, key: clientKey },
    });
    try {
      const res = await httpRequest(`${agent.url}/metrics`, { ca: serverCert, cert: clientCert, key: clientKey });
      expect(res.status).toBe(200);
      expect(res.text).toContain("node_load1 ");
      // No client certificate, or one the CA did not sign (the server's own): refused in the handshake.
      await expect(httpRequest(`${agent.url}/metrics`, { ca: serverCert })).rejects.toThrow();
      const wrongKey = fs.readFileSync(path.join(dir, "server.key"));
      await expect(httpRequest(`${agent.url}/metrics`, { ca: serverCert, cert: serverCert, key: wrongKey })).rejects.toThrow();
    } finally {
      expect((await agent.stop()).code).toBe(0);
    }
  });
});

describe("signals and exit codes", () => {
  it("SIGTERM stops it cleanly: exit 0 and a 'nodetap stopped' log line", async () => {
    const agent = await startAgent({ args: ["--collector.disable-defaults", "--collector.loadavg"] });
    await getText(`${agent.url}/metrics`);
    const result = await agent.stop("SIGTERM");
    expect(result.code).toBe(0);
    expect(agent.findLog("shutdown requested")?.signal).toBe("SIGTERM");
    expect(agent.findLog("nodetap stopped")).toBeDefined();
    // stdout is the stdout sink's; stderr holds nothing but JSON log lines (no warning, no stack).
    expect(result.stdout).toBe("");
    for (const line of result.stderr.split("\n").filter(Boolean)) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
  });

  it("exits 4 with a clear message when the listen address is in use", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runAgent([
        `--web.listen-address=127.0.0.1:${port}`,
        "--logs.enabled=false",
        "--collector.disable-defaults",
        "--collector.loadavg",
      ]);
      expect(r.code, output(r)).toBe(4);
      expect(output(r)).toContain(`cannot listen on 127.0.0.1:${port}: address already in use`);
    } finally {
      blocker.close();
    }
  });

  it("exits 3 when --path.procfs is unreadable", async () => {
    const empty = tempDir("nodetap-empty-proc-");
    for (const procfs of ["/nonexistent/proc", empty]) {
      const r = await runAgent(["--web.listen-address=127.0.0.1:0", "--logs.enabled=false", `--path.procfs=${procfs}`]);
      expect(r.code, output(r)).toBe(3);
      expect(output(r)).toContain(`procfs ${procfs} is unreadable`);
      expect(output(r)).toContain("paths.procfs");
    }
    const r = await runAgent(["--web.listen-address=127.0.0.1:0", "--logs.enabled=false", "--path.sysfs=/nonexistent/sys"]);
    expect(r.code, output(r)).toBe(3);
    expect(output(r)).toContain("paths.sysfs");
  });

  describe("exits 2 on bad configuration, naming the key, the value and what is allowed", () => {
    let dir: string;
    beforeAll(() => {
      dir = tempDir("nodetap-badconfig-");
    });
    const base = ["--web.listen-address=127.0.0.1:0", "--logs.enabled=false"];
    const cases: Array<{ what: string; args?: string[]; yaml?: string; env?: Record<string, string>; expect: string[] }> = [
      {
        what: "unknown key in the YAML file",
        yaml: "metrics:\n  collectors:\n    cpu:\n      bogus: true\n",
        expect: ["metrics.collectors.cpu.bogus", "unknown key", "allowed keys under metrics.collectors.cpu: enabled"],
      },
      {
        what: "bad regex",
        args: ["--collector.netdev.device-include=(eth"],
        expect: ["metrics.collectors.netdev.deviceInclude", '"(eth"', "not a valid regular expression"],
      },
      {
        what: "bad regex in the file",
        yaml: "metrics:\n  collectors:\n    diskstats:\n      deviceExclude: '[a-'\n",
        expect: ["metrics.collectors.diskstats.deviceExclude", "not a valid regular expression"],
      },
      {
        what: "bad duration",
        args: ["--collector.timeout=soon"],
        expect: ["metrics.collectorTimeout", '"soon"', "not a duration", "allowed:"],
      },
      {
        what: "bad duration in the file",
        yaml: "metrics:\n  collectorTimeout: 10 parsecs\n",
        expect: ["metrics.collectorTimeout", "not a duration"],
      },
      { what: "unknown flag", args: ["--web.listen-adress=:9100"], expect: ["--web.listen-adress", "unknown flag"] },
      {
        what: "enabling a node_exporter collector nodetap lacks",
        args: ["--collector.supervisord"],
        expect: ["--collector.supervisord", "does not implement"],
      },
      {
        what: "enum value",
        args: ["--log.level=loud"],
        expect: ["log.level", '"loud"', "allowed: trace, debug, info, warn, error, fatal"],
      },
      { what: "integer out of range", args: ["--web.max-requests=-1"], expect: ["web.maxRequests", "allowed"] },
      {
        what: "unknown NODETAP_ environment variable",
        env: { NODETAP_NOT_A_KEY: "1" },
        expect: ["NODETAP_NOT_A_KEY", "unknown environment variable"],
      },
      {
        what: "bad value in a NODETAP_ variable",
        env: { NODETAP_WEB_MAX_REQUESTS: "many" },
        expect: ["web.maxRequests", "NODETAP_WEB_MAX_REQUESTS", '"many"'],
      },
      {
        what: "malformed listen address",
        args: ["--web.listen-address=localhost"],
        expect: ["web.listenAddress", '"localhost"', "allowed:"],
      },
      {
        what: "missing TLS certificate file",
        args: ["--web.tls.cert-file=/nonexistent.crt", "--web.tls.key-file=/nonexistent.key"],
        expect: ["web.tls.certFile", "/nonexistent.crt"],
      },
      { what: "invalid YAML", yaml: "metrics: [unclosed\n", expect: ["invalid YAML"] },
    ];
    for (const c of cases) {
      it(c.what, async () => {
        const args = [...base, ...(c.args ?? [])];
        if (c.yaml !== undefined) {
          const file = path.join(dir, `${c.what.replace(/\W+/g, "-")}.yaml`);
          fs.writeFileSync(file, c.yaml);
          args.push(`--config=${file}`);
        }
        const r = await runAgent(args, { env: c.env });
        expect(r.code, output(r)).toBe(2);
        for (const e of c.expect) expect(output(r)).toContain(e);
        expect(output(r)).not.toContain("nodetap started");
      });
    }
  });
});

describe("CLI", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("nodetap-cli-");
  });

  it("check-config accepts a good file and rejects a bad one with exit 2", async () => {
    const good = path.join(dir, "good.yaml");
    fs.writeFileSync(
      good,
      "web:\n  listenAddress: ':9100'\n  maxRequests: 10\nmetrics:\n  collectorTimeout: 5s\n  collectors:\n    netdev:\n      deviceExclude: '^veth'\n",
    );
    const ok = await runAgent(["check-config", "--config", good]);
    expect(ok.code, output(ok)).toBe(0);
    expect(ok.stdout).toContain(`config OK: ${good}`);

    const bad = path.join(dir, "bad.yaml");
    fs.writeFileSync(bad, "web:\n  maxRequests: lots\n");
    const no = await runAgent(["check-config", "--config", bad]);
    expect(no.code, output(no)).toBe(2);
    expect(output(no)).toContain("web.maxRequests");
    expect(output(no)).toContain('"lots"');
    expect(output(no)).toContain(bad);

    // NODETAP_CONFIG names the file as well.
    const env = await runAgent(["check-config"], { env: { NODETAP_CONFIG: bad } });
    expect(env.code).toBe(2);
  });

  it("--version prints the package version", async () => {
    const r = await runAgent(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^nodetap ${PACKAGE_VERSION.replace(/\./g, "\\.")} \\(node v\\d+\\.\\d+\\.\\d+\\)\\n$`));
  });

  it("--help lists the commands and node_exporter's flags", async () => {
    const r = await runAgent(["--help"]);
    expect(r.code).toBe(0);
    for (const s of [
      "Usage: nodetap",
      "check-config",
      "--web.listen-address",
      "--collector.disable-defaults",
      "--path.procfs",
      "--web.max-requests",
      "--collector.textfile.directory",
    ]) {
      expect(r.stdout).toContain(s);
    }
  });
});
