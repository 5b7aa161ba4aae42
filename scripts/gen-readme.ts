/**
 * Regenerates the README's generated sections (configuration reference, metrics reference) from
 * the config schema and the collectors themselves. `npm run docs` writes them; a unit test fails
 * when the README is out of date.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { markdownReference } from "../agent/config/docs.js";
import { COLLECTORS } from "../agent/metrics/collectors/index.js";
import { collectOnce, e2eConfig } from "../test/helpers/fixtures.js";
import { loadConfig } from "../agent/config/load.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const README = path.join(root, "README.md");

export function replaceSection(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README lacks the ${start} ... ${end} markers`);
  return text.slice(0, i + start.length) + "\n" + body + text.slice(j);
}

/** Families each collector emits, from a run on node_exporter's fixture tree (filesystem and uname on this host). */
export async function metricsReference(): Promise<string> {
  const fixture = e2eConfig();
  const live = loadConfig(["--collector.filesystem", "--collector.uname"], {}).config;
  const rows = ["| collector | metric | type | help |", "|---|---|---|---|"];
  for (const def of COLLECTORS) {
    const config = def.name === "filesystem" || def.name === "uname" ? live : fixture;
    const out = await collectOnce(def, config);
    const families = [...out.families.values()].sort((a, b) => a.desc.name.localeCompare(b.desc.name));
    for (const f of families) {
      if (!f.desc.name.startsWith("node_")) continue; // textfile: the fixture's own test metrics
      rows.push(`| ${def.name} | \`${f.desc.name}\` | ${f.desc.type} | ${f.desc.help.replace(/\|/g, "\\|").replace(/\n/g, " ")} |`);
    }
  }
  return rows.join("\n") + "\n";
}

export async function renderReadme(text: string): Promise<string> {
  let out = replaceSection(text, "config-reference", markdownReference());
  out = replaceSection(out, "metrics-reference", await metricsReference());
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const text = fs.readFileSync(README, "utf8");
  fs.writeFileSync(README, await renderReadme(text));
  console.log("README.md regenerated");
}
