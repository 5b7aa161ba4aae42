import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import { ConfigError } from "../../../agent/config/errors.js";
import { parseDuration, compileGoRegex } from "../../../agent/config/values.js";
import { redactConfig, redactUrl, markdownReference, helpText } from "../../../agent/config/docs.js";

function tempFile(content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-config-"));
  const file = path.join(dir, "config.yaml");
  fs.writeFileSync(file, content);
  return file;
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("defaults", () => {
  it("match node_exporter 1.12", () => {
    const { config } = loadConfig([], {});
    expect(config.web.listenAddress).toBe(":9100");
    expect(config.web.telemetryPath).toBe("/metrics");
    expect(config.web.maxRequests).toBe(40);
    expect(config.paths).toEqual({ procfs: "/proc", sysfs: "/sys", rootfs: "/", udevData: "/run/udev/data" });
    expect(config.metrics.collectors.filesystem.mountTimeout).toBe(5);
    expect(config.metrics.collectors.netclass.ignoredDevices).toBe("^$");
    expect(config.metrics.collectors.stat.softirq).toBe(false);
    expect(config.metrics.collectors.cpu.info).toBe(false);
    expect(config.metrics.collectors.vmstat.fields).toBe("^(oom_kill|pgpg|pswp|pg.*fault).*");
  });
});

describe("precedence: defaults < file < env < flags", () => {
  it("applies each layer over the one before", () => {
    const file = tempFile("web:\n  listenAddress: ':1111'\n  maxRequests: 5\nlog:\n  level: warn\n");
    const { config, explicit } = loadConfig(["--config", file, "--web.listen-address=:3333"], {
      NODETAP_WEB_LISTEN_ADDRESS: ":2222",
      NODETAP_LOG_LEVEL: "debug",
    });
    expect(config.web.listenAddress).toBe(":3333");
    expect(config.web.maxRequests).toBe(5);
    expect(config.log.level).toBe("debug");
    expect(explicit.has("web.maxRequests")).toBe(true);
  });

  it("reads the file named by NODETAP_CONFIG", () => {
    const file = tempFile("web:\n  telemetryPath: /m\n");
    expect(loadConfig([], { NODETAP_CONFIG: file }).config.web.telemetryPath).toBe("/m");
  });
});

describe("node_exporter flags", () => {
  it("accepts --flag=value, --flag value, --no-flag and repeated list flags", () => {
    const { config } = loadConfig(
      [
        "--path.procfs",
        "/host/proc",
        "--path.sysfs=/host/sys",
        "--no-collector.cpu",
        "--collector.stat.softirq",
        "--collector.textfile.directory=/a",
        "--collector.textfile.directory=/b",
        "--collector.filesystem.mount-timeout=500ms",
      ],
      {},
    );
    expect(config.paths.procfs).toBe("/host/proc");
    expect(config.paths.sysfs).toBe("/host/sys");
    expect(config.metrics.collectors.cpu.enabled).toBe(false);
    expect(config.metrics.collectors.stat.softirq).toBe(true);
    expect(config.metrics.collectors.textfile.directory).toEqual(["/a", "/b"]);
    expect(config.metrics.collectors.filesystem.mountTimeout).toBe(0.5);
  });

  it("--collector.disable-defaults turns off every collector not explicitly enabled", () => {
    const { config } = loadConfig(["--collector.disable-defaults", "--collector.cpu", "--collector.thermal_zone"], {});
    const enabled = Object.entries(config.metrics.collectors)
      .filter(([, c]) => c.enabled)
      .map(([n]) => n);
    expect(enabled.sort()).toEqual(["cpu", "thermalZone"]);
  });

  it("accepts disabling a node_exporter collector nodetap lacks, with a notice", () => {
    const { notices } = loadConfig(["--no-collector.supervisord"], {});
    expect(notices[0]).toMatch(/no supervisord collector/);
  });

  it("accepts node_exporter's netlink switches as no-ops with a notice", () => {
    const { notices } = loadConfig(["--no-collector.netclass.netlink", "--collector.netdev.netlink=true"], {});
    expect(notices).toHaveLength(2);
    expect(notices[0]).toMatch(/reads \/proc and sysfs instead of netlink/);
  });

  it("an explicit include replaces the default exclude (as node_exporter)", () => {
    const { config } = loadConfig(["--collector.diskstats.device-include=^sd"], {});
    expect(config.metrics.collectors.diskstats.deviceExclude).toBe("");
  });

  it("commands", () => {
    expect(loadConfig(["--version"], {}).command).toBe("version");
    expect(loadConfig(["--help"], {}).command).toBe("help");
    expect(loadConfig(["check-config"], {}).command).toBe("check-config");
  });
});

describe("precise errors", () => {
  it.each([
    [["--bogus"], /--bogus: unknown flag/],
    [["--collector.supervisord"], /does not implement node_exporter's supervisord collector/],
    [
      ["--collector.filesystem.mount-timeout=abc"],
      /metrics\.collectors\.filesystem\.mountTimeout \(flag --collector\.filesystem\.mount-timeout\): "abc" is not a duration; allowed:/,
    ],
    [["--collector.netdev.device-include=(a"], /metrics\.collectors\.netdev\.deviceInclude .*"\(a" is not a valid regular expression/],
    [["--web.max-requests=-1"], /web\.maxRequests .*"-1" is out of range; allowed: a value of at least 0/],
    [["--web.max-requests=1.5"], /web\.maxRequests .*is not an integer/],
    [["--log.level=verbose"], /log\.level .*"verbose" is not allowed; allowed: trace, debug, info, warn, error, fatal/],
    [["--collector.cpu.info=maybe"], /"maybe" is not a boolean/],
    [["--web.listen-address"], /--web\.listen-address: expects a value/],
    [["--no-web.listen-address"], /is not a boolean flag/],
    [["--collector.netdev.device-include=a", "--collector.netdev.device-exclude=b"], /cannot be set together/],
    [["--web.config.file=web.yml"], /exporter-toolkit web config files are not read/],
    [["stray"], /unexpected argument "stray"/],
  ])("%j", (argv, message) => {
    const err = errorOf(() => loadConfig(argv as string[], {}));
    expect(err.message).toMatch(message);
  });

  it("unknown YAML key names the path and the allowed keys", () => {
    const file = tempFile("metrics:\n  collectors:\n    cpux: {}\n");
    const err = errorOf(() => loadConfig(["--config", file], {}));
    expect(err.key).toBe("metrics.collectors.cpux");
    expect(err.message).toMatch(
      /unknown key; did you mean metrics\.collectors\.cpu\? allowed keys under metrics\.collectors: arp, bcache, bcachefs, bonding/,
    );
    expect(err.message).toContain(file);
  });

  it("wrong YAML type names the key and value", () => {
    const file = tempFile("web:\n  maxRequests: lots\n");
    expect(errorOf(() => loadConfig(["--config", file], {})).message).toMatch(/web\.maxRequests \(in .*\): "lots" is not an integer/);
  });

  it("a section given a scalar", () => {
    const file = tempFile("web: 3\n");
    expect(errorOf(() => loadConfig(["--config", file], {})).message).toMatch(/web .*expected a mapping of keys/);
  });

  it("invalid YAML and duplicate keys", () => {
    expect(errorOf(() => loadConfig(["--config", tempFile("web: [\n")], {})).message).toMatch(/invalid YAML/);
    expect(errorOf(() => loadConfig(["--config", tempFile("log:\n  level: info\n  level: warn\n")], {})).message).toMatch(/invalid YAML/);
  });

  it("missing config file", () => {
    expect(errorOf(() => loadConfig(["--config", "/nonexistent/x.yaml"], {})).message).toMatch(/cannot read \/nonexistent\/x\.yaml/);
  });

  it("unknown NODETAP_ environment variable", () => {
    expect(errorOf(() => loadConfig([], { NODETAP_WEB_LISTENADDRESS: ":1" })).message).toMatch(
      /NODETAP_WEB_LISTENADDRESS: unknown environment variable/,
    );
  });

  it("lets NODETAP_RUNTIME_DEFAULTS pass: the single binary reads it before the config", () => {
    expect(() => loadConfig([], { NODETAP_RUNTIME_DEFAULTS: "off" })).not.toThrow();
  });

  it("never shows a secret's value", () => {
    const file = tempFile("web:\n  basicAuth:\n    passwordFile: [hunter2]\n");
    const err = errorOf(() => loadConfig(["--config", file], {}));
    expect(err.message).toMatch(/web\.basicAuth\.passwordFile .*\(secret value\) is not a string/);
    expect(err.message).not.toContain("hunter2");
  });
});

describe("values", () => {
  it("parses durations", () => {
    expect(parseDuration("1.5")).toBe(1.5);
    expect(parseDuration("500ms")).toBe(0.5);
    expect(parseDuration("1m30s")).toBe(90);
    expect(parseDuration(2)).toBe(2);
    expect(parseDuration("5 s")).toBeUndefined();
    expect(parseDuration("")).toBeUndefined();
  });

  it("compiles Go regex leading flags", () => {
    expect(compileGoRegex("(?i)^ETH").test("eth0")).toBe(true);
  });
});

describe("docs", () => {
  it("redacts secrets", () => {
    const { config } = loadConfig(["--web.basic-auth.username=u", "--web.basic-auth.password-file=/run/secret/pw"], {});
    const text = JSON.stringify(redactConfig(config));
    expect(text).not.toContain("/run/secret/pw");
    expect(text).toContain("<redacted>");
  });

  it("strips credentials and query values from URLs", () => {
    expect(redactUrl("https://user:s3cret@logs.example.com/push?token=abc&x=1")).toBe(
      "https://redacted@logs.example.com/push?token=redacted&x=redacted",
    );
    expect(redactUrl("https://logs.example.com/push")).toBe("https://logs.example.com/push");
    expect(redactUrl("not a url")).toBe("not a url");
    const { config } = loadConfig(["--logs.sink.http.url=https://u:pw@h/x?k=v"], {});
    expect(JSON.stringify(redactConfig(config))).not.toMatch(/pw|k=v/);
  });

  it("help and reference list node_exporter flags", () => {
    expect(helpText()).toContain("--collector.filesystem.mount-points-exclude=REGEX");
    expect(markdownReference()).toContain("`metrics.collectors.netclass.ignoreInvalidSpeed`");
  });
});
