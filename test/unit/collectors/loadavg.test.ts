import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseLoadavg } from "../../../agent/metrics/collectors/loadavg.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";
import { HostPaths } from "../../../agent/host/paths.js";

useHostTrees();

describe("loadavg collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    expect(diffFamilies(toParsed(await collectOnce(collector)), ["node_load1", "node_load5", "node_load15"])).toEqual([]);
  });

  it("reads this host's /proc/loadavg", async () => {
    const out = await scrapeTree(collector, new HostPaths({ procfs: "/proc", sysfs: "/sys", rootfs: "/", udevData: "/run/udev/data" }));
    const expected = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
    // The 15m average moves slowly enough to compare between two reads.
    expect(Math.abs(valuesOf(out, "node_load15").get("")! - expected[2])).toBeLessThan(0.5);
  });

  it("fails with a CollectorError naming the file for unusable content", async () => {
    const paths = hostTree({ "proc/loadavg": "0.1 zero 0.3 1/2 3\n" });
    await expect(scrapeTree(collector, paths)).rejects.toThrow(new RegExp(`${paths.proc("loadavg")}: load "zero" is not a number`));
  });
});

describe("parseLoadavg", () => {
  it("returns the first three fields", () => {
    expect(parseLoadavg("0.21 0.37 0.39 1/719 19737\n")).toEqual([0.21, 0.37, 0.39]);
  });

  it("throws CollectorError for fewer than three numbers", () => {
    expect(() => parseLoadavg("0.1 0.2\n")).toThrow(CollectorError);
    expect(() => parseLoadavg("0x1 0.2 0.3\n")).toThrow(CollectorError);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseLoadavg, "0.21 0.37 0.39 1/719 19737\n");
  });
});
