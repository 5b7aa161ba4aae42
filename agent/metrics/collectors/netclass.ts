import fs from "node:fs";
import { isMissing } from "../../host/read.js";
import { compileGoRegex } from "../../config/values.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";
import { parseIntAutoBase } from "../parsers/auto-base-int.js";
import { KeptAttributeDirectories } from "../kept-attribute-dirs.js";

/**
 * node_exporter's netclass collector (sysfs path, its default): one set of series per entry of
 * /sys/class/net, from the interface's attribute files.
 *
 * The attributes are read synchronously on the main thread (one read(2), as procfs does, through
 * descriptors kept open while the device directory stays the same object: kept-attribute-dirs.ts):
 * sysfs attributes are generated in memory, with no storage to wait for. Measured on the
 * development VM (88 files a scrape): 1.2 ms of CPU inline, 1.4 ms through a worker thread (which
 * overlapped the other collectors but cost a V8 isolate, megabytes of RSS that grew with every
 * scrape) and 5 ms through the libuv thread pool (three thread hops a file). The attributes that
 * can wait are speed and duplex, which take the RTNL lock and ask the driver; node_exporter reads
 * them the same way on every scrape.
 */

const upDesc = gauge("node_network_up", "Value is 1 if operstate is 'up', 0 otherwise.", ["device"]);
const infoDesc = gauge("node_network_info", "Non-numeric data from /sys/class/net/<iface>, value is always 1.", [
  "device",
  "address",
  "broadcast",
  "duplex",
  "operstate",
  "adminstate",
  "ifalias",
]);

function property(name: string, type: "counter" | "gauge" = "gauge"): MetricDesc {
  return (type === "counter" ? counter : gauge)(`node_network_${name}`, `Network device property: ${name}`, ["device"]);
}

/** Numeric attribute files and their metric (speed, which needs a conversion, is separate). */
const NUMERIC_PROPERTIES = [
  { file: "addr_assign_type", desc: property("address_assign_type") },
  { file: "carrier", desc: property("carrier") },
  { file: "carrier_changes", desc: property("carrier_changes_total", "counter") },
  { file: "carrier_up_count", desc: property("carrier_up_changes_total", "counter") },
  { file: "carrier_down_count", desc: property("carrier_down_changes_total", "counter") },
  { file: "dev_id", desc: property("device_id") },
  { file: "dormant", desc: property("dormant") },
  { file: "flags", desc: property("flags") },
  { file: "ifindex", desc: property("iface_id") },
  { file: "iflink", desc: property("iface_link") },
  { file: "link_mode", desc: property("iface_link_mode") },
  { file: "mtu", desc: property("mtu_bytes") },
  { file: "name_assign_type", desc: property("name_assign_type") },
  { file: "netdev_group", desc: property("net_dev_group") },
  { file: "tx_queue_len", desc: property("transmit_queue_length") },
  { file: "type", desc: property("protocol_type") },
] as const;
const speedDesc = property("speed_bytes");

const TEXT_ATTRIBUTES = ["address", "broadcast", "duplex", "operstate", "ifalias"] as const;

type NumericFile = (typeof NUMERIC_PROPERTIES)[number]["file"] | "speed";
type TextFile = (typeof TEXT_ATTRIBUTES)[number];
export type NetClassAttributeFile = NumericFile | TextFile;

const NUMERIC_FILES: readonly NumericFile[] = [...NUMERIC_PROPERTIES.map((p) => p.file), "speed"];

/** Every attribute file the collector reads; other files in the device directory are not opened. */
export const NETCLASS_ATTRIBUTE_FILES: ReadonlySet<string> = new Set<string>([...NUMERIC_FILES, ...TEXT_ATTRIBUTES]);

/** One interface as procfs's sysfs.NetClassIface: text attributes default to "", numbers may be absent. */
export interface NetClassIface {
  text: Record<TextFile, string>;
  numbers: Partial<Record<NumericFile, number>>;
}

/**
 * Interprets the raw (trimmed) contents of a device's attribute files. Numbers are parsed as Go's
 * ParseInt with base 0 ("0x1303" for flags); a value that does not parse is left out, as procfs
 * leaves the field nil, so its metric is not emitted.
 */
export function parseNetClassIface(raw: Partial<Record<NetClassAttributeFile, string>>): NetClassIface {
  const text = { address: "", broadcast: "", duplex: "", operstate: "", ifalias: "" };
  for (const name of TEXT_ATTRIBUTES) text[name] = raw[name] ?? "";
  const numbers: Partial<Record<NumericFile, number>> = {};
  for (const name of NUMERIC_FILES) {
    const value = raw[name];
    if (value === undefined) continue;
    const parsed = parseIntAutoBase(value);
    if (!Number.isNaN(parsed)) numbers[name] = parsed;
  }
  return { text, numbers };
}

/** "up" when IFF_UP is set in flags, "down" when not, "unknown" without flags (node_exporter's getAdminState). */
export function adminState(flags: number | undefined): string {
  if (flags === undefined) return "unknown";
  return (flags & 1) === 1 ? "up" : "down";
}

/** node_exporter's speed_bytes: Mbit/s times 10^6 / 8, truncated like Go's int64 division. */
export function speedBytes(speedMbps: number): number {
  return Math.trunc((speedMbps * 1000 * 1000) / 8);
}

export function emitNetClassIface(out: MetricSink, device: string, iface: NetClassIface, ignoreInvalidSpeed: boolean): void {
  const { text, numbers } = iface;
  out.add(upDesc, text.operstate === "up" ? 1 : 0, device);
  out.add(infoDesc, 1, device, text.address, text.broadcast, text.duplex, text.operstate, adminState(numbers.flags), text.ifalias);
  for (const { file, desc } of NUMERIC_PROPERTIES) {
    const value = numbers[file];
    if (value !== undefined) out.add(desc, value, device);
  }
  // Some drivers report -1 when the speed is unknown.
  const speed = numbers.speed;
  if (speed !== undefined && (speed >= 0 || !ignoreInvalidSpeed)) out.add(speedDesc, speedBytes(speed), device);
}

export const collector: CollectorDefinition = {
  name: "netclass",
  defaultEnabled: true,
  create({ paths, config }) {
    const options = config.collectors.netclass;
    const ignoredDevices = compileGoRegex(options.ignoredDevices);
    const netClassDir = paths.sys("class", "net");
    const kept = new KeptAttributeDirectories();
    return {
      name: "netclass",
      update(out) {
        kept.beginRound();
        try {
          const devices = listNetDevices(netClassDir);
          if (devices === undefined) return;
          for (const device of devices) {
            if (ignoredDevices.test(device)) continue;
            // Concatenated: names from readdir hold no "/", and path.join showed in the scrape's allocations.
            const deviceDir = `${netClassDir}/${device}`;
            const files = attributeFilesOfKept(kept, deviceDir);
            // The device went away between listing and reading: nothing to report for it.
            if (files === undefined) continue;
            const raw: Partial<Record<NetClassAttributeFile, string>> = {};
            for (const file of files) {
              // Files the kernel refuses to read (EINVAL for the speed of a down link, EOPNOTSUPP) are left out, as procfs does.
              const value = kept.read(deviceDir, file).text;
              if (value !== undefined) raw[file as NetClassAttributeFile] = value.trim();
            }
            emitNetClassIface(out, device, parseNetClassIface(raw), options.ignoreInvalidSpeed);
          }
        } finally {
          kept.endRound();
        }
      },
      close() {
        kept.closeAll();
      },
    };
  },
};

/** Entries of /sys/class/net that are not regular files (bonding_masters is one), sorted; undefined if unreadable. */
function listNetDevices(dir: string): string[] | undefined {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // node_exporter treats a missing or forbidden /sys/class/net as "no data".
    if (isMissing(err) || code === "EACCES" || code === "EPERM") return undefined;
    throw new CollectorError(`${dir}: ${(err as Error).message}`, { cause: err });
  }
  const names: string[] = [];
  for (const entry of entries) if (!entry.isFile()) names.push(entry.name);
  return names.sort();
}

/** attributeFilesOf, through the kept directories; undefined when the device is gone. */
function attributeFilesOfKept(kept: KeptAttributeDirectories, deviceDir: string): string[] | undefined {
  try {
    return kept.filesOf(deviceDir, () => attributeFilesOf(deviceDir));
  } catch (err) {
    if (err instanceof CollectorError) throw err;
    if (isMissing(err)) return undefined;
    throw new CollectorError(`${deviceDir}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The attribute files the collector uses that the device has, as regular files (as procfs does:
 * symlinks such as `device` and directories are not attributes); undefined when the device is gone.
 */
function attributeFilesOf(deviceDir: string): string[] | undefined {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(deviceDir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw new CollectorError(`${deviceDir}: ${(err as Error).message}`, { cause: err });
  }
  return entries.filter((entry) => entry.isFile() && NETCLASS_ATTRIBUTE_FILES.has(entry.name)).map((entry) => entry.name);
}
