/**
 * The README's parts that tests run or check: the quick-start commands and the "ship log files"
 * example (its YAML, its Loki variant, its command), so the README cannot promise what the agent
 * does not do.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { REPO_ROOT } from "./agent-process.js";

export const README_PATH = path.join(REPO_ROOT, "README.md");
export const EXAMPLE_HEADING = "## Ship log files to an HTTP endpoint or Loki";
/** What the example's YAML names, replaced by a temporary directory and a local receiver in tests. */
export const EXAMPLE_GLOB = "/var/log/*.log";
export const EXAMPLE_URL_BASE = "http://127.0.0.1:8080";

export function readme(): string {
  return fs.readFileSync(README_PATH, "utf8");
}

/** The text of a level-2 section, heading included, up to the next level-2 heading. */
export function section(text: string, heading: string): string {
  const i = text.indexOf(`\n${heading}\n`);
  if (i < 0) throw new Error(`README has no "${heading}" section`);
  const j = text.indexOf("\n## ", i + heading.length + 1);
  return text.slice(i + 1, j < 0 ? undefined : j + 1);
}

/** The fenced code blocks of `text` with their info string (language). */
export function codeBlocks(text: string): Array<{ lang: string; body: string }> {
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], body: m[2] }));
}

export interface ShipExample {
  /** The YAML block as written. */
  yaml: string;
  /** The shell block that runs it. */
  command: string;
  /** The Loki URL the YAML's comment gives for `type: loki`. */
  lokiUrl: string;
}

export function shipExample(text = readme()): ShipExample {
  const blocks = codeBlocks(section(text, EXAMPLE_HEADING));
  const yaml = blocks.find((b) => b.lang === "yaml")?.body;
  const command = blocks.find((b) => b.lang === "sh")?.body;
  if (!yaml || !command) throw new Error(`"${EXAMPLE_HEADING}" needs a yaml block and an sh block`);
  const loki = /type: loki, loki: \{ url: (\S+) \}/.exec(yaml);
  if (!loki) throw new Error("the example's comment no longer says how to switch to Loki (type: loki, loki: { url: ... })");
  return { yaml, command, lokiUrl: loki[1] };
}

/** The example with its glob and URL pointed at `dir` and `urlBase`; throws when they are not in it. */
export function localizedExample(yaml: string, dir: string, urlBase: string): string {
  if (!yaml.includes(EXAMPLE_GLOB)) throw new Error(`the example no longer ships ${EXAMPLE_GLOB}`);
  if (!yaml.includes(EXAMPLE_URL_BASE)) throw new Error(`the example no longer posts to ${EXAMPLE_URL_BASE}`);
  return yaml.replaceAll(EXAMPLE_GLOB, path.join(dir, "*.log")).replaceAll(EXAMPLE_URL_BASE, urlBase);
}

/** The Loki variant the comment describes: `type: loki` and `loki.url` instead of `http`. */
export function lokiVariant(yaml: string, url: string): string {
  const doc = YAML.parse(yaml) as { logs: { sink: Record<string, unknown> } };
  delete doc.logs.sink.http;
  doc.logs.sink.type = "loki";
  doc.logs.sink.loki = { url };
  return YAML.stringify(doc);
}
