import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseFileNr } from "../../../agent/metrics/collectors/filefd.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees } from "../../helpers/host-tree.js";

useHostTrees();

describe("filefd collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    expect(diffFamilies(toParsed(await collectOnce(collector)), ["node_filefd_allocated", "node_filefd_maximum"])).toEqual([]);
  });

  it("fails with a CollectorError naming the file when it is missing or unusable", async () => {
    await expect(scrapeTree(collector, hostTree({}))).rejects.toThrow(/file-nr: file not found/);
    await expect(scrapeTree(collector, hostTree({ "proc/sys/fs/file-nr": "1024\t0\n" }))).rejects.toThrow(/file-nr: expected 3 numbers/);
  });
});

describe("parseFileNr", () => {
  it("takes the first and third numbers", () => {
    expect(parseFileNr("1024\t0\t1631329\n")).toEqual({ allocated: 1024, maximum: 1631329 });
  });

  it("throws CollectorError for non-numbers", () => {
    expect(() => parseFileNr("a\t0\tb\n")).toThrow(CollectorError);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseFileNr, "1024\t0\t1631329\n");
  });
});
