import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { flagNamesOf, loadConfig, readConfig } from "../../../agent/config/load.js";
import { configSchema } from "../../../agent/config-schema.js";
import { kebabFlagOf, walkFields, type Section } from "../../../agent/config/schema.js";
import { helpText, markdownReference } from "../../../agent/config/docs.js";
import { closest, distance } from "../../../agent/config/suggest.js";
import { formatIssue } from "../../../agent/config/errors.js";

function tempFile(content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-flags-"));
  const file = path.join(dir, "config.yaml");
  fs.writeFileSync(file, content);
  return file;
}

function errorLines(argv: string[], env: NodeJS.ProcessEnv = {}): string[] {
  return readConfig(argv, env)
    .issues.filter((i) => i.severity === "error")
    .map(formatIssue);
}

describe("kebab-case flags", () => {
  it("every key answers to its dotted path and to its kebab-case form", () => {
    const missing: string[] = [];
    walkFields(configSchema as Section, (p) => {
      const key = p.join(".");
      const names = flagNamesOf(key);
      for (const want of [key, kebabFlagOf(p)]) if (!names.includes(want)) missing.push(`${key}: --${want}`);
    });
    expect(missing).toEqual([]);
  });

  it("sets the same key as the camelCase spelling", () => {
    const kebab = loadConfig(
      ["--logs.max-in-flight-bytes=1048576", "--logs.sink.http.compression-level=5", "--no-logs.sources.pods.enabled"],
      {},
    );
    const camel = loadConfig(
      ["--logs.maxInFlightBytes=1048576", "--logs.sink.http.compressionLevel=5", "--no-logs.sources.pods.enabled"],
      {},
    );
    expect(kebab.config.logs.maxInFlightBytes).toBe(1048576);
    expect(kebab.config.logs.sink.http.compressionLevel).toBe(5);
    expect(kebab.config.logs.sources.pods.enabled).toBe(false);
    expect(kebab.config).toEqual(camel.config);
    expect(kebab.sources.get("logs.maxInFlightBytes")).toBe("flag --logs.max-in-flight-bytes");
  });

  it("node_exporter's declared flags still win (collector.thermal_zone, web.listen-address)", () => {
    const c = loadConfig(["--no-collector.thermal_zone", "--metrics.collectors.thermal-zone.enabled=false", "--web.listen-address=:1"], {});
    expect(c.config.metrics.collectors.thermalZone.enabled).toBe(false);
    expect(c.config.web.listenAddress).toBe(":1");
  });
});

describe("did you mean", () => {
  it("suggests the closest flag on a typo", () => {
    expect(errorLines(["--logs.sink.typ=http"])).toEqual(["config error: --logs.sink.typ: unknown flag; did you mean --logs.sink.type?"]);
    expect(errorLines(["--web.listen-adress=:1"])[0]).toMatch(/did you mean --web\.listen-address\?/);
    expect(errorLines(["--no-collector.cpuu"])[0]).toMatch(/did you mean --no-collector\.cpu\?/);
    expect(errorLines(["--logs.maxInFlightByte=1"])[0]).toMatch(/did you mean --logs\.maxInFlightBytes\?/);
  });

  it("says nothing when nothing is close", () => {
    expect(errorLines(["--bogus"])).toEqual(["config error: --bogus: unknown flag; see nodetap --help"]);
  });

  it("suggests the closest YAML key, also for a kebab-case key in the file", () => {
    const file = tempFile("logs:\n  max-in-flight-bytes: 1\n  sink:\n    typo: http\n");
    const lines = errorLines(["--config", file]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /logs\.max-in-flight-bytes \(in .*\): unknown key; did you mean logs\.maxInFlightBytes\? allowed keys under logs:/,
    );
    expect(lines[1]).toMatch(/logs\.sink\.typo .*unknown key; did you mean logs\.sink\.type\?/);
  });

  it("suggests the closest NODETAP_ variable", () => {
    expect(errorLines([], { NODETAP_WEB_LISTENADDRESS: ":1" })[0]).toMatch(
      /NODETAP_WEB_LISTENADDRESS: unknown environment variable; did you mean NODETAP_WEB_LISTEN_ADDRESS\?/,
    );
    expect(errorLines([], { NODETAP_NOT_A_KEY: "1" })[0]).not.toMatch(/did you mean/);
  });

  it("edit distance", () => {
    expect(distance("kitten", "sitting")).toBe(3);
    expect(distance("", "abc")).toBe(3);
    expect(distance("abc", "abc")).toBe(0);
    expect(closest("logs.sink.typ", ["logs.sink.type", "logs.sink.http.url"])).toBe("logs.sink.type");
    expect(closest("xyz", ["logs.sink.type"])).toBeUndefined();
  });
});

describe("--help", () => {
  it("shows the allowed values of every enum", () => {
    const help = helpText();
    expect(help).toContain("--logs.sink.type=stdout|file|http|loki|elasticsearch|otlp|syslog");
    expect(help).toContain("--log.level=trace|debug|info|warn|error|fatal");
    expect(help).not.toMatch(/=ENUM\b/);
  });

  it("shows the kebab-case flag for keys without a node_exporter flag, and names the key", () => {
    const help = helpText();
    expect(help).toContain("--logs.max-in-flight-bytes=INT");
    expect(help).toContain("key logs.maxInFlightBytes;");
    expect(help).toContain("--offline");
    expect(markdownReference()).toContain("| `logs.maxInFlightBytes` | int | `16777216` | `--logs.max-in-flight-bytes` |");
  });
});

describe("reading collects every problem", () => {
  it("flags, env and file problems are all reported, not only the first", () => {
    const file = tempFile("web:\n  maxRequests: lots\nlogs:\n  sink:\n    typo: 1\n");
    const read = readConfig(["--config", file, "--log.level=loud", "--bogus", "stray"], { NODETAP_WEB_MAX_REQUESTS: "-3" });
    const keys = read.issues.map((i) => i.key);
    expect(keys).toEqual(["--bogus", "command line", "web.maxRequests", "logs.sink.typo", "web.maxRequests", "log.level"]);
    expect(read.failed).toEqual(new Set(["web.maxRequests", "log.level"]));
  });

  it("loadConfig still throws the first one", () => {
    expect(() => loadConfig(["--log.level=loud", "--bogus"], {})).toThrow(/--bogus: unknown flag/);
  });

  it("--help wins over other problems", () => {
    expect(readConfig(["--bogus", "--help"], {}).command).toBe("help");
  });

  it("--offline is only for check-config", () => {
    expect(readConfig(["check-config", "--offline"], {}).issues).toEqual([]);
    expect(errorLines(["run", "--offline"])).toEqual([
      "config error: --offline: is a check-config option; run always reads what the config refers to",
    ]);
  });

  it("YAML syntax errors do not quote the text (it can be a secret)", () => {
    const file = tempFile("- a\nb: sk-live-PLANTED\n");
    const lines = errorLines(["--config", file]);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l).toMatch(/invalid YAML/);
      expect(l).not.toContain("PLANTED");
    }
    const alias = errorLines(["--config", tempFile("a: *sk-live-PLANTED\n")]);
    expect(alias).toHaveLength(1);
    expect(alias[0]).not.toContain("PLANTED");
  });

  it("a section given a scalar does not quote it", () => {
    const lines = errorLines(["--config", tempFile("logs:\n  sink:\n    loki:\n      auth: Bearer sk-live-PLANTED\n")]);
    expect(lines).toEqual([expect.stringMatching(/logs\.sink\.loki\.auth \(in .*\): expected a mapping of keys, got a string$/)]);
  });
});

describe("secret values are never echoed", () => {
  it.each([
    ["env", () => readConfig([], { NODETAP_LOGS_SINK_HTTP_HEADERS: "Authorization: Bearer sk-live-PLANTED" })],
    ["flag", () => readConfig(["--logs.sink.http.headers=Authorization: Bearer sk-live-PLANTED"], {})],
    ["flag, second entry", () => readConfig(["--logs.sink.loki.headers=X-A=1,Authorization Bearer sk-live-PLANTED"], {})],
    ["file", () => readConfig(["--config", tempFile("logs:\n  sink:\n    otlp:\n      headers: [sk-live-PLANTED]\n")], {})],
    ["auth", () => readConfig(["--config", tempFile("logs:\n  sink:\n    loki:\n      auth:\n        password: [sk-live-PLANTED]\n")], {})],
  ])("malformed headers, %s", (_what, read) => {
    const lines = read().issues.map(formatIssue);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\(secret value\)/);
    expect(lines[0]).not.toContain("PLANTED");
    expect(lines[0]).not.toContain("Bearer");
  });

  it("a stray word after a secret flag is not echoed", () => {
    // "Bearer" is the flag's value; the two words after it are stray.
    const lines = errorLines(["--logs.sink.loki.auth.bearer-token", "Bearer", "sk-live-PLANTED", "sk-live-PLANTED2"]);
    expect(lines).toEqual([
      "config error: command line: unexpected argument 3 (not shown: it follows a secret-bearing flag); commands: run, check-config",
      "config error: command line: unexpected argument 4 (not shown: it follows a secret-bearing flag); commands: run, check-config",
    ]);
    for (const l of lines) expect(l).not.toContain("PLANTED");
    expect(errorLines(["stray"])[0]).toContain('"stray"');
  });

  it("credentials in a URL value are redacted wherever the value is quoted", () => {
    const lines = errorLines([
      "--config",
      tempFile("logs:\n  sink:\n    loki:\n      url: [https://user:sk-live-PLANTED@loki/?token=sk-live-PLANTED2]\n"),
    ]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("https://redacted@loki/?token=redacted");
    expect(lines[0]).not.toContain("PLANTED");
  });
});
