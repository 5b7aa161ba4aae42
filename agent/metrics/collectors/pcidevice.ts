import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import { readText } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { gauge } from "../model.js";
import { parseIntAutoBase } from "../parsers/auto-base-int.js";
import { parseGoFloat } from "../parsers/go-float.js";
import { parseInt64 } from "../parsers/numbers.js";
import { parseUint64 } from "../parsers/uint64.js";
import { readSysfsAttribute } from "../sysfs-attribute.js";
import { goTrimSpace } from "../sysfs-go-text.js";
import { PciIds } from "./pcidevice-names.js";

/**
 * node_exporter's pcidevice collector (collector/pcidevice_linux.go with procfs's
 * sysfs.PciDevices): for each /sys/bus/pci/devices/<location> link, node_pcidevice_info (IDs,
 * parent location from the link target, and with --collector.pcidevice.names the names from a
 * pci.ids file), link speed and width (-1 when the kernel has none), D3cold and SR-IOV
 * attributes (0 when absent), the power state when the device has one, and the NUMA node when
 * it is known. Attributes are read as procfs's SysReadFile does: one read of 128 bytes, trimmed.
 *
 * No /sys/bus/pci/devices, or a device missing one of its identity files (class, vendor, device,
 * subsystem_vendor, subsystem_device, revision), means no series (node_exporter's ErrNoData);
 * other read errors and malformed values fail the collector, naming the file.
 */

const LOCATION = ["segment", "bus", "device", "function"];
const INFO_LABELS = [
  ...LOCATION,
  "parent_segment",
  "parent_bus",
  "parent_device",
  "parent_function",
  "class_id",
  "vendor_id",
  "device_id",
  "subsystem_vendor_id",
  "subsystem_device_id",
  "revision",
];
const NAME_LABELS = ["vendor_name", "device_name", "subsystem_vendor_name", "subsystem_device_name", "class_name"];
const INFO_HELP = "Non-numeric data from /sys/bus/pci/devices/<location>, value is always 1.";
const infoDesc = gauge("node_pcidevice_info", INFO_HELP, INFO_LABELS);
const infoWithNamesDesc = gauge("node_pcidevice_info", INFO_HELP, [...INFO_LABELS, ...NAME_LABELS]);
const maxLinkTransfersDesc = gauge(
  "node_pcidevice_max_link_transfers_per_second",
  "Value of maximum link's transfers per second (T/s)",
  LOCATION,
);
const maxLinkWidthDesc = gauge("node_pcidevice_max_link_width", "Value of maximum link's width (number of lanes)", LOCATION);
const currentLinkTransfersDesc = gauge(
  "node_pcidevice_current_link_transfers_per_second",
  "Value of current link's transfers per second (T/s)",
  LOCATION,
);
const currentLinkWidthDesc = gauge("node_pcidevice_current_link_width", "Value of current link's width (number of lanes)", LOCATION);
const d3coldDesc = gauge("node_pcidevice_d3cold_allowed", "Whether the PCIe device supports D3cold power state (0/1).", LOCATION);
const autoprobeDesc = gauge(
  "node_pcidevice_sriov_drivers_autoprobe",
  "Whether SR-IOV drivers autoprobe is enabled for the device (0/1).",
  LOCATION,
);
const numvfsDesc = gauge("node_pcidevice_sriov_numvfs", "Number of Virtual Functions (VFs) currently enabled for SR-IOV.", LOCATION);
const totalvfsDesc = gauge("node_pcidevice_sriov_totalvfs", "Total number of Virtual Functions (VFs) supported by the device.", LOCATION);
const vfTotalMsixDesc = gauge("node_pcidevice_sriov_vf_total_msix", "Total number of MSI-X vectors for Virtual Functions.", LOCATION);
const powerStateDesc = gauge(
  "node_pcidevice_power_state",
  "PCIe device power state, one of: D0, D1, D2, D3hot, D3cold, unknown or error.",
  [...LOCATION, "state"],
);
const numaNodeDesc = gauge(
  "node_pcidevice_numa_node",
  "NUMA node number for the PCI device. -1 indicates unknown or not available.",
  LOCATION,
);
const POWER_STATES = ["D0", "D1", "D2", "D3hot", "D3cold", "unknown", "error"];

/** Where node_exporter looks for pci.ids without --collector.pcidevice.idsfile. */
export const PCI_IDS_PATHS = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"];

export interface PciLocation {
  readonly segment: number;
  readonly bus: number;
  readonly device: number;
  readonly function: number;
}

export interface PciDevice {
  readonly location: PciLocation;
  readonly parent?: PciLocation;
  readonly class: number;
  readonly vendor: number;
  readonly device: number;
  readonly subsystemVendor: number;
  readonly subsystemDevice: number;
  readonly revision: number;
  maxLinkSpeed?: number;
  maxLinkWidth?: number;
  currentLinkSpeed?: number;
  currentLinkWidth?: number;
  numaNode?: number;
  sriovDriversAutoprobe?: boolean;
  sriovNumvfs?: number;
  sriovTotalvfs?: number;
  sriovVfTotalMsix?: number;
  d3coldAllowed?: boolean;
  powerState?: string;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function inInt32(value: number): boolean {
  return value >= INT32_MIN && value <= INT32_MAX;
}

/** strconv.ParseInt(s, 16, 32); NaN where Go returns an error. */
function parseHexInt32(s: string): number {
  if (!/^[+-]?[0-9a-fA-F]+$/.test(s)) return NaN;
  const value = parseInt(s, 16);
  return inInt32(value) ? value : NaN;
}

/** procfs's parsePciDeviceLocation: "0000:00:02.1" as segment:bus:device.function (hex). */
export function parsePciLocation(loc: string): PciLocation {
  const colon = loc.split(":");
  const parts = colon.length === 3 ? [colon[0], colon[1], ...colon[2].split(".")] : [];
  if (parts.length !== 4) throw new CollectorError(`invalid PCI location ${JSON.stringify(loc.slice(0, 60))}`);
  const [segment, bus, device, fn] = parts.map(parseHexInt32);
  for (const [what, value] of [
    ["segment", segment],
    ["bus", bus],
    ["device", device],
    ["function", fn],
  ] as const) {
    if (Number.isNaN(value)) throw new CollectorError(`invalid PCI location ${JSON.stringify(loc.slice(0, 60))}: invalid ${what}`);
  }
  return { segment, bus, device, function: fn };
}

/** fmt's %0<width>x of an int (a sign counts in the width). */
function hex(value: number, width: number): string {
  const digits = Math.abs(value).toString(16);
  return value < 0 ? `-${digits.padStart(width - 1, "0")}` : digits.padStart(width, "0");
}

/** PciDeviceLocation.Strings(): the segment, bus, device and function label values. */
export function locationLabels(loc: PciLocation): [string, string, string, string] {
  return [hex(loc.segment, 4), hex(loc.bus, 2), hex(loc.device, 2), hex(loc.function, 1)];
}

/** node_exporter's ErrNoData: a device lacks one of its identity files. */
class NoData extends Error {}

/** The identity files, parsed with strconv.ParseInt(s, 0, 32) and kept as uint32. */
const IDENTITY = ["class", "vendor", "device", "subsystem_vendor", "subsystem_device", "revision"] as const;

/** Parses an identity attribute; the uint32 of an int32 (as procfs's uint32(value)). */
export function parseIdentity(text: string, what: string): number {
  const value = parseIntAutoBase(text);
  if (Number.isNaN(value) || !inInt32(value)) throw new CollectorError(`failed to parse ${what} ${JSON.stringify(text.slice(0, 40))}`);
  return value >>> 0;
}

/** "8.0 GT/s PCIe" as 8 (GT/s); CollectorError for another unit or a malformed number. */
export function parseLinkSpeed(text: string, what: string): number {
  const space = text.indexOf(" ");
  if (space < 0) throw new CollectorError(`invalid value for ${what} ${JSON.stringify(text.slice(0, 40))}`);
  if (text.slice(space + 1) !== "GT/s PCIe") throw new CollectorError(`unknown unit for ${what} ${JSON.stringify(text.slice(0, 40))}`);
  const value = parseGoFloat(goTrimSpace(text.slice(0, space + 1)));
  if (value === undefined) throw new CollectorError(`failed to parse ${what} ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}

function parseIntField(text: string, what: string, bits: 32 | 64): number {
  const value = parseInt64(text);
  if (Number.isNaN(value) || (bits === 32 && !inInt32(value)))
    throw new CollectorError(`failed to parse ${what} ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}

function parseUintField(text: string, what: string, bits: 32 | 64): number {
  const value = parseUint64(text, 10);
  if (value === undefined || (bits === 32 && value > 0xffffffffn))
    throw new CollectorError(`failed to parse ${what} ${JSON.stringify(text.slice(0, 40))}`);
  return Number(value);
}

/** util.SysReadFile; undefined for a missing optional file. */
function readAttribute(dir: string, file: string, required: boolean): string | undefined {
  const full = path.join(dir, file);
  const read = readSysfsAttribute(full, 128);
  if (read.errno === "ENOENT") {
    if (required) throw new NoData(full);
    return undefined;
  }
  if (read.errno !== undefined) throw new CollectorError(`failed to read file ${full}: ${read.errno}`);
  return goTrimSpace(read.text);
}

/** procfs's parsePciDevice for one /sys/bus/pci/devices entry. */
export function readPciDevice(devicesDir: string, name: string): PciDevice {
  const dir = path.join(devicesDir, name);
  let target: string;
  try {
    target = fs.readlinkSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    if (code === "ENOENT") throw new NoData(dir);
    throw new CollectorError(`failed to readlink ${dir}: ${code}`, { cause: err });
  }
  const location = parsePciLocation(path.posix.basename(target));
  const parentName = path.posix.basename(path.posix.dirname(target));
  // A parent named pci<segment>:<bus> is the host bridge, not a PCI device.
  const parent = parentName.startsWith("pci") ? undefined : parsePciLocation(parentName);

  const ids = IDENTITY.map((file) => parseIdentity(readAttribute(dir, file, true)!, `${file} of ${name}`));
  const device: PciDevice = {
    location,
    parent,
    class: ids[0],
    vendor: ids[1],
    device: ids[2],
    subsystemVendor: ids[3],
    subsystemDevice: ids[4],
    revision: ids[5],
  };
  const what = (file: string) => `${file} of ${name}`;

  for (const file of ["max_link_speed", "max_link_width", "current_link_speed", "current_link_width", "numa_node"] as const) {
    const text = readAttribute(dir, file, false);
    // Some devices have an empty value or "Unknown" (the kernel's pci_speed_string).
    if (text === undefined || text === "" || text.startsWith("Unknown")) continue;
    if (file === "max_link_speed") device.maxLinkSpeed = parseLinkSpeed(text, what(file));
    else if (file === "current_link_speed") device.currentLinkSpeed = parseLinkSpeed(text, what(file));
    else if (file === "max_link_width") device.maxLinkWidth = parseIntField(text, what(file), 64);
    else if (file === "current_link_width") device.currentLinkWidth = parseIntField(text, what(file), 64);
    else device.numaNode = parseIntField(text, what(file), 32);
  }

  // SR-IOV and power management attributes are optional. (procfs also parses sriov_offset,
  // sriov_stride and sriov_vf_device, which node_exporter does not emit; they are not read.)
  for (const file of [
    "sriov_drivers_autoprobe",
    "sriov_numvfs",
    "sriov_totalvfs",
    "sriov_vf_total_msix",
    "d3cold_allowed",
    "power_state",
  ] as const) {
    const text = readAttribute(dir, file, false);
    if (text === undefined || text === "") continue;
    if (file === "sriov_drivers_autoprobe") device.sriovDriversAutoprobe = parseIntField(text, what(file), 32) !== 0;
    else if (file === "sriov_numvfs") device.sriovNumvfs = parseUintField(text, what(file), 32);
    else if (file === "sriov_totalvfs") device.sriovTotalvfs = parseUintField(text, what(file), 32);
    else if (file === "sriov_vf_total_msix") device.sriovVfTotalMsix = parseUintField(text, what(file), 64);
    else if (file === "d3cold_allowed") device.d3coldAllowed = parseIntField(text, what(file), 32) !== 0;
    else device.powerState = text;
  }
  return device;
}

/** procfs's PciDevices: every device by location; undefined for node_exporter's ErrNoData. */
export function readPciDevices(sysfs: string): PciDevice[] | undefined {
  const devicesDir = path.join(sysfs, "bus/pci/devices");
  let names: string[];
  try {
    names = fs.readdirSync(devicesDir).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "EIO";
    if (code === "ENOENT") return undefined;
    throw new CollectorError(`error obtaining PCI device info: ${devicesDir}: ${code}`, { cause: err });
  }
  const byLocation = new Map<string, PciDevice>();
  try {
    for (const name of names) {
      const device = readPciDevice(devicesDir, name);
      byLocation.set(locationLabels(device.location).join(":"), device);
    }
  } catch (err) {
    if (err instanceof NoData) return undefined;
    throw err;
  }
  return [...byLocation.values()];
}

/**
 * The pci.ids names for --collector.pcidevice.names: the idsfile option's file, or else the first
 * of node_exporter's default paths that exists on the host (under the host root), then in
 * nodetap's own filesystem. A file that cannot be read leaves the IDs unnamed.
 */
export function loadPciIds(idsFile: string, paths: HostPaths, logger: Logger): PciIds {
  const candidates = idsFile !== "" ? [idsFile] : [...PCI_IDS_PATHS.map((p) => paths.root(p)), ...PCI_IDS_PATHS];
  for (const file of candidates) {
    try {
      const ids = new PciIds(readText(file));
      logger.debug({ file }, "pcidevice: loaded PCI IDs");
      return ids;
    } catch (err) {
      logger.debug({ file, err: (err as Error).message }, "pcidevice: cannot read PCI IDs file");
    }
  }
  return new PciIds();
}

const hex0x = (value: number, width: number) => `0x${hex(value, width)}`;

export const collector: CollectorDefinition = {
  name: "pcidevice",
  defaultEnabled: false,
  create({ paths, config, logger }) {
    const options = config.collectors.pcidevice;
    const names = options.names ? loadPciIds(options.idsFile, paths, logger) : undefined;
    return {
      name: "pcidevice",
      update(out) {
        const devices = readPciDevices(paths.sysfs);
        if (devices === undefined) {
          logger.debug("pcidevice: PCI devices not found, skipping");
          return;
        }
        for (const d of devices) {
          const loc = locationLabels(d.location);
          const parent = d.parent === undefined ? ["*", "*", "*", "*"] : locationLabels(d.parent);
          const classId = hex0x(d.class, 6);
          const vendorId = hex0x(d.vendor, 4);
          const deviceId = hex0x(d.device, 4);
          const subsystemVendorId = hex0x(d.subsystemVendor, 4);
          const subsystemDeviceId = hex0x(d.subsystemDevice, 4);
          const info = [...loc, ...parent, classId, vendorId, deviceId, subsystemVendorId, subsystemDeviceId, hex0x(d.revision, 2)];
          if (names === undefined) out.add(infoDesc, 1, ...info);
          else {
            out.add(
              infoWithNamesDesc,
              1,
              ...info,
              names.vendorName(vendorId),
              names.deviceName(vendorId, deviceId),
              names.vendorName(subsystemVendorId),
              names.subsystemName(vendorId, deviceId, subsystemVendorId, subsystemDeviceId),
              names.className(classId),
            );
          }
          out.add(maxLinkTransfersDesc, d.maxLinkSpeed === undefined ? -1 : d.maxLinkSpeed * 1e9, ...loc);
          out.add(maxLinkWidthDesc, d.maxLinkWidth ?? -1, ...loc);
          out.add(currentLinkTransfersDesc, d.currentLinkSpeed === undefined ? -1 : d.currentLinkSpeed * 1e9, ...loc);
          out.add(currentLinkWidthDesc, d.currentLinkWidth ?? -1, ...loc);
          out.add(d3coldDesc, d.d3coldAllowed ? 1 : 0, ...loc);
          out.add(autoprobeDesc, d.sriovDriversAutoprobe ? 1 : 0, ...loc);
          out.add(numvfsDesc, d.sriovNumvfs ?? 0, ...loc);
          out.add(totalvfsDesc, d.sriovTotalvfs ?? 0, ...loc);
          out.add(vfTotalMsixDesc, d.sriovVfTotalMsix ?? 0, ...loc);
          if (d.powerState !== undefined) {
            for (const state of POWER_STATES) out.add(powerStateDesc, state === d.powerState ? 1 : 0, ...loc, state);
          }
          if (d.numaNode !== undefined && d.numaNode !== -1) out.add(numaNodeDesc, d.numaNode, ...loc);
        }
      },
    };
  },
};
