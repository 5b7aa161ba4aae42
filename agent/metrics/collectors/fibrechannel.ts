import path from "node:path";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";
import { isMaxUint64, parseUint64 } from "../parsers/uint64.js";
import { isNotSupported, listDir, readClassAttribute, readError } from "../sysfs-class.js";

/**
 * node_exporter's fibrechannel collector (collector/fibrechannel_linux.go over procfs's
 * sysfs.FibreChannelClass): an info series per host of /sys/class/fc_host and a counter per
 * statistics/ file. A missing class directory is "no data"; a host attribute the driver does not
 * expose leaves its label empty; a counter of 2^64-1 (not implemented by the HBA) is left out;
 * any other read error, or a statistic that is not an unsigned integer, fails the collector.
 */

const infoDesc = gauge("node_fibrechannel_info", "Non-numeric data from /sys/class/fc_host/<host>, value is always 1.", [
  "dev_loss_tmo",
  "fabric_name",
  "fc_host",
  "port_id",
  "port_name",
  "port_state",
  "port_type",
  "speed",
  "supported_classes",
  "supported_speeds",
  "symbolic_name",
]);

/** The statistics files procfs keeps and their metrics, in the order node_exporter prints the families. */
const COUNTERS: ReadonlyArray<{ file: string; desc: MetricDesc }> = [
  ["dumped_frames", "dumped_frames_total", "Number of dumped frames"],
  ["error_frames", "error_frames_total", "Number of errors in frames"],
  ["fcp_packet_aborts", "fcp_packet_aborts_total", "Number of aborted packets"],
  ["invalid_crc_count", "invalid_crc_total", "Invalid Cyclic Redundancy Check count"],
  ["invalid_tx_word_count", "invalid_tx_words_total", "Number of invalid words transmitted by host port"],
  ["link_failure_count", "link_failure_total", "Number of times the host port link has failed"],
  ["loss_of_signal_count", "loss_of_signal_total", "Number of times signal has been lost"],
  ["loss_of_sync_count", "loss_of_sync_total", "Number of failures on either bit or transmission word boundaries"],
  ["nos_count", "nos_total", "Number Not_Operational Primitive Sequence received by host port"],
  ["rx_frames", "rx_frames_total", "Number of frames received"],
  ["rx_words", "rx_words_total", "Number of words received by host port"],
  ["seconds_since_last_reset", "seconds_since_last_reset_total", "Number of seconds since last host port reset"],
  ["tx_frames", "tx_frames_total", "Number of frames transmitted by host port"],
  ["tx_words", "tx_words_total", "Number of words transmitted by host port"],
].map(([file, metric, help]) => ({ file, desc: counter(`node_fibrechannel_${metric}`, help, ["fc_host"]) }));

const COUNTER_FILES = new Set(COUNTERS.map((c) => c.file));

/** Host attributes procfs reads, in its order (node_name is read, and can fail, but is not exported). */
const HOST_ATTRIBUTES = [
  "speed",
  "port_state",
  "port_type",
  "node_name",
  "port_id",
  "port_name",
  "fabric_name",
  "dev_loss_tmo",
  "symbolic_name",
  "supported_classes",
  "supported_speeds",
] as const;
type HostAttribute = (typeof HOST_ATTRIBUTES)[number];

/** Attributes printed as 0x-prefixed hex, whose first two characters procfs drops. */
const HEX_NAMES = new Set<HostAttribute>(["node_name", "port_id", "port_name", "fabric_name"]);

export interface FibreChannelHost {
  readonly name: string;
  /** Attributes the host has (absent ones are empty labels). */
  readonly attributes: Partial<Record<HostAttribute, string>>;
  /** Counter values by statistics file name; a file that is missing or 2^64-1 is not there. */
  readonly counters: ReadonlyMap<string, number>;
}

/** procfs's handling of a host attribute's text: "0x" dropped from the hex names (when longer than 2 characters). */
export function fibreChannelAttribute(name: HostAttribute, text: string): string {
  return HEX_NAMES.has(name) && text.length > 2 ? text.slice(2) : text;
}

/**
 * A statistics file's value: a number, or undefined for 2^64-1 (not implemented by the HBA).
 * Parsed like Go's strconv.ParseUint(text, 0, 64), which the kernel's "0x1f" needs; anything
 * else is a CollectorError, as procfs fails the class on it.
 */
export function parseFibreChannelCounter(file: string, text: string): number | undefined {
  const value = parseUint64(text, 0);
  if (value === undefined) throw new CollectorError(`${file}: expected an unsigned integer, got ${JSON.stringify(text.slice(0, 40))}`);
  return isMaxUint64(value) ? undefined : Number(value);
}

function readHost(classDir: string, name: string): FibreChannelHost {
  const dir = path.join(classDir, name);
  const attributes: Partial<Record<HostAttribute, string>> = {};
  for (const attribute of HOST_ATTRIBUTES) {
    const file = path.join(dir, attribute);
    const read = readClassAttribute(file);
    if (read.errno === undefined) attributes[attribute] = fibreChannelAttribute(attribute, read.text);
    // Drivers may leave attributes out of sysfs (node_exporter issue #2919).
    else if (read.errno !== "ENOENT") throw readError(file, read.errno, read.during);
  }

  const counters = new Map<string, number>();
  const statsDir = path.join(dir, "statistics");
  const listing = listDir(statsDir);
  if (listing.errno !== undefined) {
    if (listing.errno !== "ENOENT") throw readError(statsDir, listing.errno);
    return { name, attributes, counters };
  }
  for (const entry of listing.entries) {
    if (!entry.isFile() || entry.name === "reset_statistics") continue;
    const file = path.join(statsDir, entry.name);
    const read = readClassAttribute(file);
    if (read.errno !== undefined) {
      // Write-only files: procfs skips a missing file and a read the driver does not support.
      if (read.errno === "ENOENT" || (read.during === "read" && isNotSupported(read.errno))) continue;
      throw readError(file, read.errno, read.during);
    }
    if (!COUNTER_FILES.has(entry.name)) continue;
    const value = parseFibreChannelCounter(file, read.text);
    if (value !== undefined) counters.set(entry.name, value);
  }
  return { name, attributes, counters };
}

/** Every host of /sys/class/fc_host, sorted; undefined when the class directory does not exist. */
export function readFibreChannelClass(classDir: string): FibreChannelHost[] | undefined {
  const listing = listDir(classDir);
  if (listing.errno !== undefined) {
    if (listing.errno === "ENOENT") return undefined;
    throw readError(classDir, listing.errno);
  }
  return listing.entries.map((entry) => readHost(classDir, entry.name));
}

export function emitFibreChannel(out: MetricSink, hosts: readonly FibreChannelHost[]): void {
  for (const { desc, file } of COUNTERS) {
    for (const host of hosts) {
      const value = host.counters.get(file);
      if (value !== undefined) out.add(desc, value, host.name);
    }
    if (file === "fcp_packet_aborts") {
      // node_fibrechannel_info sorts between fcp_packet_aborts_total and invalid_crc_total.
      for (const { name, attributes: a } of hosts) {
        out.add(
          infoDesc,
          1,
          a.dev_loss_tmo ?? "",
          a.fabric_name ?? "",
          name,
          a.port_id ?? "",
          a.port_name ?? "",
          a.port_state ?? "",
          a.port_type ?? "",
          a.speed ?? "",
          a.supported_classes ?? "",
          a.supported_speeds ?? "",
          a.symbolic_name ?? "",
        );
      }
    }
  }
}

export const collector: CollectorDefinition = {
  name: "fibrechannel",
  defaultEnabled: true,
  create({ paths }) {
    const classDir = paths.sys("class", "fc_host");
    return {
      name: "fibrechannel",
      update(out) {
        const hosts = readFibreChannelClass(classDir);
        if (hosts !== undefined) emitFibreChannel(out, hosts);
      },
    };
  },
};
