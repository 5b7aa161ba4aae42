// Named sinks, routes and filters in the config file: check-config and run refuse the same
// mistakes (exit 2) with one line per problem naming the key, and accept a full example.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgent, type ExitResult } from "../../helpers/agent-process.js";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-routing-config-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const output = (r: ExitResult) => `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
const errorLines = (r: ExitResult) => r.stderr.split("\n").filter((l) => l.startsWith("nodetap: config error: "));

function configFile(name: string, logs: string): string {
  const file = path.join(dir, `${name}.yaml`);
  const sources = "  sources:\n    pods: { enabled: false }\n    host: { enabled: false }\n";
  fs.writeFileSync(file, `logs:\n  checkpoint: { dir: ${path.join(dir, "state")} }\n${sources}${logs}`);
  return file;
}

const cases: Array<{ what: string; logs: string; args?: string[]; errors: RegExp[] }> = [
  {
    what: "a sink name that is not a DNS label",
    logs: "  sinks:\n    My_Sink: { type: stdout }\n",
    errors: [/logs\.sinks\.My_Sink \(in .*\): is not a valid name; allowed: lower-case letters/],
  },
  {
    what: "a misspelt key in a named sink, and its missing url",
    logs: "  sinks:\n    loki: { type: loki, loki: { ulr: http://x } }\n",
    errors: [
      /logs\.sinks\.loki\.loki\.ulr \(in .*\): unknown key; allowed keys under logs\.sinks\.loki\.loki: url, /,
      /logs\.sinks\.loki\.loki\.url( \(in .*\))?: is required when logs\.sinks\.loki\.type is loki$/,
    ],
  },
  {
    what: "logs.sink together with logs.sinks",
    logs: "  sinks:\n    out: { type: stdout }\n",
    args: ["--logs.sink.type=http"],
    errors: [/logs\.sink\.type \(flag --logs\.sink\.type\): cannot be used together with logs\.sinks/],
  },
  {
    what: "a route to a sink that does not exist",
    logs: "  sinks:\n    out: { type: stdout }\n  routes:\n    - { sinks: [loki] }\n",
    errors: [/logs\.routes\[0\]\.sinks( \(in .*\))?: "loki" is not a configured sink; sinks: out$/],
  },
  {
    what: "a filter without a type and one of an unknown type",
    logs: "  filters:\n    - { match: { namespaces: [a] } }\n    - { type: grok }\n",
    errors: [
      /logs\.filters\[0\]\.type \(in .*\): is required; allowed: drop, keep, severity, json, logfmt, regex, fields, rateLimit, logToMetric/,
      /logs\.filters\[1\]\.type \(in .*\): "grok" is not allowed/,
    ],
  },
  {
    what: "an invalid regular expression in a filter",
    logs: "  filters:\n    - { type: regex, pattern: '(?<level>[a-z+' }\n",
    errors: [/logs\.filters\[0\]\.pattern \(in .*\): .* is not a valid regular expression/],
  },
  {
    what: "an invalid regular expression in a route's match",
    logs: "  routes:\n    - { sinks: [stdout], match: { messagePattern: '([' } }\n",
    errors: [/logs\.routes\[0\]\.match\.messagePattern \(in .*\): .* is not a valid regular expression/],
  },
  {
    what: "more sinks than a record's sink mask holds",
    logs: `  sinks:\n${Array.from({ length: 31 }, (_, i) => `    s${i}: { type: stdout }\n`).join("")}`,
    errors: [/logs\.sinks( \(in .*\))?: has 31 sinks; at most 30 are allowed$/],
  },
  {
    what: "filters given as a mapping",
    logs: "  filters: { type: drop }\n",
    errors: [/logs\.filters \(in .*\): expected a list, got a mapping/],
  },
];

describe("check-config and run refuse bad sinks, routes and filters with the same lines", () => {
  for (const c of cases) {
    it(c.what, async () => {
      const args = [`--config=${configFile(c.what.replace(/\W+/g, "-"), c.logs)}`, "--web.listen-address=127.0.0.1:0", ...(c.args ?? [])];
      const [check, run] = await Promise.all([
        runAgent(["check-config", ...args], { timeoutMs: 30_000 }),
        runAgent(["run", ...args], { timeoutMs: 30_000 }),
      ]);
      expect(check.code, output(check)).toBe(2);
      expect(run.code, output(run)).toBe(2);
      const lines = errorLines(check);
      expect(lines, output(check)).toHaveLength(c.errors.length);
      c.errors.forEach((re, i) => expect(lines[i]).toMatch(re));
      expect(errorLines(run)).toEqual(lines);
    });
  }

  it("accepts the example of docs/log-routing.md", async () => {
    const doc = fs.readFileSync(path.resolve(import.meta.dirname, "../../../docs/log-routing.md"), "utf8");
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const file = path.join(dir, "example.yaml");
    fs.writeFileSync(file, example!);
    const r = await runAgent(["check-config", "--offline", `--config=${file}`], { timeoutMs: 30_000 });
    expect(r.code, output(r)).toBe(0);
  });
});
