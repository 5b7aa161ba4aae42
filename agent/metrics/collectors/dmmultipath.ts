import fs from "node:fs";
import path from "node:path";
import { readText } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { errorCode } from "../host-file.js";
import { gauge } from "../model.js";
import { mulUint64, parseUint64 } from "../parsers/uint64.js";
import { readSysfsAttribute } from "../sysfs-attribute.js";
import { goTrimSpace } from "../sysfs-go-text.js";

/**
 * node_exporter's dmmultipath collector (collector/dmmultipath_linux.go with procfs's
 * blockdevice.DMMultipathDevices): every /sys/block/dm-* whose dm/uuid starts with "mpath-",
 * with its name, suspended flag, size and the state of each path in its slaves/ directory
 * (/sys/block/<path>/device/state; "running" (SCSI) and "live" (NVMe) count as active).
 *
 * As in node_exporter, a missing or unreadable file anywhere in that walk (ENOENT, EACCES) means
 * no data at all for the scrape; other read errors and malformed numbers fail the collector. A
 * dm device without dm/uuid is not a device-mapper device and is skipped; one without slaves/
 * has no paths.
 */

const DEVICE = ["device", "sysfs_name"];
const infoDesc = gauge("node_dmmultipath_device_info", "Non-numeric information about a DM-multipath device.", [
  "device",
  "sysfs_name",
  "uuid",
]);
const activeDesc = gauge(
  "node_dmmultipath_device_active",
  "Whether the multipath device-mapper device is active (1) or suspended (0).",
  DEVICE,
);
const sizeDesc = gauge(
  "node_dmmultipath_device_size_bytes",
  "Size of the multipath device in bytes, read from /sys/block/<dm>/size.",
  DEVICE,
);
const pathsDesc = gauge("node_dmmultipath_device_paths", "Number of paths for a multipath device.", DEVICE);
const pathsActiveDesc = gauge(
  "node_dmmultipath_device_paths_active",
  "Number of paths in active state (SCSI running or NVMe live) for a multipath device.",
  DEVICE,
);
const pathsFailedDesc = gauge(
  "node_dmmultipath_device_paths_failed",
  "Number of paths not in active state for a multipath device.",
  DEVICE,
);
const pathStateDesc = gauge(
  "node_dmmultipath_path_state",
  "Reports the underlying device state for a multipath path, as read from /sys/block/<dev>/device/state.",
  ["device", "path", "state"],
);

export interface DmMultipathPath {
  readonly device: string;
  readonly state: string;
}

export interface DmMultipathDevice {
  readonly name: string;
  readonly sysfsName: string;
  readonly uuid: string;
  readonly suspended: boolean;
  readonly sizeBytes: number;
  readonly paths: readonly DmMultipathPath[];
}

/** A path's state counts as active: SCSI "running" or NVMe "live". */
export function isPathActive(state: string): boolean {
  return state === "running" || state === "live";
}

/** util.ReadUintFromFile's parse: strconv.ParseUint(strings.TrimSpace(text), 10, 64). */
export function parseSysfsUint(text: string, what: string): bigint {
  const trimmed = goTrimSpace(text);
  const value = parseUint64(trimmed, 10);
  if (value === undefined) throw new CollectorError(`${what}: expected an unsigned integer, got ${JSON.stringify(trimmed.slice(0, 40))}`);
  return value;
}

/** node_exporter's ErrNoData: the walk met a missing or unreadable file. */
class NoData extends Error {}

function isNoDataCode(code: string | undefined): boolean {
  return code === "ENOENT" || code === "EACCES" || code === "EPERM";
}

function failRead(file: string, code: string): never {
  if (isNoDataCode(code)) throw new NoData(`${file}: ${code}`);
  throw new CollectorError(`failed to scan DM-multipath devices: ${file}: ${code}`);
}

/** util.SysReadFile: one read of at most 128 bytes, trimmed. */
function sysReadFile(file: string): string {
  const read = readSysfsAttribute(file, 128);
  if (read.errno !== undefined) failRead(file, read.errno);
  return goTrimSpace(read.text);
}

/** util.ReadUintFromFile: the whole file, as a uint64. */
function readUint(file: string): bigint {
  let text: string;
  try {
    text = readText(file);
  } catch (err) {
    return failRead(file, errorCode(err) ?? (err as Error).message);
  }
  return parseSysfsUint(text, file);
}

function listDir(dir: string): string[] | undefined {
  try {
    return fs.readdirSync(dir).sort();
  } catch (err) {
    const code = errorCode(err) ?? "EIO";
    if (code === "ENOENT") return undefined;
    return failRead(dir, code);
  }
}

/** procfs's DMMultipathDevices under a sysfs root; undefined for node_exporter's ErrNoData. */
export function readDmMultipathDevices(sysfs: string): DmMultipathDevice[] | undefined {
  const blockDir = path.join(sysfs, "block");
  try {
    const entries = listDir(blockDir);
    if (entries === undefined) return undefined;
    const devices: DmMultipathDevice[] = [];
    for (const entry of entries) {
      if (!entry.startsWith("dm-")) continue;
      const dmDir = path.join(blockDir, entry);
      const uuidRead = readSysfsAttribute(`${dmDir}/dm/uuid`, 128);
      if (uuidRead.errno === "ENOENT") continue; // not a device-mapper device
      if (uuidRead.errno !== undefined) failRead(`${dmDir}/dm/uuid`, uuidRead.errno);
      const uuid = goTrimSpace(uuidRead.text);
      if (!uuid.startsWith("mpath-")) continue;
      const name = sysReadFile(`${dmDir}/dm/name`);
      const suspended = readUint(`${dmDir}/dm/suspended`) === 1n;
      const sectors = readUint(`${dmDir}/size`);
      const paths = (listDir(`${dmDir}/slaves`) ?? []).map((slave) => ({
        device: slave,
        state: sysReadFile(path.join(blockDir, slave, "device/state")),
      }));
      devices.push({ name, sysfsName: entry, uuid, suspended, sizeBytes: Number(mulUint64(sectors, 512n)), paths });
    }
    return devices;
  } catch (err) {
    if (err instanceof NoData) return undefined;
    throw err;
  }
}

export const collector: CollectorDefinition = {
  name: "dmmultipath",
  defaultEnabled: true,
  create({ paths, logger }) {
    return {
      name: "dmmultipath",
      update(out) {
        const devices = readDmMultipathDevices(paths.sysfs);
        if (devices === undefined) {
          logger.debug("could not read DM-multipath devices");
          return;
        }
        for (const dev of devices) {
          out.add(infoDesc, 1, dev.name, dev.sysfsName, dev.uuid);
          out.add(activeDesc, dev.suspended ? 0 : 1, dev.name, dev.sysfsName);
          out.add(sizeDesc, dev.sizeBytes, dev.name, dev.sysfsName);
          let active = 0;
          for (const p of dev.paths) {
            if (isPathActive(p.state)) active++;
            out.add(pathStateDesc, 1, dev.name, p.device, p.state);
          }
          out.add(pathsDesc, dev.paths.length, dev.name, dev.sysfsName);
          out.add(pathsActiveDesc, active, dev.name, dev.sysfsName);
          out.add(pathsFailedDesc, dev.paths.length - active, dev.name, dev.sysfsName);
        }
      },
    };
  },
};
