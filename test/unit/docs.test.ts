// docs/ holds the references the README links to. The configuration reference is generated from
// the schema (run `npm run docs` to update); every relative link in the project's markdown must
// reach an existing file and heading; the README links every page of docs/. The metric families
// are checked against the running agent in test/integration/docs/metrics-doc.test.ts.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { COLLECTORS } from "../../agent/metrics/collectors/index.js";
import { CONFIGURATION_DOC, METRICS_DOC, renderConfigurationDoc } from "../../scripts/gen-docs.js";
import { REPO_ROOT } from "../helpers/agent-process.js";
import { readme } from "../helpers/readme.js";

const DOCS = path.join(REPO_ROOT, "docs");
const docPages = () => fs.readdirSync(DOCS).filter((f) => f.endsWith(".md"));
/** The project's own markdown: README, docs/, and the READMEs under agent/ and chart/. */
const MARKDOWN = () => [
  "README.md",
  ...docPages().map((f) => `docs/${f}`),
  "chart/README.md",
  ...fs
    .readdirSync(path.join(REPO_ROOT, "agent"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .map((f) => `agent/${f}`),
];

/** GitHub's heading anchor: lower case, punctuation but - and _ dropped, spaces to -, -N for repeats. */
export function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(/^```[\s\S]*?^```$/gm, "");
  for (const m of text.matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = m[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

describe("docs/configuration.md", () => {
  it("its reference matches the config schema (run `npm run docs` to update)", () => {
    const text = fs.readFileSync(CONFIGURATION_DOC, "utf8");
    expect(renderConfigurationDoc(text) === text, "docs/configuration.md is out of date: run `npm run docs`").toBe(true);
  });
});

describe("docs/metrics.md", () => {
  it("names the collectors that are on by default and those that are off", () => {
    const text = fs.readFileSync(METRICS_DOC, "utf8");
    const listed = /^Default on, as in node_exporter [\d.]+: ([^.]+)\./m
      .exec(text)?.[1]
      .split(/,\s*/)
      .map((s) => s.trim());
    expect(listed).toEqual(
      COLLECTORS.filter((c) => c.defaultEnabled)
        .map((c) => c.name)
        .sort(),
    );
    const off = /^Default off, as in node_exporter [\d.]+ \([^)]*\): ([^.]+)\./m
      .exec(text)?.[1]
      .split(/,\s*/)
      .map((s) => s.trim());
    expect(off).toEqual(
      COLLECTORS.filter((c) => !c.defaultEnabled)
        .map((c) => c.name)
        .sort(),
    );
  });
});

describe("markdown links", () => {
  it("every relative link reaches a file, and a heading where it names one", () => {
    const broken: string[] = [];
    for (const file of MARKDOWN()) {
      const text = fs.readFileSync(path.join(REPO_ROOT, file), "utf8").replace(/^```[\s\S]*?^```$/gm, "");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/.test(target)) continue;
        const [rel, anchor] = target.split("#");
        const resolved = rel === "" ? path.join(REPO_ROOT, file) : path.resolve(path.dirname(path.join(REPO_ROOT, file)), rel);
        if (!fs.existsSync(resolved)) {
          broken.push(`${file}: ${target} (no such file)`);
          continue;
        }
        if (anchor !== undefined && !anchors(fs.readFileSync(resolved, "utf8")).has(anchor)) {
          broken.push(`${file}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it("the README links every page of docs/", () => {
    const text = readme();
    expect(docPages().filter((f) => !text.includes(`](docs/${f})`))).toEqual([]);
  });

  it("nothing points at the README for what moved to docs/", () => {
    // The references that were README sections: its configuration table, metrics table, the log
    // pipeline's design (agent/logs/README.md), the benchmarks and the architecture.
    const stale: string[] = [];
    for (const file of MARKDOWN()) {
      const text = fs.readFileSync(path.join(REPO_ROOT, file), "utf8");
      for (const m of text.matchAll(/README(?:\.md)?(?:'s)?\s*(?:#|\()?(configuration|metrics|benchmarks|architecture|logs)\b/gi)) {
        stale.push(`${file}: ${m[0]}`);
      }
      if (/\(agent\/logs\/README\.md\)/.test(text) && file !== "agent/logs/README.md") stale.push(`${file}: agent/logs/README.md`);
    }
    expect(stale).toEqual([]);
  });
});
