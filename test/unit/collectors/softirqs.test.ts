import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { SOFTIRQ_TYPES, collector, parseSoftirqs } from "../../../agent/metrics/collectors/softirqs.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name === "node_softirqs_functions_total");
const SEED = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/softirqs"), "utf8");

describe("softirqs collector", () => {
  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
  });

  it("matches node_exporter's output for the fixture host", async () => {
    expect(FAMILIES).toHaveLength(1);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("emits nothing without /proc/softirqs", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
  });

  it("reads the known vectors only, with as many CPUs as each line has", async () => {
    const text = "  CPU0 CPU1\n  HI: 1 2\n  NEW_VEC: 5 5\n  RCU: 3\n TIMER:\n\n";
    const out = await scrapeTree(collector, hostTree({ "proc/softirqs": text }));
    expect(valuesOf(out, "node_softirqs_functions_total")).toEqual(
      new Map([
        ["0,HI", 1],
        ["1,HI", 2],
        ["0,RCU", 3],
      ]),
    );
  });

  it("fails, emitting nothing, on an empty file or a count that is not a uint64", async () => {
    await expect(scrapeTree(collector, hostTree({ "proc/softirqs": "" }))).rejects.toThrow(/softirqs: softirqs empty/);
    const bad = SEED.replace("424191", "-1");
    await expect(scrapeTree(collector, hostTree({ "proc/softirqs": bad }))).rejects.toThrow(
      /softirqs: line 3: couldn't parse "-1" \(TIMER0\)/,
    );
  });
});

describe("softirqs parser", () => {
  it("skips the header line and keeps the last of a repeated vector", () => {
    const vectors = parseSoftirqs(SEED);
    expect([...vectors.keys()].sort()).toEqual([...SOFTIRQ_TYPES].sort());
    expect(vectors.get("NET_RX")).toEqual([43066, 104508]);
    expect(parseSoftirqs("HI: 9 9\nHI: 1 2\nHI: 3\n").get("HI")).toEqual([3]);
    expect(parseSoftirqs("\n").size).toBe(0);
    expect(() => parseSoftirqs("x\nHI: 18446744073709551616\n")).toThrow(CollectorError);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseSoftirqs, SEED);
  });
});
