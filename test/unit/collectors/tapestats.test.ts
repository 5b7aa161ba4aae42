import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseTapeStat } from "../../../agent/metrics/collectors/tapestats.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const TAPE_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_tape_"));

describe("tapestats collector", () => {
  it("matches node_exporter's output for the fixture host (st0 only, not its nst/mode aliases)", async () => {
    expect(TAPE_FAMILIES).toHaveLength(10);
    expect(diffFamilies(toParsed(await collectOnce(collector)), TAPE_FAMILIES)).toEqual([]);
  });

  it("emits nothing without the class directory, or when a tape has no stats directory", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const tree = hostTree({ "sys/class/scsi_tape/st0/stats/in_flight": "1\n", "sys/class/scsi_tape/st1/dev": "9:1\n" });
    expect((await scrapeTree(collector, tree)).families.size).toBe(0);
  });

  it("counts a missing stat as 0, converts nanoseconds and applies --collector.tapestats.ignored-devices", async () => {
    const tree = hostTree({
      "sys/class/scsi_tape/st0/stats/io_ns": "1500000000\n",
      "sys/class/scsi_tape/st1/stats/read_cnt": "0x10\n",
      "sys/class/scsi_tape/st1a/stats/read_cnt": "99\n",
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_tape_io_time_seconds_total")).toEqual(
      new Map([
        ["st0", 1.5],
        ["st1", 0],
      ]),
    );
    expect(valuesOf(out, "node_tape_reads_completed_total")).toEqual(
      new Map([
        ["st0", 0],
        ["st1", 16],
      ]),
    );
    expect(out.families.size).toBe(10);
    const ignored = await scrapeTree(collector, tree, ["--collector.tapestats.ignored-devices=^st1$"]);
    expect([...valuesOf(ignored, "node_tape_io_now").keys()]).toEqual(["st0"]);
  });

  it("fails on a stat that is not a number, also for an ignored device", async () => {
    const tree = hostTree({ "sys/class/scsi_tape/st0/stats/write_cnt": "n/a\n" });
    await expect(scrapeTree(collector, tree, ["--collector.tapestats.ignored-devices=st0"])).rejects.toThrow(
      /write_cnt: expected an unsigned integer, got "n\/a"/,
    );
  });
});

describe("parseTapeStat", () => {
  it("parses like Go's ParseUint with base 0", () => {
    expect(parseTapeStat("f", "9247011087720")).toBe(9247011087720);
    expect(parseTapeStat("f", "0x1f")).toBe(31);
    expect(parseTapeStat("f", "18446744073709551615")).toBe(2 ** 64);
    for (const bad of ["", "-1", "1.5", "18446744073709551616"]) expect(() => parseTapeStat("f", bad), bad).toThrow(CollectorError);
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput((text) => parseTapeStat("io_ns", text), "9247011087720");
  });
});
