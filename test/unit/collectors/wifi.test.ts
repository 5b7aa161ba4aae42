import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { describe, expect, it, vi } from "vitest";
import { HostPaths } from "../../../agent/host/paths.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { parseFixtureJson } from "../../../agent/metrics/collectors/recorded-netlink.js";
import {
  WIFI_LIVE_UNSUPPORTED,
  bssStatusMode,
  collector,
  durationSeconds,
  parseWifiBss,
  parseWifiInterfaces,
  parseWifiStations,
} from "../../../agent/metrics/collectors/wifi.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const WIFI_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_wifi_"));
const WIFI_DIR = path.join(FIXTURE_ROOT, "wifi");
const read = (file: string) => fs.readFileSync(path.join(WIFI_DIR, file), "utf8");

/** A fixtures directory with these files, and the flag that points at it. */
function fixtureFlag(files: Record<string, string>): { paths: HostPaths; flag: string } {
  const paths = hostTree(Object.fromEntries(Object.entries(files).map(([f, text]) => [`w/${f}`, text])));
  return { paths, flag: `--collector.wifi.fixtures=${path.join(paths.rootfs, "w")}` };
}

describe("wifi collector", () => {
  it("matches node_exporter's output for its recorded answers (wlan0 with BSS and stations, wlan1 without, a nameless interface)", async () => {
    expect(WIFI_FAMILIES).toHaveLength(14);
    expect(diffFamilies(toParsed(await collectOnce(collector)), WIFI_FAMILIES)).toEqual([]);
  });

  it("emits nothing on a live host and logs once that nl80211 statistics are not read yet", async () => {
    const warn = vi.fn();
    const logger = { warn, debug: vi.fn(), info: vi.fn() } as unknown as Logger;
    const c = collector.create({ paths: hostTree({}), config: e2eConfig(["--collector.wifi.fixtures="]).metrics, logger });
    for (let i = 0; i < 3; i++) {
      const out = new FamilyCollector();
      await c.update(out, { signal: new AbortController().signal });
      expect(out.families.size).toBe(0);
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(WIFI_LIVE_UNSUPPORTED);
  });

  it("fails without interfaces.json, as node_exporter's fixture reader does", async () => {
    const { paths, flag } = fixtureFlag({ "wlan0/bss.json": "{}" });
    await expect(scrapeTree(collector, paths, [flag])).rejects.toThrow(
      /failed to retrieve wifi interfaces: .*interfaces\.json: file not found/,
    );
  });

  it("maps BSS status to a mode and reads hardware addresses as base64 or byte arrays", async () => {
    const { paths, flag } = fixtureFlag({
      "interfaces.json": JSON.stringify([{ name: "a", frequency: 5180 }, { name: "b", frequency: 2412 }, { name: "c" }]),
      "a/bss.json": JSON.stringify({ SSID: "x", BSSID: [1, 2, 3, 4, 5, 255], Status: 3 }),
      "b/bss.json": JSON.stringify({ ssid: "y", status: 2 }),
      "c/stationinfo.json": JSON.stringify([
        { hardwareaddr: "AAECAwQF", connected: 1500000001, receivedpackets: 7, transmittedpackets: 8 },
      ]),
    });
    const out = await scrapeTree(collector, paths, [flag]);
    expect(valuesOf(out, "node_wifi_interface_frequency_hertz")).toEqual(
      new Map([
        ["a", 5.18e9],
        ["b", 2.412e9],
        ["c", 0],
      ]),
    );
    expect([...valuesOf(out, "node_wifi_station_info").keys()]).toEqual(["a,01:02:03:04:05:ff,x,ad-hoc", "b,,y,unknown"]);
    expect(valuesOf(out, "node_wifi_station_connected_seconds_total")).toEqual(new Map([["c,00:01:02:03:04:05", 1.500000001]]));
    expect(valuesOf(out, "node_wifi_station_received_packets_total").get("c,00:01:02:03:04:05")).toBe(7);
    expect(valuesOf(out, "node_wifi_station_transmitted_packets_total").get("c,00:01:02:03:04:05")).toBe(8);
  });

  it("fails on malformed answers, naming the file", async () => {
    const interfaces = JSON.stringify([{ name: "wlan0", frequency: 2412 }]);
    for (const [files, problem] of [
      [{ "interfaces.json": "[" }, /interfaces\.json: invalid JSON/],
      [{ "interfaces.json": "[null]" }, /interfaces\.json\[0\]: null interface/],
      [{ "interfaces.json": interfaces, "wlan0/bss.json": '{"bssid": "not base64!"}' }, /bss\.json: field "bssid": cannot unmarshal/],
      [{ "interfaces.json": interfaces, "wlan0/stationinfo.json": '[{"signal": "-40"}]' }, /stationinfo\.json\[0\]: field "signal"/],
      [{ "interfaces.json": interfaces, "wlan0/stationinfo.json": "{}" }, /stationinfo\.json: cannot unmarshal object into a Go slice/],
    ] as const) {
      const { paths, flag } = fixtureFlag(files);
      await expect(scrapeTree(collector, paths, [flag])).rejects.toThrow(problem);
    }
  });
});

describe("wifi parsers", () => {
  it("decode the recorded structs", () => {
    expect(parseWifiInterfaces(JSON.parse(read("interfaces.json")))).toEqual([
      { name: "wlan0", frequencyMHz: 2412 },
      { name: "wlan1", frequencyMHz: 2412 },
      { name: "", frequencyMHz: 0 },
    ]);
    expect(parseWifiBss(JSON.parse(read("wlan0/bss.json")))).toEqual({ ssid: "Example", bssid: "00:11:22:33:44:55", status: 1 });
    expect(parseWifiStations(JSON.parse(read("wlan0/stationinfo.json"))).map((s) => s.hardwareAddr)).toEqual([
      "aa:bb:cc:dd:ee:ff",
      "01:02:03:04:05:06",
    ]);
    expect(() => parseWifiBss([])).toThrow(CollectorError);
  });

  it("scale like Go: time.Duration.Seconds() and BSS status modes", () => {
    expect(durationSeconds(400000000)).toBe(0.4);
    expect(durationSeconds(-1500000000)).toBe(-1.5);
    expect([0, 1, 2, 3, 4].map(bssStatusMode)).toEqual(["client", "client", "unknown", "ad-hoc", "unknown"]);
  });

  it("never throw anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseWifiInterfaces(parseFixtureJson(text, "interfaces.json")), read("interfaces.json"));
    checkParserOnBadInput((text) => parseWifiBss(parseFixtureJson(text, "bss.json")), read("wlan0/bss.json"));
    checkParserOnBadInput((text) => parseWifiStations(parseFixtureJson(text, "stationinfo.json")), read("wlan0/stationinfo.json"));
  });
});
