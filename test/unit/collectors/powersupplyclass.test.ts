import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parsePowerSupply, powerSupplyInfoLabels, skipsReadError } from "../../../agent/metrics/collectors/powersupplyclass.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const POWER_SUPPLY_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_power_supply_"));

const labelsOf = (out: Awaited<ReturnType<typeof scrapeTree>>, name: string) =>
  out.families.get(name)?.samples.map((s) => {
    const names = (s.desc ?? out.families.get(name)!.desc).labelNames;
    return Object.fromEntries(names.map((n, i) => [n, s.labelValues[i]]));
  });

describe("powersupplyclass collector", () => {
  it("matches node_exporter's output for the fixture host (AC adapter and battery)", async () => {
    expect(POWER_SUPPLY_FAMILIES).toHaveLength(11);
    expect(diffFamilies(toParsed(await collectOnce(collector)), POWER_SUPPLY_FAMILIES)).toEqual([]);
  });

  it("emits nothing when /sys/class/power_supply does not exist, and nothing for an empty one", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const empty = hostTree({});
    fs.mkdirSync(`${empty.sysfs}/class/power_supply`, { recursive: true });
    expect((await scrapeTree(collector, empty)).families.size).toBe(0);
  });

  it("scales units, labels info with the non-empty text attributes and applies ignored-supplies", async () => {
    const tree = hostTree({
      "sys/class/power_supply/BAT1/type": "Battery\n",
      "sys/class/power_supply/BAT1/status": "\n",
      "sys/class/power_supply/BAT1/health": "Good\n",
      "sys/class/power_supply/BAT1/temp": "305\n",
      "sys/class/power_supply/BAT1/current_now": "0x10\n",
      "sys/class/power_supply/BAT1/time_to_empty_now": "3600\n",
      "sys/class/power_supply/BAT1/charge_behaviour": "[auto] inhibit-charge\n", // not a procfs field
      "sys/class/power_supply/ucsi-source-psy-USBC000:001/usb_type": "C [PD]\n",
      "sys/class/power_supply/ucsi-source-psy-USBC000:001/online": "1\n",
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_power_supply_temp_celsius")).toEqual(new Map([["BAT1", 30.5]]));
    expect(valuesOf(out, "node_power_supply_current_ampere")).toEqual(new Map([["BAT1", 0.000016]]));
    expect(valuesOf(out, "node_power_supply_time_to_empty_seconds")).toEqual(new Map([["BAT1", 3600]]));
    expect(labelsOf(out, "node_power_supply_info")).toEqual([
      { health: "Good", power_supply: "BAT1", type: "Battery" },
      { power_supply: "ucsi-source-psy-USBC000:001", usb_type: "C [PD]" },
    ]);
    const ignored = await scrapeTree(collector, tree, ["--collector.powersupply.ignored-supplies=^ucsi-"]);
    expect(labelsOf(ignored, "node_power_supply_info")).toEqual([{ health: "Good", power_supply: "BAT1", type: "Battery" }]);
    expect(ignored.families.has("node_power_supply_online")).toBe(false);
  });

  it("fails on a numeric attribute that is not an integer and on a read error procfs does not skip", async () => {
    const bad = hostTree({ "sys/class/power_supply/BAT0/capacity": "full\n" });
    await expect(scrapeTree(collector, bad)).rejects.toThrow(/power supply BAT0: capacity: expected an integer, got "full"/);
    // An entry that is not a directory: listing it fails with ENOTDIR, which procfs reports.
    const notADirectory = hostTree({ "sys/class/power_supply/BAT0/capacity": "1\n", "sys/class/power_supply/stray": "x\n" });
    await expect(scrapeTree(collector, notADirectory)).rejects.toThrow(/power_supply\/stray: ENOTDIR/);
  });

  it("skips only the read errors procfs skips", () => {
    expect(skipsReadError("ENOENT", "open")).toBe(true);
    expect(skipsReadError("ENODEV", "read")).toBe(true);
    expect(skipsReadError("ENOTSUP", "read")).toBe(true);
    expect(skipsReadError("EOPNOTSUPP", "read")).toBe(true);
    // Go's error text for a failed open includes the path, so procfs's string match misses it.
    expect(skipsReadError("ENODEV", "open")).toBe(false);
    for (const errno of ["EACCES", "EIO", "EINVAL", "ENODATA", "EAGAIN"]) expect(skipsReadError(errno, "read"), errno).toBe(false);
  });
});

describe("power supply parsers", () => {
  it("parses numbers as Go's ParseInt with base 0 and keeps text as read", () => {
    const supply = parsePowerSupply(
      "BAT0",
      new Map([
        ["voltage_now", "11660000"],
        ["current_now", "-0x10"],
        ["model_name", "LNV-45N1\u{fffd}\u{fffd}"],
        ["alarm", "not a number, not a procfs field"],
      ]),
    );
    expect([...supply.numbers]).toEqual([
      ["voltage_now", 11660000],
      ["current_now", -16],
    ]);
    expect(powerSupplyInfoLabels(supply)).toEqual([
      ["model_name", "LNV-45N1\u{fffd}\u{fffd}"],
      ["power_supply", "BAT0"],
    ]);
    // Parsed by procfs though node_exporter does not export it: a bad value fails the collector.
    expect(() => parsePowerSupply("BAT0", new Map([["power_avg", "1.5"]]))).toThrow(CollectorError);
  });

  it("never throws on bad input", () => {
    const asFiles = (text: string) =>
      new Map(text.split("\n").map((line) => [line.split("=")[0] ?? "", line.split("=")[1] ?? ""] as [string, string]));
    checkParserOnBadInput(
      (text) => powerSupplyInfoLabels(parsePowerSupply("BAT0", asFiles(text))),
      "capacity=81\nenergy_now=36580000\nstatus=Discharging\ntemp=305\n",
    );
  });
});
