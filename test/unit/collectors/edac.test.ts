import { describe, expect, it } from "vitest";
import { collector, edacDimmLabel, parseEdacCount } from "../../../agent/metrics/collectors/edac.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, e2eConfig, expectedFamilies, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const EDAC_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_edac_"));
const MC = "sys/devices/system/edac/mc";

/** A controller with its four counts. */
function controller(n: number, counts: Partial<Record<string, string>> = {}): Record<string, string> {
  const files = { ce_count: "1\n", ce_noinfo_count: "2\n", ue_count: "3\n", ue_noinfo_count: "4\n", ...counts };
  return Object.fromEntries(Object.entries(files).map(([f, v]) => [`${MC}/mc${n}/${f}`, v!]));
}

describe("edac collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    expect(EDAC_FAMILIES).toHaveLength(6);
    expect(diffFamilies(toParsed(await collectOnce(collector)), EDAC_FAMILIES)).toEqual([]);
  });

  it("emits nothing when the EDAC directory does not exist", async () => {
    const out = await scrapeTree(collector, hostTree({}));
    expect(out.families.size).toBe(0);
  });

  it("labels channels 'unknown' without a dimm label and skips a channel's missing ue_count", async () => {
    const tree = hostTree({
      ...controller(1),
      [`${MC}/mc1/csrow10/ce_count`]: "5\n",
      [`${MC}/mc1/csrow10/ue_count`]: "6\n",
      [`${MC}/mc1/csrow10/ch2_ce_count`]: "7\n",
      [`${MC}/mc1/csrow10/ch3_ce_count`]: "8\n",
      [`${MC}/mc1/csrow10/ch3_ue_count`]: "9\n",
      [`${MC}/mc1/csrow10/ch3_dimm_label`]: " CPU#1_csrow10_channel3 \n",
      [`${MC}/mc1/csrow10/chX_ce_count`]: "10\n",
      [`${MC}/mc1/dimm0/dimm_ce_count`]: "11\n",
      [`${MC}/mcfoo/ce_count`]: "12\n",
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_edac_correctable_errors_total")).toEqual(new Map([["1", 1]]));
    expect(valuesOf(out, "node_edac_csrow_uncorrectable_errors_total")).toEqual(
      new Map([
        ["1,unknown", 4],
        ["1,10", 6],
      ]),
    );
    expect(valuesOf(out, "node_edac_channel_correctable_errors_total")).toEqual(
      new Map([
        ["1,10,2,unknown", 7],
        ["1,10,3,CPU1__csrow10__channel3", 8],
      ]),
    );
    expect(valuesOf(out, "node_edac_channel_uncorrectable_errors_total")).toEqual(new Map([["1,10,3,CPU1__csrow10__channel3", 9]]));
  });

  it("fails on a missing or malformed count, keeping the series read before it (as node_exporter's scrape does)", async () => {
    const files = { ...controller(0), ...controller(1, { ue_count: "many\n" }) };
    const instance = collector.create({ paths: hostTree(files), config: e2eConfig().metrics, logger: silentLogger });
    const out = new FamilyCollector();
    expect(() => instance.update(out, { signal: new AbortController().signal })).toThrow(
      /couldn't get ue_count for controller 1: .*mc1\/ue_count: expected an unsigned integer, got "many"/,
    );
    expect(valuesOf(out, "node_edac_correctable_errors_total")).toEqual(
      new Map([
        ["0", 1],
        ["1", 1],
      ]),
    );
    expect(valuesOf(out, "node_edac_uncorrectable_errors_total")).toEqual(new Map([["0", 3]]));

    const noNoinfo = controller(0);
    delete noNoinfo[`${MC}/mc0/ue_noinfo_count`];
    await expect(scrapeTree(collector, hostTree(noNoinfo))).rejects.toThrow(/couldn't get ue_noinfo_count for controller 0: .*ENOENT/);
    await expect(scrapeTree(collector, hostTree({ ...controller(0), [`${MC}/mc0/csrow0/ce_count`]: "1\n" }))).rejects.toThrow(
      /ue_count for controller\/csrow 0\/0/,
    );
    const channel = { ...controller(0), [`${MC}/mc0/csrow0/ce_count`]: "1\n", [`${MC}/mc0/csrow0/ue_count`]: "1\n" };
    await expect(scrapeTree(collector, hostTree({ ...channel, [`${MC}/mc0/csrow0/ch0_ce_count`]: "-1\n" }))).rejects.toThrow(
      /ce_count for controller\/csrow\/channel 0\/0\/0/,
    );
    // A malformed channel ue_count is skipped like a missing one.
    const skipped = await scrapeTree(
      collector,
      hostTree({ ...channel, [`${MC}/mc0/csrow0/ch0_ce_count`]: "1\n", [`${MC}/mc0/csrow0/ch0_ue_count`]: "x\n" }),
    );
    expect(skipped.families.has("node_edac_channel_uncorrectable_errors_total")).toBe(false);
    // node_exporter's csrow regexp needs a controller named mc<digits>.
    const renamed = Object.fromEntries(Object.entries(controller(0)).map(([k, v]) => [k.replace("/mc0/", "/mc0x/"), v]));
    await expect(scrapeTree(collector, hostTree({ ...renamed, [`${MC}/mc0x/csrow0/ce_count`]: "1\n" }))).rejects.toThrow(
      /csrow string didn't match regexp/,
    );
  });
});

describe("edac parsers", () => {
  it("parses counts and dimm labels as node_exporter does", () => {
    expect(parseEdacCount("  42\n")).toBe(42);
    expect(() => parseEdacCount("4 2")).toThrow(/expected an unsigned integer/);
    expect(() => parseEdacCount("18446744073709551616")).toThrow(/expected an unsigned integer/);
    expect(edacDimmLabel("mc0csrow0channel0\n")).toBe("mc0_csrow0_channel0");
    expect(edacDimmLabel("DIMM#A1")).toBe("DIMMA1");
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseEdacCount, "3\n");
    checkParserOnBadInput(edacDimmLabel, "mc0csrow1channel1\n");
  });
});
