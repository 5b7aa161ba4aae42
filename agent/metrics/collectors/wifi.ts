import path from "node:path";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";
import {
  decodeArray,
  decodeStruct,
  hardwareAddrField,
  numberField,
  readFixtureJson,
  stringField,
  type FieldValue,
  type StructSpec,
} from "./recorded-netlink.js";

/**
 * node_exporter's wifi collector (collector/wifi_linux.go): each WiFi interface's frequency,
 * its BSS (station_info) and the statistics of its stations. node_exporter asks the kernel over
 * generic netlink (nl80211) through github.com/mdlayher/wifi; /proc/net/wireless holds none of
 * these figures, and nodetap does not speak nl80211 yet. So on a live host the collector emits
 * nothing and says so once in the log. With --collector.wifi.fixtures=<dir> it serves the
 * recorded answers there (interfaces.json, <interface>/bss.json, <interface>/stationinfo.json)
 * as node_exporter does in its end-to-end test: an interface without bss.json or
 * stationinfo.json has no such series, a missing interfaces.json or malformed JSON fails.
 */

const STATION = ["device", "mac_address"];
const frequencyDesc = gauge("node_wifi_interface_frequency_hertz", "The current frequency a WiFi interface is operating at, in hertz.", [
  "device",
]);
const stationInfoDesc = gauge("node_wifi_station_info", "Labeled WiFi interface station information as provided by the operating system.", [
  "device",
  "bssid",
  "ssid",
  "mode",
]);

export const WIFI_LIVE_UNSUPPORTED =
  "wifi collector: live WiFi statistics need nl80211 generic netlink messages, which nodetap does not read yet; emitting nothing (set --collector.wifi.fixtures to serve recorded answers)";

/** The station families in node_exporter's order, with the StationInfo field and how it is scaled. */
const STATION_FAMILIES: ReadonlyArray<[desc: MetricDesc, field: string, scale: "duration" | "plain"]> = [
  [
    counter(
      "node_wifi_station_connected_seconds_total",
      "The total number of seconds a station has been connected to an access point.",
      STATION,
    ),
    "connected",
    "duration",
  ],
  [
    gauge("node_wifi_station_inactive_seconds", "The number of seconds since any wireless activity has occurred on a station.", STATION),
    "inactive",
    "duration",
  ],
  [
    gauge("node_wifi_station_receive_bits_per_second", "The current WiFi receive bitrate of a station, in bits per second.", STATION),
    "receivebitrate",
    "plain",
  ],
  [
    gauge("node_wifi_station_transmit_bits_per_second", "The current WiFi transmit bitrate of a station, in bits per second.", STATION),
    "transmitbitrate",
    "plain",
  ],
  [
    counter("node_wifi_station_receive_bytes_total", "The total number of bytes received by a WiFi station.", STATION),
    "receivedbytes",
    "plain",
  ],
  [
    counter("node_wifi_station_transmit_bytes_total", "The total number of bytes transmitted by a WiFi station.", STATION),
    "transmittedbytes",
    "plain",
  ],
  [gauge("node_wifi_station_signal_dbm", "The current WiFi signal strength, in decibel-milliwatts (dBm).", STATION), "signal", "plain"],
  [
    counter(
      "node_wifi_station_transmit_retries_total",
      "The total number of times a station has had to retry while sending a packet.",
      STATION,
    ),
    "transmitretries",
    "plain",
  ],
  [
    counter("node_wifi_station_transmit_failed_total", "The total number of times a station has failed to send a packet.", STATION),
    "transmitfailed",
    "plain",
  ],
  [
    counter("node_wifi_station_beacon_loss_total", "The total number of times a station has detected a beacon loss.", STATION),
    "beaconloss",
    "plain",
  ],
  [
    counter("node_wifi_station_transmitted_packets_total", "The total number of packets transmitted by a station.", STATION),
    "transmittedpackets",
    "plain",
  ],
  [
    counter("node_wifi_station_received_packets_total", "The total number of packets received by a station.", STATION),
    "receivedpackets",
    "plain",
  ],
];

/** mdlayher/wifi's Interface (the fields node_exporter reads). */
const INTERFACE: StructSpec = {
  index: "int64",
  name: "string",
  hardwareaddr: "bytes",
  phy: "int64",
  device: "int64",
  type: "int64",
  frequency: "int64",
};
/** mdlayher/wifi's BSS (the fields node_exporter reads, and their simple neighbours). */
const BSS: StructSpec = { ssid: "string", bssid: "bytes", frequency: "int64", beaconinterval: "int64", lastseen: "int64", status: "int64" };
/** mdlayher/wifi's StationInfo. */
const STATION_INFO: StructSpec = {
  interfaceindex: "int64",
  hardwareaddr: "bytes",
  connected: "int64",
  inactive: "int64",
  receivedbytes: "int64",
  transmittedbytes: "int64",
  receivedpackets: "int64",
  transmittedpackets: "int64",
  receivebitrate: "int64",
  transmitbitrate: "int64",
  signal: "int64",
  transmitretries: "int64",
  transmitfailed: "int64",
  beaconloss: "int64",
};

export interface WifiInterface {
  readonly name: string;
  readonly frequencyMHz: number;
}

export interface WifiBss {
  readonly ssid: string;
  readonly bssid: string;
  readonly status: number;
}

export interface WifiStation {
  readonly hardwareAddr: string;
  readonly fields: ReadonlyMap<string, FieldValue>;
}

/** An interfaces.json document ([]*wifi.Interface; a null element would make node_exporter panic). */
export function parseWifiInterfaces(json: unknown, what = "interfaces.json"): WifiInterface[] {
  return decodeArray(json, what).map((item, i) => {
    if (item === null) throw new CollectorError(`${what}[${i}]: null interface`);
    const f = decodeStruct(item, INTERFACE, `${what}[${i}]`);
    return { name: stringField(f, "name"), frequencyMHz: numberField(f, "frequency") };
  });
}

/** A bss.json document (one wifi.BSS). */
export function parseWifiBss(json: unknown, what = "bss.json"): WifiBss {
  const f = decodeStruct(json, BSS, what);
  return { ssid: stringField(f, "ssid"), bssid: hardwareAddrField(f, "bssid"), status: numberField(f, "status") };
}

/** A stationinfo.json document ([]*wifi.StationInfo). */
export function parseWifiStations(json: unknown, what = "stationinfo.json"): WifiStation[] {
  return decodeArray(json, what).map((item, i) => {
    if (item === null) throw new CollectorError(`${what}[${i}]: null station`);
    const fields = decodeStruct(item, STATION_INFO, `${what}[${i}]`);
    return { hardwareAddr: hardwareAddrField(fields, "hardwareaddr"), fields };
  });
}

/** node_exporter's bssStatusMode with mdlayher/wifi's BSSStatus values (0 authenticated, 1 associated, 2 not associated, 3 IBSS joined). */
export function bssStatusMode(status: number): string {
  if (status === 0 || status === 1) return "client";
  if (status === 3) return "ad-hoc";
  return "unknown";
}

/** time.Duration.Seconds() of a nanosecond count. */
export function durationSeconds(ns: number): number {
  const sec = Math.trunc(ns / 1e9);
  return sec + (ns - sec * 1e9) / 1e9;
}

function emitStation(out: MetricSink, device: string, station: WifiStation): void {
  for (const [desc, field, scale] of STATION_FAMILIES) {
    const raw = numberField(station.fields, field);
    out.add(desc, scale === "duration" ? durationSeconds(raw) : raw, device, station.hardwareAddr);
  }
}

function updateFromFixtures(out: MetricSink, dir: string): void {
  const interfacesFile = path.join(dir, "interfaces.json");
  const json = readFixtureJson(interfacesFile);
  if (json === undefined) throw new CollectorError(`failed to retrieve wifi interfaces: ${interfacesFile}: file not found`);
  for (const ifi of parseWifiInterfaces(json, interfacesFile)) {
    // Some virtual devices have no name and are skipped.
    if (ifi.name === "") continue;
    out.add(frequencyDesc, ifi.frequencyMHz * 1000 * 1000, ifi.name);

    const bssFile = path.join(dir, ifi.name, "bss.json");
    const bss = readFixtureJson(bssFile);
    if (bss !== undefined) {
      const b = parseWifiBss(bss, bssFile);
      out.add(stationInfoDesc, 1, ifi.name, b.bssid, b.ssid, bssStatusMode(b.status));
    }

    const stationsFile = path.join(dir, ifi.name, "stationinfo.json");
    const stations = readFixtureJson(stationsFile);
    if (stations !== undefined) for (const station of parseWifiStations(stations, stationsFile)) emitStation(out, ifi.name, station);
  }
}

export const collector: CollectorDefinition = {
  name: "wifi",
  defaultEnabled: false,
  create({ config, logger }) {
    const options = config.collectors.wifi;
    let warned = false;
    return {
      name: "wifi",
      update(out) {
        if (options.fixtures === "") {
          if (!warned) logger.warn(WIFI_LIVE_UNSUPPORTED);
          warned = true;
          return;
        }
        updateFromFixtures(out, options.fixtures);
      },
    };
  },
};
