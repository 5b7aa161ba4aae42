// docs/metrics.md lists every metric family nodetap serves. The real agent is started the way the
// generator starts it (node_exporter's recorded tree; this host with filesystem, uname, timex and
// the log pipeline) and scraped: a family it serves that the page lacks, a row for a family it no
// longer serves, or a changed type fails here. `npm run docs` rewrites the page.
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COLLECTORS } from "../../../agent/metrics/collectors/index.js";
import {
  METRICS_DOC,
  documentedFamilies,
  isUserTextfileFamily,
  metricsModel,
  renderMetricsDoc,
  scrapeRealProcess,
  type Scrape,
} from "../../../scripts/gen-docs.js";
import { removeTempDirs } from "../../helpers/agent-process.js";

afterAll(removeTempDirs);

describe("docs/metrics.md against the running agent", () => {
  let scrapes: Scrape[];
  let failed: Set<string>;

  beforeAll(async () => {
    scrapes = await scrapeRealProcess();
    failed = new Set(scrapes.flatMap((s) => [...s.success].filter(([, ok]) => !ok).map(([c]) => c)));
  }, 180_000);

  it("ran every collector, and each one succeeded (timex may lack its addon here)", () => {
    const ran = new Set(scrapes.flatMap((s) => [...s.success.keys()]));
    expect(COLLECTORS.map((c) => c.name).filter((c) => !ran.has(c))).toEqual([]);
    expect(
      [...failed].filter((c) => c !== "timex"),
      JSON.stringify(scrapes.map((s) => Object.fromEntries(s.errors))),
    ).toEqual([]);
  });

  it("lists every family the agent serves, with its type", () => {
    const documented = documentedFamilies(fs.readFileSync(METRICS_DOC, "utf8"));
    const problems: string[] = [];
    for (const s of scrapes) {
      for (const f of s.families.values()) {
        if (isUserTextfileFamily(f) || (f.collector && failed.has(f.collector))) continue;
        const type = documented.get(f.name);
        if (type === undefined) problems.push(`${f.name} (${f.collector ?? "agent"}) is served but not in docs/metrics.md`);
        else if (type !== f.type) problems.push(`${f.name}: served as ${f.type}, documented as ${type}`);
      }
    }
    expect(problems, "run `npm run docs`").toEqual([]);
    // The families the old README table missed are here.
    for (const name of ["node_network_receive_bytes_total", "node_scrape_collector_success", "nodetap_log_records_sent_total"]) {
      expect(documented.has(name), name).toBe(true);
    }
  });

  it("is exactly what the generator makes from these scrapes (no stale rows)", async () => {
    const text = fs.readFileSync(METRICS_DOC, "utf8");
    const regenerated = await renderMetricsDoc(text, await metricsModel(scrapes));
    const [was, now] = [documentedFamilies(text), documentedFamilies(regenerated)];
    expect(
      [...was.keys()].filter((n) => !now.has(n)),
      "documented but no longer served",
    ).toEqual([]);
    expect(regenerated === text, "docs/metrics.md is out of date: run `npm run docs`").toBe(true);
  });
});
