import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { checkConfig, validateConfig } from "../../../agent/check-config.js";
import { writableDirProblem } from "../../../agent/config/fs-check.js";
import { formatIssue, type ConfigIssue } from "../../../agent/config/errors.js";
import { loadConfig } from "../../../agent/config/load.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
const CERT = path.join(FIXTURES, "cert.pem");
const KEY = path.join(FIXTURES, "key.pem");
const OTHER_KEY = path.join(FIXTURES, "other-key.pem");

let dir: string;
let stateDir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-validate-"));
  stateDir = path.join(dir, "state");
});

function file(name: string, content: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

/** All issues of argv + env, with a writable checkpoint directory unless argv sets one. */
async function check(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<ConfigIssue[]> {
  const withState = argv.some((a) => a.startsWith("--logs.checkpoint.dir")) ? argv : [`--logs.checkpoint.dir=${stateDir}`, ...argv];
  return (await checkConfig(withState, env)).issues;
}

const lines = (issues: ConfigIssue[], severity: ConfigIssue["severity"]) => issues.filter((i) => i.severity === severity).map(formatIssue);

describe("errors run would stop on, found without starting anything", () => {
  const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp[]]> = [
    [
      "http sink without url",
      ["--logs.sink.type=http"],
      {},
      [/^config error: logs\.sink\.http\.url: is required when logs\.sink\.type is http$/],
    ],
    [
      "file sink without path",
      ["--logs.sink.type=file"],
      {},
      [/^config error: logs\.sink\.file\.path: is required when logs\.sink\.type is file$/],
    ],
    ["loki sink without url", ["--logs.sink.type=loki"], {}, [/logs\.sink\.loki\.url: is required when logs\.sink\.type is loki/]],
    ["elasticsearch without url", ["--logs.sink.type=elasticsearch"], {}, [/logs\.sink\.elasticsearch\.url: is required/]],
    ["otlp without url", ["--logs.sink.type=otlp"], {}, [/logs\.sink\.otlp\.url: is required/]],
    ["syslog without address", ["--logs.sink.type=syslog"], {}, [/logs\.sink\.syslog\.address: is required/]],
    [
      "url not a URL",
      ["--logs.sink.type=http", "--logs.sink.http.url=not-a-url"],
      {},
      [/^config error: logs\.sink\.http\.url \(flag --logs\.sink\.http\.url\): "not-a-url" is not a URL$/],
    ],
    ["url scheme", ["--logs.sink.type=otlp", "--logs.sink.otlp.url=ftp://x"], {}, [/logs\.sink\.otlp\.url .*scheme ftp: is not supported/]],
    [
      "listen address not host:port",
      ["--web.listen-address=9100x"],
      {},
      [/web\.listenAddress \(flag --web\.listen-address\): "9100x" is not host:port/],
    ],
    ["listen port out of range", ["--web.listen-address=127.0.0.1:99999"], {}, [/web\.listenAddress .*port 99999 is out of range/]],
    [
      "web TLS cert without key",
      [`--web.tls.cert-file=${CERT}`],
      {},
      [/^config error: web\.tls \(flag --web\.tls\.cert-file\): certFile and keyFile must be set together$/],
    ],
    [
      "web client CA without cert",
      [`--web.tls.client-ca-file=${CERT}`],
      {},
      [/web\.tls\.clientCaFile .*needs web\.tls\.certFile and web\.tls\.keyFile/],
    ],
    [
      "web TLS file missing",
      [`--web.tls.cert-file=${CERT}`, "--web.tls.key-file=/nonexistent.key"],
      {},
      [/web\.tls\.keyFile .*cannot read \/nonexistent\.key/],
    ],
    ["web TLS key of another cert", [`--web.tls.cert-file=${CERT}`, `--web.tls.key-file=${OTHER_KEY}`], {}, [/web\.tls\b.*not usable/]],
    [
      "basic auth without password file",
      ["--web.basic-auth.username=u"],
      {},
      [/web\.basicAuth\.passwordFile: must be set when web\.basicAuth\.username is set/],
    ],
    ["telemetry path", ["--web.telemetry-path=metrics"], {}, [/web\.telemetryPath .*"metrics" is not a path/]],
    [
      "header env:NAME unset",
      ["--logs.sink.type=http", "--logs.sink.http.url=http://x", "--logs.sink.http.headers=Authorization=env:SINK_TOKEN"],
      {},
      [
        /^config error: logs\.sink\.http\.headers\.Authorization \(flag --logs\.sink\.http\.headers\): environment variable SINK_TOKEN is not set$/,
      ],
    ],
    [
      "header file: unreadable",
      ["--logs.sink.type=loki", "--logs.sink.loki.url=http://x", "--logs.sink.loki.headers=X-Token=file:/nonexistent/token"],
      {},
      [/logs\.sink\.loki\.headers\.X-Token .*cannot read \/nonexistent\/token: ENOENT/],
    ],
    [
      "tenant id env unset",
      ["--logs.sink.type=loki", "--logs.sink.loki.url=http://x", "--logs.sink.loki.tenant-id=env:TENANT"],
      {},
      [/logs\.sink\.loki\.tenantId .*environment variable TENANT is not set/],
    ],
    [
      "two kinds of auth",
      [
        "--logs.sink.type=elasticsearch",
        "--logs.sink.elasticsearch.url=http://x",
        "--logs.sink.elasticsearch.auth.api-key=k",
        "--logs.sink.elasticsearch.auth.bearer-token=t",
      ],
      {},
      [/logs\.sink\.elasticsearch\.auth\b.*set only one of username\/password, bearerToken and apiKey/],
    ],
    [
      "password without user",
      ["--logs.sink.type=otlp", "--logs.sink.otlp.url=http://x", "--logs.sink.otlp.auth.password=p"],
      {},
      [/logs\.sink\.otlp\.auth\.username: is required with auth\.password/],
    ],
    [
      "sink TLS cert without key",
      ["--logs.sink.type=loki", "--logs.sink.loki.url=https://x", `--logs.sink.loki.tls.cert-file=${CERT}`],
      {},
      [/logs\.sink\.loki\.tls\.certFile .*certFile and keyFile must be set together/],
    ],
    [
      "http sink TLS cert without key",
      ["--logs.sink.type=http", "--logs.sink.http.url=https://x", `--logs.sink.http.tls.cert-file=${CERT}`],
      {},
      [/logs\.sink\.http\.tls\.certFile .*certFile and keyFile must be set together/],
    ],
    [
      "loki labels",
      ["--logs.sink.type=loki", "--logs.sink.loki.url=http://x", "--logs.sink.loki.labels=bogus"],
      {},
      [/logs\.sink\.loki\.labels .*unknown field "bogus"/],
    ],
    [
      "elasticsearch index",
      ["--logs.sink.type=elasticsearch", "--logs.sink.elasticsearch.url=http://x", "--logs.sink.elasticsearch.index=Bad"],
      {},
      [/logs\.sink\.elasticsearch\.index .*"Bad" is not a valid index name/],
    ],
    [
      "syslog address",
      ["--logs.sink.type=syslog", "--logs.sink.syslog.address=nohost"],
      {},
      [/logs\.sink\.syslog\.address .*"nohost" is not host:port/],
    ],
    [
      "syslog udp size",
      [
        "--logs.sink.type=syslog",
        "--logs.sink.syslog.address=h:514",
        "--logs.sink.syslog.transport=udp",
        "--logs.sink.syslog.max-message-bytes=70000",
      ],
      {},
      [/logs\.sink\.syslog\.maxMessageBytes .*at most 65507 for udp/],
    ],
    [
      "syslog tls CA missing",
      [
        "--logs.sink.type=syslog",
        "--logs.sink.syslog.address=h:6514",
        "--logs.sink.syslog.transport=tls",
        "--logs.sink.syslog.tls.ca-file=/nonexistent.pem",
      ],
      {},
      [/logs\.sink\.syslog\.tls\.caFile .*cannot read \/nonexistent\.pem/],
    ],
    [
      "relative include glob",
      ["--logs.sources.files.include=var/log/*.log"],
      {},
      [/logs\.sources\.files\.include .*"var\/log\/\*\.log" is not an absolute path/],
    ],
    [
      "multiline preset and pattern",
      ["--logs.sources.host.multiline.preset=java", "--logs.sources.host.multiline.start-pattern=^x"],
      {},
      [/logs\.sources\.host\.multiline\.startPattern .*cannot be set together with logs\.sources\.host\.multiline\.preset/],
    ],
    [
      "file sink path not writable",
      ["--logs.sink.type=file", "--logs.sink.file.path=/proc/nodetap/out.ndjson"],
      {},
      [/logs\.sink\.file\.path .*\/proc\/nodetap\/out\.ndjson cannot be written \(ENOENT\)/],
    ],
    [
      "dead-letter path is a directory",
      [`--logs.sink.dead-letter.path=${FIXTURES}`],
      {},
      [/logs\.sink\.deadLetter\.path .*cannot be written \(EISDIR\)/],
    ],
    [
      "checkpoint dir",
      ["--logs.checkpoint.dir=/proc/nodetap-cannot-write-here"],
      {},
      [/logs\.checkpoint\.dir .*\/proc\/nodetap-cannot-write-here is not a writable directory/],
    ],
  ];

  it.each(cases)("%s", async (_what, argv, env, expected) => {
    const errors = lines(await check(argv, env), "error");
    expect(errors).toHaveLength(expected.length);
    expected.forEach((re, i) => expect(errors[i]).toMatch(re));
  });
});

describe("every error at once", () => {
  it("a file with three errors reports all three", async () => {
    const cfg = file(
      "three.yaml",
      "web:\n  listenAddress: 9100x\nlogs:\n  sink:\n    type: http\n  sources:\n    files:\n      include: [relative.log]\n",
    );
    const errors = lines(await check(["--config", cfg]), "error");
    expect(errors).toEqual([
      expect.stringMatching(/^config error: web\.listenAddress \(in .*three\.yaml\): "9100x" is not host:port/),
      expect.stringMatching(/^config error: logs\.sources\.files\.include \(in .*three\.yaml\): "relative\.log" is not an absolute path/),
      expect.stringMatching(/^config error: logs\.sink\.http\.url: is required when logs\.sink\.type is http$/),
    ]);
  });

  it("problems found while reading and while validating come together", async () => {
    const errors = lines(await check(["--web.max-requests=lots", "--logs.sink.type=file", "--web.listen-address=x"]), "error");
    expect(errors).toHaveLength(3);
  });

  it("several problems in one sink section", async () => {
    const errors = lines(
      await check(
        [
          "--logs.sink.type=loki",
          "--logs.sink.loki.url=https://x",
          "--logs.sink.loki.headers=A=env:NOPE_A,B=env:NOPE_B",
          "--logs.sink.loki.tls.ca-file=/nonexistent.pem",
          `--logs.sink.loki.tls.cert-file=${CERT}`,
          "--logs.sink.loki.labels=bad1",
          "--logs.sink.loki.labels=bad2",
        ],
        {},
      ),
      "error",
    );
    expect(errors).toHaveLength(6);
  });

  it("a value rejected while reading is not reported again by the checks after", async () => {
    const cfg = file("typed.yaml", "logs:\n  sink:\n    type: http\n    http:\n      url: [http://x]\n");
    const errors = lines(await check(["--config", cfg]), "error");
    expect(errors).toEqual([expect.stringMatching(/logs\.sink\.http\.url \(in .*\): \["http:\/\/x"\] is not a string/)]);
  });
});

describe("what passes", () => {
  it("defaults", async () => {
    expect(await check([])).toEqual([]);
  });

  it("a full config with readable secrets and a matching certificate and key", async () => {
    const token = file("token", "s3cret\n");
    const pw = file("pw", "pw\n");
    const issues = await check(
      [
        `--web.tls.cert-file=${CERT}`,
        `--web.tls.key-file=${KEY}`,
        `--web.tls.client-ca-file=${CERT}`,
        "--web.basic-auth.username=u",
        `--web.basic-auth.password-file=${pw}`,
        "--logs.sink.type=loki",
        "--logs.sink.loki.url=https://loki:3100",
        `--logs.sink.loki.headers=X-Token=file:${token},X-Other=env:OTHER`,
        "--logs.sink.loki.auth.bearer-token=env:BEARER",
        "--logs.sink.loki.tenant-id=team-a",
        `--logs.sink.loki.tls.ca-file=${CERT}`,
        `--logs.sink.loki.tls.cert-file=${CERT}`,
        `--logs.sink.loki.tls.key-file=${KEY}`,
        "--logs.sink.loki.static-labels=cluster=prod",
      ],
      { OTHER: "x", BEARER: "y" },
    );
    expect(issues).toEqual([]);
  });

  it("reads env: references from the env it is given", async () => {
    const argv = ["--logs.sink.type=http", "--logs.sink.http.url=http://x", "--logs.sink.http.headers=Authorization=env:SINK_TOKEN"];
    expect(lines(await check(argv, {}), "error")).toHaveLength(1);
    expect(await check(argv, { SINK_TOKEN: "Bearer t" })).toEqual([]);
  });

  it("creates, connects and writes nothing", async () => {
    const out = path.join(dir, "not-created", "sink.ndjson");
    const state = path.join(dir, "not-created-state", "x");
    const issues = await check([`--logs.checkpoint.dir=${state}`, "--logs.sink.type=file", `--logs.sink.file.path=${out}`]);
    expect(issues).toEqual([]);
    expect(fs.existsSync(path.dirname(out))).toBe(false);
    expect(fs.existsSync(path.dirname(state))).toBe(false);
  });
});

describe("warnings: settings that do nothing, insecure choices", () => {
  it("a setting of another sink than the chosen one", async () => {
    const issues = await check(["--logs.sink.loki.url=http://loki"]);
    expect(lines(issues, "error")).toEqual([]);
    expect(lines(issues, "warning")).toEqual([
      "config warning: logs.sink.loki.url (flag --logs.sink.loki.url): has no effect: logs.sink.type is stdout",
    ]);
  });

  it("log settings with the log pipeline off", async () => {
    const issues = await check(["--logs.enabled=false", "--logs.sink.type=http"]);
    expect(lines(issues, "error")).toEqual([]);
    expect(lines(issues, "warning")).toEqual([
      expect.stringMatching(/logs\.checkpoint\.dir .*has no effect: logs\.enabled is false/),
      expect.stringMatching(/logs\.sink\.type .*has no effect: logs\.enabled is false/),
    ]);
  });

  it.each([
    [
      ["--logs.sink.type=loki", "--logs.sink.loki.url=https://x", "--logs.sink.loki.tls.insecure-skip-verify"],
      /logs\.sink\.loki\.tls\.insecureSkipVerify .*is on: the server certificate is not verified/,
    ],
    [
      ["--logs.sink.type=http", "--logs.sink.http.url=https://x", "--logs.sink.http.tls.insecure-skip-verify"],
      /logs\.sink\.http\.tls\.insecureSkipVerify .*is on/,
    ],
    [
      ["--logs.sink.type=otlp", "--logs.sink.otlp.url=http://x", `--logs.sink.otlp.tls.ca-file=${CERT}`],
      /logs\.sink\.otlp\.tls .*is set but the URL is http/,
    ],
    [
      ["--logs.sink.type=loki", "--logs.sink.loki.url=http://x", "--logs.sink.loki.compression=none"],
      /logs\.sink\.loki\.compression .*has no effect: logs\.sink\.loki\.encoding is protobuf/,
    ],
    [
      ["--logs.sink.type=syslog", "--logs.sink.syslog.address=h:514", `--logs.sink.syslog.tls.ca-file=${CERT}`],
      /logs\.sink\.syslog\.tls\.caFile .*has no effect: logs\.sink\.syslog\.transport is tcp/,
    ],
    [["--web.basic-auth.password-file=/x"], /web\.basicAuth\.passwordFile .*has no effect: web\.basicAuth\.username is not set/],
    [
      ["--logs.sources.journald.units=kubelet"],
      /logs\.sources\.journald\.units .*has no effect: logs\.sources\.journald\.enabled is false/,
    ],
  ])("%j", async (argv, re) => {
    const issues = await check(argv);
    expect(lines(issues, "error")).toEqual([]);
    expect(lines(issues, "warning")).toEqual([expect.stringMatching(re)]);
  });
});

describe("check-config --offline", () => {
  it("reads no referenced file or variable, and says which it did not read", async () => {
    const issues = await check(
      [
        "check-config",
        "--offline",
        "--logs.checkpoint.dir=/nonexistent-root-only/state",
        "--logs.sink.type=http",
        "--logs.sink.http.url=https://x",
        "--logs.sink.http.headers=Authorization=env:UNSET,X-Key=file:/nonexistent/key",
        "--logs.sink.http.tls.ca-file=/nonexistent/ca.pem",
        "--web.basic-auth.username=u",
        "--web.basic-auth.password-file=/nonexistent/pw",
      ],
      {},
    );
    expect(lines(issues, "error")).toEqual([]);
    expect(lines(issues, "note").map((l) => l.replace(/ \(flag [^)]*\)/, ""))).toEqual([
      "config note: web.basicAuth.passwordFile: not read (--offline)",
      "config note: logs.checkpoint.dir: not checked (--offline): whether the directory is writable",
      "config note: logs.sink.http.headers.Authorization: not read (--offline): refers to an environment variable",
      "config note: logs.sink.http.headers.X-Key: not read (--offline): refers to a file",
      "config note: logs.sink.http.tls.caFile: not read (--offline)",
    ]);
  });

  it("still finds what needs no reading", async () => {
    const issues = await check([
      "check-config",
      "--offline",
      "--logs.sink.type=loki",
      "--logs.sink.loki.url=https://x",
      "--logs.sink.loki.tls.key-file=/x",
    ]);
    expect(lines(issues, "error")).toEqual([expect.stringMatching(/logs\.sink\.loki\.tls\.certFile\b.*must be set together/)]);
  });
});

describe("secrets in validation errors", () => {
  it("an invalid header name is not shown (it may be a header and its secret run together)", async () => {
    const cfg = file(
      "hdr.yaml",
      'logs:\n  sink:\n    type: http\n    http:\n      url: http://x\n      headers:\n        "Authorization: Bearer sk-live-PLANTED": x\n',
    );
    const errors = lines(await check(["--config", cfg]), "error");
    expect(errors).toEqual([expect.stringMatching(/logs\.sink\.http\.headers .*header 1 of 1: the name is not a valid HTTP header name/)]);
    expect(errors[0]).not.toContain("PLANTED");
  });

  it("a secret read from a file with a line break or a control character is not shown", async () => {
    const nl = file("nl", "Bearer sk-live-PLANTED\nmore\n");
    const ctl = file("ctl", "Bearer sk-live-PLANTED\u0001");
    const errors = lines(
      await check(["--logs.sink.type=otlp", "--logs.sink.otlp.url=http://x", `--logs.sink.otlp.headers=A=file:${nl},B=file:${ctl}`]),
      "error",
    );
    expect(errors).toEqual([
      expect.stringMatching(/logs\.sink\.otlp\.headers\.A .*value contains a line break/),
      expect.stringMatching(/logs\.sink\.otlp\.headers\.B .*characters not allowed in an HTTP header/),
    ]);
    for (const e of errors) expect(e).not.toContain("PLANTED");
  });

  it("the basic-auth password file's path is not shown (the key is secret)", async () => {
    const errors = lines(await check(["--web.basic-auth.username=u", "--web.basic-auth.password-file=/run/sk-live-PLANTED"]), "error");
    expect(errors).toEqual([expect.stringMatching(/web\.basicAuth\.passwordFile .*cannot read the file: ENOENT/)]);
    expect(errors[0]).not.toContain("PLANTED");
  });

  it("credentials in an invalid URL are redacted", async () => {
    const errors = lines(
      await check(["--logs.sink.type=http", "--logs.sink.http.url=https://user:sk-live-PLANTED@exa mple/?k=sk-live-PLANTED2"]),
      "error",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/"https:\/\/redacted@exa mple\/\?k=redacted" is not a URL/);
  });
});

describe("validateConfig on its own", () => {
  it("takes a config and an env", async () => {
    const { config } = loadConfig(
      [
        "--logs.sink.type=http",
        "--logs.sink.http.url=http://x",
        "--logs.sink.http.headers=A=env:TOKEN",
        `--logs.checkpoint.dir=${stateDir}`,
      ],
      {},
    );
    expect((await validateConfig(config, {})).map(formatIssue)).toEqual([
      "config error: logs.sink.http.headers.A: environment variable TOKEN is not set",
    ]);
    expect(await validateConfig(config, { TOKEN: "t" })).toEqual([]);
  });

  it("writableDirProblem", () => {
    expect(writableDirProblem(path.join(dir, "a", "b"))).toBeUndefined();
    expect(writableDirProblem(path.join(CERT, "sub"))).toBe("ENOTDIR");
    expect(writableDirProblem("/proc/nodetap/x")).toBe("ENOENT");
  });
});
