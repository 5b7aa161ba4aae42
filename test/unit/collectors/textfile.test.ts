import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, readTextfile } from "../../../agent/metrics/collectors/textfile.js";
import type { FamilyCollector } from "../../../agent/metrics/model.js";
import { parseExposition, type ParsedFamily } from "../../helpers/exposition-parse.js";
import { collectOnce, diffFamilies, e2eConfig, FIXTURE_ROOT, sameValue, toParsed } from "../../helpers/fixtures.js";

const TEXTFILE_FIXTURES = path.join(FIXTURE_ROOT, "textfile");
const MTIME = "node_textfile_mtime_seconds";

/** Runs the collector once with exactly these directories (the E2E flags' directory replaced). */
async function collectDirs(directories: string[]): Promise<FamilyCollector> {
  const config = e2eConfig();
  (config.metrics.collectors.textfile as { directory: string[] }).directory = directories;
  return collectOnce(collector, config);
}

/** Our output with fixture paths written the way node_exporter's test saw them (relative to its collector/ dir). */
function relativized(out: FamilyCollector, prefix: string): Map<string, ParsedFamily> {
  const rewrite = (s: string) => s.split(TEXTFILE_FIXTURES).join(prefix);
  const result = new Map<string, ParsedFamily>();
  for (const [name, family] of toParsed(out)) {
    const samples = new Map([...family.samples].map(([key, value]) => [rewrite(key), value]));
    result.set(name, { ...family, help: family.help === undefined ? undefined : rewrite(family.help), samples });
  }
  return result;
}

/** Differences between expected and actual families (all of them); mtime values are not compared. */
function diffAll(expected: Map<string, ParsedFamily>, actual: Map<string, ParsedFamily>): string[] {
  const problems: string[] = [];
  for (const [name, exp] of expected) {
    const act = actual.get(name);
    if (act === undefined) {
      problems.push(`${name}: missing`);
      continue;
    }
    if (exp.type !== act.type) problems.push(`${name}: type ${act.type}, expected ${exp.type}`);
    if (exp.help !== act.help) problems.push(`${name}: help ${JSON.stringify(act.help)}, expected ${JSON.stringify(exp.help)}`);
    for (const [key, value] of exp.samples) {
      if (!act.samples.has(key)) problems.push(`missing series ${key}`);
      else if (name !== MTIME && !sameValue(act.samples.get(key)!, value))
        problems.push(`${key}: value ${act.samples.get(key)}, expected ${value}`);
    }
    for (const key of act.samples.keys()) if (!exp.samples.has(key)) problems.push(`extra series ${key}`);
  }
  for (const name of actual.keys()) if (!expected.has(name)) problems.push(`extra family ${name}`);
  return problems;
}

describe("textfile collector", () => {
  it("matches node_exporter's output for the fixture host (textfile/two_metric_files/)", async () => {
    const out = relativized(await collectOnce(collector), "collector/fixtures/textfile");
    const mtime = out.get(MTIME);
    out.delete(MTIME); // varies run to run; left out of e2e-output.txt
    expect([...(mtime?.samples.keys() ?? [])]).toEqual([
      'node_textfile_mtime_seconds{file="collector/fixtures/textfile/two_metric_files/metrics1.prom"}',
      'node_textfile_mtime_seconds{file="collector/fixtures/textfile/two_metric_files/metrics2.prom"}',
    ]);
    const families = ["node_textfile_scrape_error", "testmetric1_1", "testmetric1_2", "testmetric2_1", "testmetric2_2"];
    expect(diffFamilies(out, families)).toEqual([]);
  });

  // Each NAME.out is node_exporter's complete output for directory NAME (node_exporter's textfile_test.go).
  const cases: Array<[string, string]> = fs
    .readdirSync(TEXTFILE_FIXTURES)
    .filter((f) => f.endsWith(".out"))
    .map((f) => f.slice(0, -4))
    .map((name) => [name, name === "glob_extra_dimension" ? "*_extra_dimension" : name]);

  it("has all of node_exporter's textfile cases", () => {
    expect(cases.map(([name]) => name).sort()).toEqual([
      "client_side_timestamp",
      "different_metric_types",
      "glob_extra_dimension",
      "histogram",
      "histogram_extra_dimension",
      "inconsistent_metrics",
      "metrics_merge_different_help",
      "metrics_merge_empty_help",
      "metrics_merge_no_help",
      "metrics_merge_same_help",
      "no_metric_files",
      "nonexistent_path",
      "summary",
      "summary_extra_dimension",
      "two_metric_files",
    ]);
  });

  it.each(cases)("gives node_exporter's output for textfile/%s", async (name, directory) => {
    const expected = parseExposition(fs.readFileSync(path.join(TEXTFILE_FIXTURES, `${name}.out`), "utf8"));
    const actual = relativized(await collectDirs([path.join(TEXTFILE_FIXTURES, directory)]), "fixtures/textfile");
    expect(diffAll(expected, actual)).toEqual([]);
  });

  it("emits only node_textfile_scrape_error 0 without directories", async () => {
    const out = toParsed(await collectDirs([]));
    expect([...out.keys()]).toEqual(["node_textfile_scrape_error"]);
    expect(out.get("node_textfile_scrape_error")!.samples.get("node_textfile_scrape_error{}")).toBe(0);
  });
});

describe("textfile collector on edge cases", () => {
  let dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    dirs = [];
  });
  const tempDir = (files: Record<string, string | Buffer>): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-textfile-"));
    dirs.push(dir);
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    return dir;
  };
  const scrape = async (dir: string) => toParsed(await collectDirs([dir]));
  const scrapeError = (out: Map<string, ParsedFamily>) =>
    out.get("node_textfile_scrape_error")!.samples.get("node_textfile_scrape_error{}");

  it("keeps the first of two families with one name but different types, without a scrape error", async () => {
    const out = await scrape(tempDir({ "a.prom": "# TYPE x counter\nx 1\n", "b.prom": '# TYPE x gauge\nx{b="1"} 2\n' }));
    expect(out.get("x")?.type).toBe("counter");
    expect([...out.get("x")!.samples]).toEqual([["x{}", 1]]);
    expect(scrapeError(out)).toBe(0);
  });

  it("keeps the first of duplicate series across files", async () => {
    const out = await scrape(tempDir({ "a.prom": 'y{l="v"} 1\n', "b.prom": 'y{l="v"} 2\ny{l="w"} 3\n' }));
    expect([...out.get("y")!.samples]).toEqual([
      ['y{l="v"}', 1],
      ['y{l="w"}', 3],
    ]);
  });

  it("rejects a whole file on a syntax error, a reserved label name or invalid UTF-8 in a label value", async () => {
    const dir = tempDir({
      "bad.prom": "good 1\nbad{\n",
      "reserved.prom": 'r{__x="1"} 1\n',
      "utf8.prom": Buffer.concat([Buffer.from('u{l="'), Buffer.from([0xff]), Buffer.from('"} 1\n')]),
      "ok.prom": "# HELP ok help with \\\\ and \\n\nok 1\n",
    });
    const out = await scrape(dir);
    expect([...out.keys()].sort()).toEqual(["node_textfile_mtime_seconds", "node_textfile_scrape_error", "ok"]);
    expect(out.get("ok")!.help).toBe("help with \\ and \n");
    expect(scrapeError(out)).toBe(1);
    expect([...out.get(MTIME)!.samples.keys()]).toEqual([`node_textfile_mtime_seconds{file=${JSON.stringify(path.join(dir, "ok.prom"))}}`]);
  });

  it("adds the +Inf bucket node_exporter's client library adds, and formats bounds like Go", async () => {
    const out = await scrape(
      tempDir({ "h.prom": '# TYPE h histogram\nh_bucket{le="1e6"} 1\nh_bucket{le="0.00001"} 0\nh_sum 3\nh_count 2\n' }),
    );
    expect([...out.get("h")!.samples]).toEqual([
      ['h_bucket{le="1e-05"}', 0],
      ['h_bucket{le="1e+06"}', 1],
      ['h_bucket{le="+Inf"}', 2],
      ["h_sum{}", 3],
      ["h_count{}", 2],
    ]);
  });

  it("treats an unreadable directory or a bad glob as an error, and expands globs", async () => {
    const missing = await collectDirs([path.join(os.tmpdir(), "nodetap-no-such-dir")]);
    expect(scrapeError(toParsed(missing))).toBe(1);
    expect(scrapeError(toParsed(await collectDirs(["/tmp/[unclosed"])))).toBe(1);
    const dir = tempDir({});
    fs.mkdirSync(path.join(dir, "one"));
    fs.mkdirSync(path.join(dir, "two"));
    fs.writeFileSync(path.join(dir, "one", "a.prom"), "a 1\n");
    fs.writeFileSync(path.join(dir, "two", "b.prom"), "b 2\n");
    const globbed = toParsed(await collectDirs([path.join(dir, "[ot]*")]));
    expect(globbed.has("a") && globbed.has("b")).toBe(true);
    expect(scrapeError(globbed)).toBe(0);
  });

  it("refuses files over the size limit and non-regular files with a CollectorError", async () => {
    const dir = tempDir({ "big.prom": `big 1\n${"# padding\n".repeat(20)}` });
    await expect(readTextfile(path.join(dir, "big.prom"), 100)).rejects.toThrow(/larger than 100 bytes/);
    fs.mkdirSync(path.join(dir, "dir.prom"));
    await expect(readTextfile(path.join(dir, "dir.prom"))).rejects.toBeInstanceOf(CollectorError);
    await expect(readTextfile(path.join(dir, "absent.prom"))).rejects.toThrow(/failed to open textfile data file/);
    expect((await readTextfile(path.join(dir, "big.prom"))).families.map((f) => f.name)).toEqual(["big"]);
  });
});
