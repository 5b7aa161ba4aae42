import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseBuddyinfo } from "../../../agent/metrics/collectors/buddyinfo.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_buddyinfo_"));
const SEED = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/buddyinfo"), "utf8");

describe("buddyinfo collector", () => {
  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
  });

  it("matches node_exporter's output for the fixture host", async () => {
    expect(FAMILIES).toEqual(["node_buddyinfo_blocks"]);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("emits nothing without /proc/buddyinfo, and nothing for an empty one", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    expect((await scrapeTree(collector, hostTree({ "proc/buddyinfo": "" }))).families.size).toBe(0);
  });

  it("labels each count with node, zone and order", async () => {
    const out = await scrapeTree(collector, hostTree({ "proc/buddyinfo": "Node 1, zone   Normal 5 6\nNode 1, zone Movable 0 1e3\n" }));
    expect(valuesOf(out, "node_buddyinfo_blocks")).toEqual(
      new Map([
        ["1,Normal,0", 5],
        ["1,Normal,1", 6],
        ["1,Movable,0", 0],
        ["1,Movable,1", 1000],
      ]),
    );
  });

  it("fails, emitting nothing, on a short line, a bad count or a changing number of orders", async () => {
    await expect(scrapeTree(collector, hostTree({ "proc/buddyinfo": "Node 0, zone DMA 1 2\nNode 0, zone\n" }))).rejects.toThrow(
      /buddyinfo: invalid number of fields/,
    );
    expect(() => parseBuddyinfo("Node 0, zone DMA 1 x\n")).toThrow(/invalid value "x"/);
    expect(() => parseBuddyinfo("Node 0, zone DMA 1 2\nNode 0, zone DMA32 1\n")).toThrow(/previous count 2, new count 1/);
    expect(() => parseBuddyinfo("Node 0, zone DMA 1\n\n")).toThrow(CollectorError);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseBuddyinfo, SEED);
  });
});
