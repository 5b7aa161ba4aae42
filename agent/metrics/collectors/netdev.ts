import os from "node:os";
import { readTextIfExists } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { KeptAttributeDirectories } from "../kept-attribute-dirs.js";
import { DeviceFilter } from "../device-filter.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";
import { quoteExcerpt, splitFields, splitLines } from "../parsers/text.js";
import { parseUint } from "../parsers/numbers.js";
import { addressInfoRows } from "./netdev-addresses.js";

/**
 * node_exporter's netdev collector. node_exporter 1.12 reads the counters over rtnetlink by
 * default; nodetap reads /proc/net/dev, which the kernel fills from the same rtnl_link_stats64
 * with the sums node_exporter's "legacy" names use (drop = dropped + missed, frame = length +
 * over + crc + frame, carrier = carrier + aborted + window + heartbeat). The one counter netlink
 * has and /proc/net/dev lacks, rx_nohandler, and the split counters of --enable-detailed-metrics
 * come from /sys/class/net/<iface>/statistics/.
 */

function statistic(key: string): MetricDesc {
  return counter(`node_network_${key}_total`, `Network device statistic ${key}.`, ["device"]);
}

/** The 16 columns of /proc/net/dev, in file order. */
export const NET_DEV_COLUMNS = [
  "rx_bytes",
  "rx_packets",
  "rx_errs",
  "rx_drop",
  "rx_fifo",
  "rx_frame",
  "rx_compressed",
  "rx_multicast",
  "tx_bytes",
  "tx_packets",
  "tx_errs",
  "tx_drop",
  "tx_fifo",
  "tx_colls",
  "tx_carrier",
  "tx_compressed",
] as const;

/** Default (legacy) metric for each /proc/net/dev column. */
const LEGACY_BY_COLUMN: readonly MetricDesc[] = [
  "receive_bytes",
  "receive_packets",
  "receive_errs",
  "receive_drop",
  "receive_fifo",
  "receive_frame",
  "receive_compressed",
  "receive_multicast",
  "transmit_bytes",
  "transmit_packets",
  "transmit_errs",
  "transmit_drop",
  "transmit_fifo",
  "transmit_colls",
  "transmit_carrier",
  "transmit_compressed",
].map(statistic);

/**
 * Detailed metric for the /proc/net/dev columns that hold a single kernel counter; the summed
 * columns (rx drop, rx frame, tx carrier) are replaced by their parts from sysfs.
 */
const DETAILED_BY_COLUMN: ReadonlyArray<MetricDesc | undefined> = [
  "receive_bytes",
  "receive_packets",
  "receive_errors",
  undefined,
  "receive_fifo_errors",
  undefined,
  "receive_compressed",
  "multicast",
  "transmit_bytes",
  "transmit_packets",
  "transmit_errors",
  "transmit_dropped",
  "transmit_fifo_errors",
  "collisions",
  undefined,
  "transmit_compressed",
].map((key) => (key === undefined ? undefined : statistic(key)));

interface SysfsStatistic {
  file: string;
  desc: MetricDesc;
}

const NOHANDLER: SysfsStatistic = { file: "rx_nohandler", desc: statistic("receive_nohandler") };

/** Counters read from sysfs in detailed mode, with their node_exporter names. */
const DETAILED_FROM_SYSFS: readonly SysfsStatistic[] = [
  ["rx_dropped", "receive_dropped"],
  ["rx_missed_errors", "receive_missed_errors"],
  ["rx_length_errors", "receive_length_errors"],
  ["rx_over_errors", "receive_over_errors"],
  ["rx_crc_errors", "receive_crc_errors"],
  ["rx_frame_errors", "receive_frame_errors"],
  ["tx_aborted_errors", "transmit_aborted_errors"],
  ["tx_carrier_errors", "transmit_carrier_errors"],
  ["tx_heartbeat_errors", "transmit_heartbeat_errors"],
  ["tx_window_errors", "transmit_window_errors"],
].map(([file, key]) => ({ file, desc: statistic(key) }));

/** The statistics files read from sysfs (the listing kept-attribute-dirs asks for; reads are by name). */
const STATISTICS_FILES: string[] = [NOHANDLER.file, ...DETAILED_FROM_SYSFS.map((s) => s.file)];

const addressInfoDesc = gauge("node_network_address_info", "node network address by device", ["device", "address", "netmask", "scope"]);

/** Untrusted file content, shortened and escaped for an error message. */
function quote(text: string): string {
  return quoteExcerpt(text, 80);
}

export interface NetDevLine {
  name: string;
  /** The 16 counters in NET_DEV_COLUMNS order. */
  counters: number[];
}

/**
 * Parses /proc/net/dev: two header lines, then "name: 16 counters" per interface. As in procfs, a
 * line that is not of that form makes the file unusable (CollectorError); blank lines are skipped.
 */
export function parseNetDev(text: string, source = "/proc/net/dev"): NetDevLine[] {
  const lines = splitLines(text);
  const devices: NetDevLine[] = [];
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    if (colon < 0) {
      if (line.trim() === "") continue;
      throw new CollectorError(`${source}: line ${i + 1}: missing ":" after the interface name: ${quote(line)}`);
    }
    const name = line.slice(0, colon).trim();
    if (name === "") throw new CollectorError(`${source}: line ${i + 1}: empty interface name: ${quote(line)}`);
    const fields = splitFields(line.slice(colon + 1));
    if (fields.length < NET_DEV_COLUMNS.length) {
      throw new CollectorError(`${source}: line ${i + 1}: ${fields.length} counters, expected ${NET_DEV_COLUMNS.length}: ${quote(line)}`);
    }
    const counters = new Array<number>(NET_DEV_COLUMNS.length);
    for (let c = 0; c < NET_DEV_COLUMNS.length; c++) {
      const value = parseUint(fields[c]);
      if (Number.isNaN(value)) {
        throw new CollectorError(`${source}: line ${i + 1}: ${NET_DEV_COLUMNS[c]} of ${quote(name)} is not a counter: ${quote(fields[c])}`);
      }
      counters[c] = value;
    }
    devices.push({ name, counters });
  }
  return devices;
}

export const collector: CollectorDefinition = {
  name: "netdev",
  defaultEnabled: true,
  create({ paths, config }) {
    const options = config.collectors.netdev;
    const filter = new DeviceFilter(options.deviceExclude, options.deviceInclude);
    const netDevFile = paths.proc("net", "dev");
    // Each interface's statistics files stay open between scrapes while its directory is the same
    // (kept-attribute-dirs.ts): one or more files per interface, opened every scrape before.
    const kept = new KeptAttributeDirectories();
    const readSysfsCounter = (device: string, file: string): number | undefined => {
      // Kernel interface names never hold "/"; a name that would leave sysfs has no counters there.
      if (device.includes("/") || device === "." || device === "..") return undefined;
      const dir = paths.sys("class", "net", device, "statistics");
      const filePath = `${dir}/${file}`;
      let files: readonly string[] | undefined;
      try {
        files = kept.filesOf(dir, () => STATISTICS_FILES);
      } catch {
        files = undefined; // not readable as a directory: no counters there, as a failed open before
      }
      if (files === undefined) return undefined;
      const text = kept.read(dir, file).text?.trim();
      if (text === undefined) return undefined;
      const value = parseUint(text);
      if (Number.isNaN(value)) throw new CollectorError(`${filePath}: expected a counter, got ${quote(text)}`);
      return value;
    };
    const emitSysfs = (out: MetricSink, device: string, stat: SysfsStatistic): void => {
      // Absent when the kernel predates the counter or sysfs does not show this device.
      const value = readSysfsCounter(device, stat.file);
      if (value !== undefined) out.add(stat.desc, value, device);
    };
    return {
      name: "netdev",
      close() {
        kept.closeAll();
      },
      update(out) {
        kept.beginRound();
        try {
          updateNetDev(out);
        } finally {
          kept.endRound();
        }
      },
    };

    function updateNetDev(out: MetricSink): void {
      const text = readTextIfExists(netDevFile);
      if (text !== undefined) {
        for (const { name, counters } of parseNetDev(text, netDevFile)) {
          if (filter.ignored(name)) continue;
          const descs = options.enableDetailedMetrics ? DETAILED_BY_COLUMN : LEGACY_BY_COLUMN;
          for (let c = 0; c < descs.length; c++) {
            const desc = descs[c];
            if (desc !== undefined) out.add(desc, counters[c], name);
          }
          emitSysfs(out, name, NOHANDLER);
          if (options.enableDetailedMetrics) for (const stat of DETAILED_FROM_SYSFS) emitSysfs(out, name, stat);
        }
      }
      // node_exporter lists every interface's addresses here, without the device filter.
      if (options.addressInfo) {
        for (const row of addressInfoRows(os.networkInterfaces())) {
          out.add(addressInfoDesc, 1, row.device, row.address, row.netmask, row.scope);
        }
      }
    }
  },
};
