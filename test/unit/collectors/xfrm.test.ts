import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { XFRM_COUNTER_NAMES, collector, parseXfrmStat } from "../../../agent/metrics/collectors/xfrm.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_xfrm_"));
const SEED = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/xfrm_stat"), "utf8");

describe("xfrm collector", () => {
  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
  });

  it("matches node_exporter's output for the fixture host (a file without a final newline)", async () => {
    expect(FAMILIES).toHaveLength(28);
    expect(SEED.endsWith("\n")).toBe(false);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("emits nothing without /proc/net/xfrm_stat", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
  });

  it("reports counters the file lacks as 0 and ignores names procfs does not know", async () => {
    const out = await scrapeTree(collector, hostTree({ "proc/net/xfrm_stat": "XfrmInError  5\nXfrmOutStateDirError 9\nXfrmInError\t7\n" }));
    expect(out.families.size).toBe(28);
    expect(valuesOf(out, "node_xfrm_in_error_packets_total")).toEqual(new Map([["", 7]]));
    expect(valuesOf(out, "node_xfrm_acquire_error_packets_total")).toEqual(new Map([["", 0]]));
    expect((await scrapeTree(collector, hostTree({ "proc/net/xfrm_stat": "" }))).families.size).toBe(28);
  });

  it("fails, emitting nothing, on a line that is not a name and an integer (a blank one too)", async () => {
    const scrape = (text: string) => scrapeTree(collector, hostTree({ "proc/net/xfrm_stat": text }));
    await expect(scrape("XfrmInError 1\nXfrmInBufferError two\n")).rejects.toThrow(
      /xfrm_stat: line 2: XfrmInBufferError value "two" is not an integer/,
    );
    await expect(scrape("XfrmInError 1\n\nXfrmInHdrError 2\n")).rejects.toThrow(/line 2: expected "<name> <value>", got ""/);
    await expect(scrape("XfrmInError 1 2\n")).rejects.toThrow(CollectorError);
    await expect(scrape("XfrmInError 9223372036854775808\n")).rejects.toThrow(CollectorError);
  });
});

describe("xfrm parser", () => {
  it("parses values with strconv.Atoi", () => {
    const values = parseXfrmStat(SEED);
    expect([...values.keys()].sort()).toEqual([...XFRM_COUNTER_NAMES].sort());
    expect(values.get("XfrmOutError")).toBe(1000000);
    expect(parseXfrmStat("XfrmInError -3\nXfrmInHdrError +4\n")).toEqual(
      new Map([
        ["XfrmInError", -3],
        ["XfrmInHdrError", 4],
      ]),
    );
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseXfrmStat, SEED);
  });
});
