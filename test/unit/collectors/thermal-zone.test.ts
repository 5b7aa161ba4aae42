import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseCoolingDevice, parseThermalZone, type ThermalZoneReads } from "../../../agent/metrics/collectors/thermal-zone.js";
import type { AttributeRead } from "../../../agent/metrics/sysfs-attribute.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const text = (t: string): AttributeRead => ({ text: t });
const missing: AttributeRead = { errno: "ENOENT", during: "open" };
const zone = (overrides: Partial<ThermalZoneReads> = {}): ThermalZoneReads => ({
  type: text("acpitz\n"),
  policy: text("step_wise\n"),
  temp: text("27800\n"),
  mode: missing,
  passive: missing,
  ...overrides,
});

describe("thermal_zone collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    const families = ["node_thermal_zone_temp", "node_cooling_device_cur_state", "node_cooling_device_max_state"];
    expect(diffFamilies(toParsed(await collectOnce(collector)), families)).toEqual([]);
  });

  it("skips zones and devices with a missing attribute, keeps the others", async () => {
    const tree = hostTree({
      "sys/class/thermal/thermal_zone0/type": "x86_pkg_temp\n",
      "sys/class/thermal/thermal_zone0/policy": "step_wise\n",
      "sys/class/thermal/thermal_zone0/temp": "-5500\n",
      "sys/class/thermal/thermal_zone1/type": "acpitz\n", // no policy: skipped
      "sys/class/thermal/thermal_zone1/temp": "30000\n",
      "sys/class/thermal/thermal_zoneX/type": "not a zone\n",
      "sys/class/thermal/cooling_device10/type": "intel_powerclamp\n",
      "sys/class/thermal/cooling_device10/cur_state": "-1\n",
      "sys/class/thermal/cooling_device10/max_state": "50\n",
      "sys/class/thermal/cooling_device2/type": "Fan\n", // no cur_state: skipped
      "sys/class/thermal/cooling_device2/max_state": "1\n",
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_thermal_zone_temp")).toEqual(new Map([["0,x86_pkg_temp", -5.5]]));
    expect(valuesOf(out, "node_cooling_device_cur_state")).toEqual(new Map([["10,intel_powerclamp", -1]]));
    expect(valuesOf(out, "node_cooling_device_max_state")).toEqual(new Map([["10,intel_powerclamp", 50]]));
  });

  it("fails like procfs on a temperature that is not a number, emitting no zone", async () => {
    const tree = hostTree({
      "sys/class/thermal/thermal_zone0/type": "a\n",
      "sys/class/thermal/thermal_zone0/policy": "p\n",
      "sys/class/thermal/thermal_zone0/temp": "1000\n",
      "sys/class/thermal/thermal_zone1/type": "b\n",
      "sys/class/thermal/thermal_zone1/policy": "p\n",
      "sys/class/thermal/thermal_zone1/temp": "warm\n",
    });
    await expect(scrapeTree(collector, tree)).rejects.toThrow(/thermal zone thermal_zone1: temp: expected an integer/);
  });

  it("emits nothing when /sys/class/thermal does not exist", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
  });
});

describe("parseThermalZone", () => {
  it("converts millidegrees and follows procfs's error rules", () => {
    expect(parseThermalZone("thermal_zone0", zone())).toEqual({ type: "acpitz", celsius: 27.8 });
    expect(parseThermalZone("z", zone({ temp: { errno: "ENODATA", during: "read" } }))).toBeUndefined();
    expect(parseThermalZone("z", zone({ temp: { errno: "EAGAIN", during: "read" } }))).toBeUndefined();
    expect(parseThermalZone("z", zone({ policy: missing }))).toBeUndefined();
    expect(parseThermalZone("z", zone({ passive: text("0\n"), mode: text("enabled\n") }))).toEqual({ type: "acpitz", celsius: 27.8 });
    expect(() => parseThermalZone("z", zone({ temp: { errno: "EIO", during: "read" } }))).toThrow(CollectorError);
    expect(() => parseThermalZone("z", zone({ passive: text("-1\n") }))).toThrow(/passive/);
    // The first problem decides, in procfs's reading order: a skipped type wins over a bad temp.
    expect(parseThermalZone("z", zone({ type: { errno: "EINVAL", during: "read" }, temp: text("junk") }))).toBeUndefined();
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((t) => parseThermalZone("z", zone({ temp: text(t) })), "27800\n");
    checkParserOnBadInput((t) => parseThermalZone("z", zone({ type: text(t), passive: text(t) })), "acpitz\n");
  });
});

describe("parseCoolingDevice", () => {
  const device = (cur: AttributeRead, max: AttributeRead = text("3\n")) =>
    parseCoolingDevice("cooling_device0", { type: text("Processor\n"), cur_state: cur, max_state: max });

  it("reads states, skips ignorable errors, fails on others", () => {
    expect(device(text("0\n"))).toEqual({ type: "Processor", curState: 0, maxState: 3 });
    expect(device({ errno: "EINVAL", during: "read" })).toBeUndefined();
    expect(device({ errno: "EOPNOTSUPP", during: "read" })).toBeUndefined();
    expect(device({ errno: "EACCES", during: "open" })).toBeUndefined();
    expect(() => device({ errno: "ENODATA", during: "read" })).toThrow(CollectorError);
    expect(() => device(text("x\n"))).toThrow(/cur_state: expected an integer/);
    // max_state is parsed before cur_state is read, as in procfs.
    expect(() => device(missing, text("many\n"))).toThrow(/max_state/);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((t) => device(text(t), text(t)), "3\n");
  });
});
