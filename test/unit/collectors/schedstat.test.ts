import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { collector, parseSchedstat } from "../../../agent/metrics/collectors/schedstat.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, FIXTURE_ROOT, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees } from "../../helpers/host-tree.js";

useHostTrees();
const fixtureSchedstat = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/schedstat"), "utf8");

describe("schedstat collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    const families = ["node_schedstat_running_seconds_total", "node_schedstat_timeslices_total", "node_schedstat_waiting_seconds_total"];
    expect(diffFamilies(toParsed(await collectOnce(collector)), families)).toEqual([]);
  });

  it("emits nothing and succeeds without /proc/schedstat (CONFIG_SCHEDSTATS off)", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
  });
});

describe("parseSchedstat", () => {
  it("reads fields 7-9 of the cpuN lines and ignores domain lines", () => {
    const { cpus, problems } = parseSchedstat(fixtureSchedstat);
    expect(cpus).toEqual([
      { cpu: "0", runningNanoseconds: 2045936778163039, waitingNanoseconds: 343796328169361, timeslices: 4767485306 },
      { cpu: "1", runningNanoseconds: 1904686152592476, waitingNanoseconds: 364107263788241, timeslices: 5145567945 },
    ]);
    expect(problems.count).toBe(0);
  });

  it("reports cpu lines with too few or non-numeric fields", () => {
    const { cpus, problems } = parseSchedstat("cpu0 1 2 3\ncpuA 1 2 3 4 5 6 7 8 9\ncpu1 1 2 3 4 5 6 7 8 x\n");
    expect(cpus).toEqual([]);
    expect(problems.count).toBe(3);
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput(parseSchedstat, fixtureSchedstat);
  });
});
