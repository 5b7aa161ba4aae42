import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  chipNameFromDevicePath,
  cleanMetricName,
  collector,
  disambiguateChipNames,
  explodeSensorFilename,
  sensorSamples,
} from "../../../agent/metrics/collectors/hwmon.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const HWMON_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_hwmon_"));

describe("hwmon collector", () => {
  it("matches node_exporter's output for the fixture host (chips reached through symlinks, chip-include)", async () => {
    expect(HWMON_FAMILIES.length).toBeGreaterThan(40);
    expect(diffFamilies(toParsed(await collectOnce(collector)), HWMON_FAMILIES)).toEqual([]);
  });

  it("applies chip-exclude and sensor-include/exclude on the emitted chip label", async () => {
    const tree = hostTree({
      "sys/class/hwmon/hwmon0/name": "coretemp\n",
      "sys/class/hwmon/hwmon0/temp1_input": "55000\n",
      "sys/class/hwmon/hwmon0/temp2_input": "56000\n",
      "sys/class/hwmon/hwmon1/name": "nvme\n",
      "sys/class/hwmon/hwmon1/temp1_input": "30000\n",
    });
    const excluded = await scrapeTree(collector, tree, ["--collector.hwmon.chip-include=", "--collector.hwmon.chip-exclude=^nvme$"]);
    expect(valuesOf(excluded, "node_hwmon_temp_celsius")).toEqual(
      new Map([
        ["coretemp,temp1", 55],
        ["coretemp,temp2", 56],
      ]),
    );
    const sensors = await scrapeTree(collector, tree, [
      "--collector.hwmon.chip-include=",
      "--collector.hwmon.sensor-exclude=coretemp;temp2",
    ]);
    expect(valuesOf(sensors, "node_hwmon_temp_celsius")).toEqual(
      new Map([
        ["coretemp,temp1", 55],
        ["nvme,temp1", 30],
      ]),
    );
  });

  it("tells chips on one device apart by their name file, else by hwmonX", async () => {
    const tree = hostTree({
      "sys/devices/platform/wmi/hwmon/hwmon3/name": "asus\n",
      "sys/devices/platform/wmi/hwmon/hwmon3/pwm1_enable": "2\n",
      "sys/devices/platform/wmi/hwmon/hwmon4/name": "asus\n",
      "sys/devices/platform/wmi/hwmon/hwmon4/pwm1_enable": "1\n",
      "sys/class/hwmon/.keep": "",
    });
    for (const n of [3, 4]) {
      fs.symlinkSync("../..", path.join(tree.sysfs, `devices/platform/wmi/hwmon/hwmon${n}/device`));
      fs.symlinkSync(`../../devices/platform/wmi/hwmon/hwmon${n}`, path.join(tree.sysfs, `class/hwmon/hwmon${n}`));
    }
    const out = await scrapeTree(collector, tree, ["--collector.hwmon.chip-include="]);
    expect(valuesOf(out, "node_hwmon_pwm_enable")).toEqual(
      new Map([
        ["platform_wmi_hwmon3,pwm1", 2],
        ["platform_wmi_hwmon4,pwm1", 1],
      ]),
    );
  });

  it("emits nothing when /sys/class/hwmon does not exist", async () => {
    const out = await scrapeTree(collector, hostTree({}));
    expect(out.families.size).toBe(0);
  });

  it("skips values that are not numbers and keeps the rest", async () => {
    const tree = hostTree({
      "sys/class/hwmon/hwmon0/name": "x\n",
      "sys/class/hwmon/hwmon0/temp1_input": "hot\n",
      "sys/class/hwmon/hwmon0/temp1_max": "90000\n",
    });
    const out = await scrapeTree(collector, tree, ["--collector.hwmon.chip-include="]);
    expect(out.families.has("node_hwmon_temp_celsius")).toBe(false);
    expect(valuesOf(out, "node_hwmon_temp_max_celsius")).toEqual(new Map([["x,temp1", 90]]));
  });
});

describe("explodeSensorFilename", () => {
  it("splits <type><n>_<property> like node_exporter's regexp", () => {
    expect(explodeSensorFilename("temp1_crit_alarm")).toEqual({ type: "temp", sensor: "temp1", property: "crit_alarm" });
    expect(explodeSensorFilename("pwm1")).toEqual({ type: "pwm", sensor: "pwm1", property: "" });
    expect(explodeSensorFilename("beep_enable")).toEqual({ type: "beep_enable", sensor: "beep_enable0", property: "" });
    expect(explodeSensorFilename("in007_input")).toEqual({ type: "in", sensor: "in7", property: "input" });
    expect(explodeSensorFilename("a_b1x")).toEqual({ type: "a", sensor: "a0", property: "b1x" });
    expect(explodeSensorFilename("temp1_")).toBeUndefined();
    expect(explodeSensorFilename("1temp")).toBeUndefined();
    expect(explodeSensorFilename("temp99999999999999999999_input")).toBeUndefined();
  });
});

describe("cleanMetricName", () => {
  it("lower-cases, replaces other characters with _ and trims _", () => {
    expect(cleanMetricName("Physical id 0\n")).toBe("physical_id_0");
    expect(cleanMetricName("__A-b.c:d__")).toBe("a_b_c:d");
    expect(cleanMetricName("é")).toBe("");
  });
});

describe("chip naming", () => {
  it("builds <bus>_<device> from the device path", () => {
    expect(chipNameFromDevicePath("/sys/devices/platform/coretemp.0")).toBe("platform_coretemp_0");
    expect(chipNameFromDevicePath("/sys/devices/pci0000:00/0000:00:18.3/")).toBe("pci0000:00_0000:00:18_3");
  });

  it("suffixes only colliding names", () => {
    expect(
      disambiguateChipNames([
        { base: "a", chipName: "x", entry: "hwmon0" },
        { base: "b", chipName: "x", entry: "hwmon1" },
        { base: "b", chipName: "y", entry: "hwmon2" },
        { base: "c", chipName: "z", entry: "hwmon3" },
        { base: "c", chipName: "z", entry: "hwmon4" },
      ]),
    ).toEqual(["a", "b_x", "b_y", "c_hwmon3", "c_hwmon4"]);
  });
});

describe("sensorSamples", () => {
  const samples = (type: string, entries: Record<string, string>) =>
    Object.fromEntries(sensorSamples(type, new Map(Object.entries(entries))).map((s) => [s.name, [s.help, s.value, s.sensor]]));

  it("converts units the way node_exporter does", () => {
    expect(samples("temp", { "": "42000", input: "41000", type: "4" })).toEqual({
      node_hwmon_temp_celsius: ["Hardware monitor for temperature (input)", 42, undefined],
      node_hwmon_temp_input_celsius: ["Hardware monitor for temperature (input)", 41, undefined],
      node_hwmon_temp_type: ["Hardware monitor temp element type", 4, undefined],
    });
    expect(samples("power", { average: "12500000", accuracy: "950000", average_interval: "1000" })).toEqual({
      node_hwmon_power_average_watt: ["Hardware monitor for power usage in watts (average)", 12.5, undefined],
      node_hwmon_power_accuracy: ["Hardware monitor power meter accuracy, as a ratio", 0.95, undefined],
      node_hwmon_power_average_interval_seconds: ["Hardware monitor power usage update interval (average_interval)", 1, undefined],
    });
    expect(samples("energy", { input: "2000000" })).toEqual({
      node_hwmon_energy_joule_total: ["Hardware monitor for joules used so far (input)", 2, undefined],
    });
    expect(samples("curr", { input: "1500" })).toEqual({ node_hwmon_curr_amps: ["Hardware monitor for current (input)", 1.5, undefined] });
    expect(samples("humidity", { input: "45000000" }).node_hwmon_humidity[1]).toBe(45);
    expect(samples("freq", { input: "214000000", label: "sclk" })).toEqual({
      node_hwmon_freq_freq_mhz: ["Hardware monitor for GPU frequency in MHz", 214, "sclk"],
    });
    expect(samples("in", { fault: "1", beep: "0" })).toEqual({
      node_hwmon_in_fault: ["Hardware sensor fault status (in)", 1, undefined],
      node_hwmon_in_beep_enabled: ["Hardware monitor sensor has beeping enabled", 0, undefined],
    });
    expect(samples("beep_enable", { "": "1" })).toEqual({ node_hwmon_beep_enabled: ["Hardware beep enabled", 1, undefined] });
    expect(samples("update_interval", { "": "2000" })).toEqual({
      node_hwmon_update_interval_seconds: ["Hardware monitor update interval", 2, undefined],
    });
    expect(sensorSamples("energy", new Map([["input", "1e400"]])).length).toBe(0);
    expect(sensorSamples("vrm", new Map())).toEqual([]);
  });

  it("never throws on bad input", () => {
    const asValues = (text: string) =>
      new Map(text.split("\n").map((line) => [line.split("=")[0], line.split("=")[1] ?? ""] as [string, string]));
    checkParserOnBadInput((text) => sensorSamples("temp", asValues(text)), "input=55000\nmax=90000\nlabel=Core 0\n");
    checkParserOnBadInput((text) => explodeSensorFilename(text), "temp1_crit_alarm");
    checkParserOnBadInput((text) => cleanMetricName(text), "Physical id 0\n");
  });
});
