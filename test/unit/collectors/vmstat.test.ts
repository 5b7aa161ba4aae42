import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { collector, parseVmstat } from "../../../agent/metrics/collectors/vmstat.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, expectedFamilies, FIXTURE_ROOT, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();
const fixtureVmstat = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/vmstat"), "utf8");

describe("vmstat collector", () => {
  it("matches node_exporter's output for the fixture host (default fields)", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_vmstat_"));
    expect(families).toHaveLength(7);
    expect(diffFamilies(toParsed(await collectOnce(collector)), families)).toEqual([]);
  });

  it("selects fields with --collector.vmstat.fields (unanchored, like Go's MatchString)", async () => {
    const paths = hostTree({ "proc/vmstat": "nr_free_pages 5\npgfault 7\nthp_fault_alloc 1\n" });
    const out = await scrapeTree(collector, paths, ["--collector.vmstat.fields=free|thp"]);
    expect([...out.families.keys()].sort()).toEqual(["node_vmstat_nr_free_pages", "node_vmstat_thp_fault_alloc"]);
    expect(out.families.get("node_vmstat_nr_free_pages")?.desc).toMatchObject({
      type: "untyped",
      help: "/proc/vmstat information field nr_free_pages.",
    });
  });

  it("counts a malformed line, keeps the rest, and never emits a name twice", async () => {
    const paths = hostTree({ "proc/vmstat": "pgfault 7\npgfault 8\npswpin x\nbad-name 1\n" });
    const out = await scrapeTree(collector, paths, ["--collector.vmstat.fields=."]);
    expect(valuesOf(out, "node_vmstat_pgfault")).toEqual(new Map([["", 7]]));
    expect(valuesOf(out, "nodetap_collector_malformed_lines_total").get(`vmstat,${paths.proc("vmstat")}`)).toBe(2);
  });
});

describe("parseVmstat", () => {
  it("parses name value lines", () => {
    expect(parseVmstat("a 1\nb 2\n").entries).toEqual([
      { name: "a", value: 1 },
      { name: "b", value: 2 },
    ]);
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput(parseVmstat, fixtureVmstat);
  });
});
