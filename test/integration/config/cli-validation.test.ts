// The real CLI (node --import tsx agent/main.ts): check-config refuses exactly what run refuses,
// with the same lines, all errors at once; and no error path prints a secret, whichever way
// (env, flag, file) and whichever command it was given with.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runAgent, startAgent, type ExitResult } from "../../helpers/agent-process.js";
import { configSchema } from "../../../agent/config-schema.js";
import { envNameOf, kebabFlagOf, walkFields, type Field, type Section } from "../../../agent/config/schema.js";

let dir: string;
let stateDir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-cli-validation-"));
  stateDir = path.join(dir, "state");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const output = (r: ExitResult) => `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
const errorLines = (r: ExitResult) => r.stderr.split("\n").filter((l) => l.startsWith("nodetap: config error: "));

function writeFile(name: string, content: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

interface Case {
  what: string;
  args?: string[];
  env?: Record<string, string>;
  yaml?: string;
  /** The error lines, in order (regexes against each whole line). */
  errors: RegExp[];
}

describe("check-config and run refuse the same configs, with the same lines", () => {
  const cases: Case[] = [
    {
      what: "http sink without url",
      args: ["--logs.sink.type=http"],
      errors: [/^nodetap: config error: logs\.sink\.http\.url: is required when logs\.sink\.type is http$/],
    },
    {
      what: "file sink without path",
      args: ["--logs.sink.type=file"],
      errors: [/logs\.sink\.file\.path: is required when logs\.sink\.type is file$/],
    },
    {
      what: "loki sink without url",
      env: { NODETAP_LOGS_SINK_TYPE: "loki" },
      errors: [/logs\.sink\.loki\.url: is required when logs\.sink\.type is loki$/],
    },
    {
      // run used to crash (exit 1, a stack) when it opened the file.
      what: "file sink path that cannot be written",
      args: ["--logs.sink.type=file", "--logs.sink.file.path=/proc/nodetap/out.ndjson"],
      errors: [/logs\.sink\.file\.path \(flag --logs\.sink\.file\.path\): \/proc\/nodetap\/out\.ndjson cannot be written \(ENOENT\)/],
    },
    {
      what: "url that is not a URL",
      args: ["--logs.sink.type=http", "--logs.sink.http.url=not-a-url"],
      errors: [/^nodetap: config error: logs\.sink\.http\.url \(flag --logs\.sink\.http\.url\): "not-a-url" is not a URL$/],
    },
    {
      what: "listen address 9100x",
      args: ["--web.listen-address=9100x"],
      errors: [/web\.listenAddress \(flag --web\.listen-address\): "9100x" is not host:port/],
    },
    {
      what: "listen port 99999",
      args: ["--web.listen-address=127.0.0.1:99999"],
      errors: [/web\.listenAddress .*port 99999 is out of range; allowed: 0-65535$/],
    },
    {
      what: "TLS certificate without key",
      args: ["--web.tls.cert-file=/etc/hostname"],
      errors: [/web\.tls \(flag --web\.tls\.cert-file\): certFile and keyFile must be set together$/],
    },
    {
      what: "header env:NAME with the variable unset",
      env: {
        NODETAP_LOGS_SINK_TYPE: "http",
        NODETAP_LOGS_SINK_HTTP_URL: "http://127.0.0.1:9/in",
        NODETAP_LOGS_SINK_HTTP_HEADERS: "Authorization=env:CLI_VALIDATION_UNSET",
      },
      errors: [
        /logs\.sink\.http\.headers\.Authorization \(env NODETAP_LOGS_SINK_HTTP_HEADERS\): environment variable CLI_VALIDATION_UNSET is not set$/,
      ],
    },
    {
      what: "sink TLS certificate without key",
      args: ["--logs.sink.type=loki", "--logs.sink.loki.url=https://127.0.0.1:9", "--logs.sink.loki.tls.cert-file=/etc/hostname"],
      errors: [/logs\.sink\.loki\.tls\.certFile \(flag --logs\.sink\.loki\.tls\.cert-file\): certFile and keyFile must be set together$/],
    },
    {
      what: "a file with three errors reports all three",
      yaml: "web:\n  maxRequests: lots\nlogs:\n  sink:\n    typ: http\n    type: elasticsearch\n",
      errors: [
        /web\.maxRequests \(in .*\): "lots" is not an integer/,
        /logs\.sink\.typ \(in .*\): unknown key; did you mean logs\.sink\.type\?/,
        /logs\.sink\.elasticsearch\.url: is required when logs\.sink\.type is elasticsearch$/,
      ],
    },
    {
      what: "pod metadata on without a node name",
      args: ["--kubernetes.metadata=on", "--kubernetes.api-server=https://127.0.0.1:6443"],
      env: { NODE_NAME: "" },
      errors: [/^nodetap: config error: kubernetes\.nodeName: empty, and NODE_NAME is not set/],
    },
    {
      what: "a sink's unknown metadata group",
      args: ["--logs.sink.kubernetes-metadata=pod_labels", "--logs.sink.kubernetes-metadata=labels"],
      errors: [/logs\.sink\.kubernetesMetadata .*unknown group "labels"; allowed: pod_labels, pod_annotations/],
    },
    {
      what: "unknown flag with a suggestion",
      args: ["--logs.sink.typ=http"],
      errors: [/^nodetap: config error: --logs\.sink\.typ: unknown flag; did you mean --logs\.sink\.type\?$/],
    },
  ];

  for (const c of cases) {
    it(c.what, async () => {
      // A listen address and state directory of its own, so that a run that wrongly passed could not collide.
      const base = [
        `--logs.checkpoint.dir=${stateDir}`,
        ...(c.args?.some((a) => a.startsWith("--web.listen-address")) ? [] : ["--web.listen-address=127.0.0.1:0"]),
      ];
      const args = [...base, ...(c.args ?? [])];
      if (c.yaml !== undefined) args.push(`--config=${writeFile(`${c.what.replace(/\W+/g, "-")}.yaml`, c.yaml)}`);
      const [check, run] = await Promise.all([
        runAgent(["check-config", ...args], { env: c.env, timeoutMs: 30_000 }),
        runAgent(["run", ...args], { env: c.env, timeoutMs: 30_000 }),
      ]);
      expect(check.code, output(check)).toBe(2);
      expect(run.code, output(run)).toBe(2);
      const lines = errorLines(check);
      expect(lines, output(check)).toHaveLength(c.errors.length);
      c.errors.forEach((re, i) => expect(lines[i]).toMatch(re));
      expect(run.stderr, output(run)).toBe(check.stderr);
      expect(check.stdout, output(check)).toBe("");
      expect(run.stdout, output(run)).toBe("");
    });
  }
});

describe("warnings do not fail", () => {
  const args = () => [
    `--logs.checkpoint.dir=${stateDir}`,
    "--no-logs.sources.pods.enabled",
    "--no-logs.sources.host.enabled",
    "--logs.sink.loki.url=http://127.0.0.1:9/loki",
  ];
  const warning = "config warning: logs.sink.loki.url (flag --logs.sink.loki.url): has no effect: logs.sink.type is stdout";

  it("check-config exits 0 and prints the warning", async () => {
    const r = await runAgent(["check-config", ...args()], { timeoutMs: 30_000 });
    expect(r.code, output(r)).toBe(0);
    expect(r.stdout).toBe("config OK\n");
    expect(r.stderr).toBe(`nodetap: ${warning}\n`);
  });

  it("run starts and logs the warning", async () => {
    const agent = await startAgent({ logs: true, args: args() });
    try {
      const line = agent.findLog(warning);
      expect(line, agent.describe()).toBeDefined();
      expect(line?.level).toBe(40);
    } finally {
      await agent.stop();
    }
  });
});

describe("check-config --offline", () => {
  it("checks a config whose secrets exist only where it is deployed, and says what it did not read", async () => {
    const cfg = writeFile(
      "deployed.yaml",
      "logs:\n  sink:\n    type: http\n    http:\n      url: https://logs.example.com/in\n      headers:\n        Authorization: env:SINK_AUTHORIZATION\n      tls:\n        caFile: /etc/nodetap/tls/ca.crt\n",
    );
    const args = ["check-config", `--config=${cfg}`, `--logs.checkpoint.dir=${stateDir}`];
    const online = await runAgent(args, { timeoutMs: 30_000 });
    expect(online.code, output(online)).toBe(2);
    expect(errorLines(online)).toHaveLength(2);
    const offline = await runAgent([...args, "--offline"], { timeoutMs: 30_000 });
    expect(offline.code, output(offline)).toBe(0);
    expect(offline.stdout).toContain(`config OK: ${cfg}`);
    expect(offline.stdout).toMatch(
      /^note: logs\.sink\.http\.headers\.Authorization \(in .*\): not read \(--offline\): refers to an environment variable$/m,
    );
    expect(offline.stdout).toMatch(/^note: logs\.sink\.http\.tls\.caFile \(in .*\): not read \(--offline\)$/m);
    const run = await runAgent(["run", "--offline", `--config=${cfg}`], { timeoutMs: 30_000 });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--offline: is a check-config option");
  });
});

// ---------------------------------------------------------------------------------------------
// Secrets: a planted string in every secret-bearing key (the schema's `secret` fields, and URLs
// with credentials), given bad in each way the CLI can be given it; it must never be printed.

const SECRET = `sk-live-${crypto.randomBytes(6).toString("hex")}`;

interface Key {
  path: string[];
  field: Field<unknown>;
}

const secretKeys: Key[] = [];
const urlKeys: Key[] = [];
walkFields(configSchema as Section, (p, field) => {
  if (field.secret) secretKeys.push({ path: p, field });
  else if (p[p.length - 1] === "url") urlKeys.push({ path: p, field });
});

type Form = "env" | "flag" | "file";
type Value = string | Record<string, string>;

/** One config given in one form: argv and env for the CLI. */
function render(values: Array<[string[], unknown]>, form: Form, name: string): { args: string[]; env: Record<string, string> } {
  if (values.length === 0) return { args: [], env: {} };
  const text = (v: unknown) =>
    typeof v === "string"
      ? v
      : Object.entries(v as Record<string, string>)
          .map(([k, x]) => `${k}=${x}`)
          .join(",");
  if (form === "env") return { args: [], env: Object.fromEntries(values.map(([p, v]) => [envNameOf(p), text(v)])) };
  if (form === "flag") return { args: values.map(([p, v]) => `--${kebabFlagOf(p)}=${text(v)}`), env: {} };
  const doc: Record<string, unknown> = {};
  for (const [p, v] of values) {
    let obj = doc;
    for (const part of p.slice(0, -1)) obj = (obj[part] ??= {}) as Record<string, unknown>;
    obj[p[p.length - 1]] = v;
  }
  return { args: [`--config=${writeFile(`${name}-${form}.yaml`, stringify(doc))}`], env: {} };
}

async function expectNoSecret(
  values: Array<[string[], unknown]>,
  form: Form,
  name: string,
  extraArgs: string[],
  mustName: string[],
): Promise<void> {
  const { args, env } = render(values, form, name);
  const all = [`--logs.checkpoint.dir=${stateDir}`, "--web.listen-address=127.0.0.1:0", ...extraArgs, ...args];
  const commands = ["check-config", "run"];
  const results = await Promise.all(commands.map((command) => runAgent([command, ...all], { env, timeoutMs: 30_000 })));
  results.forEach((r, i) => {
    const what = `${commands[i]} ${form}`;
    expect(r.stdout + r.stderr, `${what}\n${output(r)}`).not.toContain(SECRET);
    // Not vacuous: it failed, on the keys that hold the secret.
    expect(r.code, `${what}\n${output(r)}`).toBe(2);
    for (const key of mustName) expect(r.stderr, `${what}: ${key}\n${output(r)}`).toContain(key);
  });
}

describe("no error path prints a secret", () => {
  it("finds the secret-bearing keys in the schema", () => {
    expect(secretKeys.map((k) => k.path.join("."))).toEqual(
      expect.arrayContaining([
        "logs.sink.http.headers",
        "logs.sink.loki.auth.password",
        "logs.sink.loki.tenantId",
        "logs.sink.elasticsearch.auth.apiKey",
        "web.basicAuth.passwordFile",
      ]),
    );
    expect(urlKeys.map((k) => k.path.join("."))).toEqual([
      "logs.sink.http.url",
      "logs.sink.loki.url",
      "logs.sink.elasticsearch.url",
      "logs.sink.otlp.url",
    ]);
  });

  // Read stage: a value of the wrong shape. From env and flags only maps can be malformed (every
  // string is a string); in a file every key can be given a list.
  for (const form of ["env", "flag", "file"] as const) {
    it(`malformed values, ${form}`, async () => {
      const values: Array<[string[], unknown]> = [];
      const named: string[] = [];
      for (const k of [...secretKeys, ...urlKeys]) {
        if (form === "file") {
          const bad =
            k.field.kind === "stringMap"
              ? { Authorization: [`Bearer ${SECRET}`] }
              : k.path.at(-1) === "url"
                ? [`https://user:${SECRET}@h/?token=${SECRET}`]
                : [SECRET];
          values.push([k.path, bad]);
        } else if (k.field.kind === "stringMap") {
          values.push([k.path, `X-Ok=1,Authorization: Bearer ${SECRET}`]);
        } else {
          continue;
        }
        named.push(k.path.join("."));
      }
      await expectNoSecret(values, form, "malformed", [], named);
    });
  }

  // Validation stage: well-formed values the checks refuse, for each sink in turn (only the chosen
  // sink is checked), and the web server's secret-bearing key.
  const sinks = ["http", "loki", "elasticsearch", "otlp"] as const;
  for (const sink of sinks) {
    for (const form of ["env", "flag", "file"] as const) {
      it(`refused values, ${sink} sink, ${form}`, async () => {
        const values: Array<[string[], unknown]> = [
          [["logs", "sink", "type"], sink],
          [["web", "basicAuth", "username"], "u"],
          [["web", "basicAuth", "passwordFile"], `/nonexistent/${SECRET}`],
        ];
        const named = ["web.basicAuth.passwordFile", `logs.sink.${sink}.url`, `logs.sink.${sink}.headers`];
        // An invalid URL (a space) with credentials in its user info and query.
        values.push([["logs", "sink", sink, "url"], `https://user:${SECRET}@exa mple/?token=${SECRET}`]);
        // A header name and its secret run together, and a secret value with a line break.
        const headers: Value = { [`Authorization Bearer ${SECRET}`]: "x" };
        if (form === "file") headers["X-Token"] = `${SECRET}\nmore`;
        values.push([["logs", "sink", sink, "headers"], headers]);
        for (const k of secretKeys) {
          const [, , s, section, leaf] = k.path;
          if (s !== sink || section !== "auth") continue;
          // Every auth kind at once (refused together), each with a line break (refused alone).
          values.push([k.path, `${SECRET}\n${leaf}`]);
          named.push(k.path.join("."));
        }
        if (sink === "loki") {
          values.push([["logs", "sink", "loki", "tenantId"], `${SECRET}\nx`]);
          named.push("logs.sink.loki.tenantId");
        }
        await expectNoSecret(values, form, `refused-${sink}`, [], named);
      });
    }
  }

  it("words after a secret-bearing flag (an unquoted secret with spaces)", async () => {
    await expectNoSecret(
      [],
      "flag",
      "stray",
      ["--logs.sink.loki.auth.bearer-token", "Bearer", SECRET, "--logs.sink.http.headers", "Authorization:", "Bearer", SECRET],
      ["unexpected argument"],
    );
  });

  it("a YAML syntax error next to a secret", async () => {
    // The parser's second message quotes the token: 'Unexpected scalar token in YAML stream: "sk-live-..."'.
    const cfg = writeFile("syntax.yaml", `logs: 1\n]${SECRET}\n`);
    await expectNoSecret([], "file", "syntax", [`--config=${cfg}`], ["invalid YAML"]);
  });
});
