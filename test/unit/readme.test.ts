// The README is the first screen: what nodetap is, the two commands, how to ship a log file, how to
// deploy, where the rest is. It stays short (the references live in docs/, see docs.test.ts), and
// its example is a configuration the agent accepts (test/integration/docs/readme-example.test.ts
// runs it against a receiver).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { loadConfig } from "../../agent/config/load.js";
import { VERSION } from "../../agent/version.js";
import { codeBlocks, EXAMPLE_GLOB, lokiVariant, readme, README_PATH, section, shipExample } from "../helpers/readme.js";

const pkg = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
  engines: { node: string };
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-readme-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("README", () => {
  it("is short: well under 10 KB, no generated reference in it", () => {
    expect(fs.statSync(README_PATH).size).toBeLessThan(9 * 1024);
    expect(readme()).not.toMatch(/<!-- [a-z-]+:start -->/);
  });

  it("starts with the two commands: run and test", () => {
    const text = readme();
    const h2 = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(h2[0]).toBe("Quick start");
    const commands = codeBlocks(section(text, "## Quick start"))[0].body.split("\n").filter(Boolean);
    expect(commands).toHaveLength(2);
    expect(commands[0]).toMatch(/^npm ci && npm start -- --web\.listen-address=127\.0\.0\.1:9100 +# run the agent/);
    expect(commands[1]).toMatch(/^npm ci && npm test +# run the tests/);
  });

  it("says how the tests treat missing peers, with the facts that hold", () => {
    const quickStart = section(readme(), "## Quick start");
    for (const fact of ["scripts/test-programs.txt", "bash .ci/run", "CI=true", "skips those suites", "~/.cache/nodetap-testenv"]) {
      expect(quickStart).toContain(fact);
    }
    expect(fs.existsSync(path.join(path.dirname(README_PATH), "scripts/test-programs.txt"))).toBe(true);
    expect(fs.existsSync(path.join(path.dirname(README_PATH), ".ci/run"))).toBe(true);
  });

  it("asks for the Node.js version package.json's engines claims", () => {
    const min = /^>=(\d+(?:\.\d+)*)$/.exec(pkg.engines.node)?.[1];
    expect(min, pkg.engines.node).toBeDefined();
    expect(section(readme(), "## Quick start")).toContain(`Node.js ≥ ${min} and npm`);
  });

  it("ships /var/log/*.log in about 10 lines, with a command that uses the file", () => {
    const { yaml, command } = shipExample();
    expect(yaml.trimEnd().split("\n").length + command.trimEnd().split("\n").length).toBeLessThanOrEqual(11);
    const file = /^# (\S+\.yaml):/.exec(yaml)?.[1];
    expect(file, "the YAML's first line names its file").toBeDefined();
    expect(command).toContain(`--config ${file}`);
    const doc = YAML.parse(yaml) as { logs: { sources: { files: { include: string[] } }; sink: { type: string } } };
    expect(doc.logs.sources.files.include).toEqual([EXAMPLE_GLOB]);
    expect(doc.logs.sink.type).toBe("http");
  });

  it("the example and its Loki variant are configurations the agent accepts", () => {
    const { yaml, lokiUrl } = shipExample();
    for (const [name, text] of [
      ["http.yaml", yaml],
      ["loki.yaml", lokiVariant(yaml, lokiUrl)],
    ]) {
      const file = path.join(tmp, name);
      fs.writeFileSync(file, text);
      const { config } = loadConfig(["--config", file], {});
      expect(config.logs.sources.files.include).toEqual([EXAMPLE_GLOB]);
      expect(config.logs.sources.pods.enabled).toBe(false);
      expect(config.logs.sources.host.enabled).toBe(false);
      if (name === "loki.yaml") expect([config.logs.sink.type, config.logs.sink.loki.url]).toEqual(["loki", lokiUrl]);
      else expect([config.logs.sink.type, config.logs.sink.http.url]).toEqual(["http", "http://127.0.0.1:8080/ingest"]);
    }
  });
});

describe("version", () => {
  it("equals package.json's", () => {
    expect(VERSION).toBe(pkg.version);
  });
});
