import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import { isMissing, listDir } from "../../host/read.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";
import { parseUint } from "../parsers/numbers.js";
import { quoteExcerpt, splitFields, splitLines } from "../parsers/text.js";
import { readSysfsAttribute } from "../sysfs-attribute.js";
import { readMountTable } from "./filesystem.js";

/**
 * node_exporter's btrfs collector (collector/btrfs_linux.go) on what procfs's btrfs package reads
 * from /sys/fs/btrfs/<uuid>/: label, allocation (global reserve, per block group type reserved
 * bytes, per RAID layout used/total bytes), commit_stats (kernel 6.0+) and the devices/ links.
 *
 * Device statistics: node_exporter 1.12 also opens every mounted btrfs filesystem and asks the
 * kernel with ioctls (BTRFS_IOC_FS_INFO, DEV_INFO, GET_DEV_STATS) for per-device total/used bytes
 * and error counters. For filesystems it reaches that way it exports node_btrfs_device_size_bytes
 * with an extra btrfs_dev_uuid label, node_btrfs_device_unused_bytes and
 * node_btrfs_device_errors_total{type=write|read|flush|corruption|generation}; only for the
 * others (no mount point it can open) does it fall back to device_size_bytes{device,uuid} from
 * the devices/<name>/size sysfs attributes. nodetap cannot issue ioctls (no native addon for
 * them), and sysfs has neither the device UUIDs nor error counters it could tie to a device name,
 * so:
 *   - device_unused_bytes and device_errors_total are never exported (left out, not guessed);
 *   - device_size_bytes{device,uuid} is exported from sysfs exactly where node_exporter would use
 *     the same fallback: for filesystems with no btrfs mount nodetap can reach under the root
 *     filesystem path (as in node_exporter's recorded fixture, and in containers without the host
 *     root mounted);
 *   - for a filesystem node_exporter would read with ioctls, device_size_bytes is left out too:
 *     its series would lack btrfs_dev_uuid and hold the block device's size where node_exporter
 *     reports the size btrfs uses on the device (they differ after `btrfs filesystem resize`).
 */

const uuid = ["uuid"];
const infoDesc = gauge("node_btrfs_info", "Filesystem information", ["uuid", "label"]);
const globalRsvDesc = gauge("node_btrfs_global_rsv_size_bytes", "Size of global reserve.", uuid);
const commitsDesc = counter("node_btrfs_commits_total", "The total number of commits that have occurred.", uuid);
const lastCommitDesc = gauge("node_btrfs_last_commit_seconds", "Duration of the most recent commit, in seconds.", uuid);
const maxCommitDesc = gauge("node_btrfs_max_commit_seconds", "Duration of the slowest commit, in seconds.", uuid);
const commitSecondsDesc = counter("node_btrfs_commit_seconds_total", "Sum of the duration of all commits, in seconds.", uuid);
const reservedDesc = gauge("node_btrfs_reserved_bytes", "Amount of space reserved for a data type", ["uuid", "block_group_type"]);
const layoutLabels = ["uuid", "block_group_type", "mode"];
const usedDesc = gauge("node_btrfs_used_bytes", "Amount of used space by a layout/data type", layoutLabels);
const sizeDesc = gauge("node_btrfs_size_bytes", "Amount of space allocated for a layout/data type", layoutLabels);
const ratioDesc = gauge("node_btrfs_allocation_ratio", "Data allocation ratio for a layout/data type", layoutLabels);
const deviceSizeDesc = gauge("node_btrfs_device_size_bytes", "Size of a device that is part of the filesystem.", ["uuid", "device"]);

/** Linux's sector: sysfs block device sizes are in 512-byte units whatever the device's block size. */
const SECTOR_SIZE = 512;
/** procfs's util.SysReadFile reads sysfs attributes with one read(2) of at most 128 bytes. */
const ATTRIBUTE_BYTES = 128;
/** statfs(2) f_type of a btrfs filesystem (BTRFS_SUPER_MAGIC). */
const BTRFS_SUPER_MAGIC = 0x9123683e;

const BLOCK_GROUP_TYPES = ["data", "metadata", "system"] as const;

export interface BtrfsCommitStats {
  commits: number;
  lastCommitMs: number;
  maxCommitMs: number;
  totalCommitMs: number;
}

const COMMIT_KEYS: Record<string, keyof BtrfsCommitStats> = {
  commits: "commits",
  last_commit_ms: "lastCommitMs",
  max_commit_ms: "maxCommitMs",
  total_commit_ms: "totalCommitMs",
};

/**
 * Parses /sys/fs/btrfs/<uuid>/commit_stats ("commits 258051\nlast_commit_ms 1000\n..."), as
 * procfs does: every line must be "<key> <uint64>" (else CollectorError naming the file and line),
 * unknown keys are ignored and keys not present stay 0.
 */
export function parseBtrfsCommitStats(text: string, file = "commit_stats"): BtrfsCommitStats {
  const stats: BtrfsCommitStats = { commits: 0, lastCommitMs: 0, maxCommitMs: 0, totalCommitMs: 0 };
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const fields = splitFields(lines[i]);
    if (fields.length !== 2) throw new CollectorError(`${file}: line ${i + 1}: expected "<key> <value>", got ${quote(lines[i])}`);
    const value = parseUint(fields[1]);
    if (Number.isNaN(value))
      throw new CollectorError(`${file}: line ${i + 1}: value of ${quote(fields[0])} is not a uint64: ${quote(fields[1])}`);
    const key = COMMIT_KEYS[fields[0]];
    if (key !== undefined) stats[key] = value;
  }
  return stats;
}

/**
 * One numeric sysfs attribute (bytes_reserved, total_bytes, size, ...): an unsigned integer, or
 * 0 for an empty attribute as procfs reads it; NaN for anything else.
 */
export function parseBtrfsValue(text: string): number {
  const t = text.trim();
  return t === "" ? 0 : parseUint(t);
}

/** procfs's calcRatio: how many bytes of raw space a byte of data takes in a RAID layout. */
export function allocationRatio(mode: string, deviceCount: number): number {
  switch (mode) {
    case "single":
    case "raid0":
      return 1;
    case "dup":
    case "raid1":
    case "raid10":
      return 2;
    case "raid5":
      return deviceCount / (deviceCount - 1);
    case "raid6":
      return deviceCount / (deviceCount - 2);
    default:
      return 0;
  }
}

function quote(text: string): string {
  return quoteExcerpt(text, 60);
}

/** A sysfs attribute, trimmed; undefined when it does not exist (procfs then reads it as empty). */
function readAttribute(file: string): string | undefined {
  const r = readSysfsAttribute(file, ATTRIBUTE_BYTES);
  if (r.text !== undefined) return r.text.trim();
  if (r.errno === "ENOENT" || r.errno === "ENOTDIR") return undefined;
  throw new CollectorError(`${file}: ${r.during} failed: ${r.errno}`);
}

/** A numeric attribute; 0 when missing or empty, as in procfs; CollectorError when not a number. */
function readValue(file: string): number {
  const text = readAttribute(file);
  if (text === undefined) return 0;
  const value = parseBtrfsValue(text);
  if (Number.isNaN(value)) throw new CollectorError(`${file}: expected an unsigned integer, got ${quote(text)}`);
  return value;
}

/** Entry names of a directory, sorted; [] when it does not exist; `dirsOnly` keeps subdirectories. */
function readEntries(dir: string, dirsOnly = false): string[] {
  try {
    if (!dirsOnly) return listDir(dir);
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if (isMissing(err)) return [];
    throw new CollectorError(`${dir}: ${(err as Error).message}`, { cause: err });
  }
}

interface Layout {
  mode: string;
  totalBytes: number;
  usedBytes: number;
}

export interface BtrfsFilesystem {
  uuid: string;
  label: string;
  globalRsvSize: number;
  commits: BtrfsCommitStats;
  /** Block group type ("data", "metadata", "system") -> reserved bytes and RAID layouts. */
  allocation: Map<string, { reservedBytes: number; layouts: Layout[] }>;
  /** Device name under devices/ (the block device, e.g. "sda2", "dm-0") -> size in bytes. */
  devices: Map<string, number>;
}

/**
 * Reads one /sys/fs/btrfs/<uuid> directory as procfs's GetStats does. Missing attributes read
 * as 0 (a kernel before 6.0 has no commit_stats; a mixed block group filesystem has no
 * allocation/data or allocation/metadata). Unreadable or non-numeric ones throw CollectorError,
 * where procfs would report zeros for some of them.
 */
export function readBtrfsFilesystem(dir: string): BtrfsFilesystem {
  const deviceNames = readEntries(path.join(dir, "devices"));
  const devices = new Map(deviceNames.map((n) => [n, SECTOR_SIZE * readValue(path.join(dir, "devices", n, "size"))]));
  const allocation = new Map<string, { reservedBytes: number; layouts: Layout[] }>();
  for (const type of BLOCK_GROUP_TYPES) {
    const typeDir = path.join(dir, "allocation", type);
    const layouts = readEntries(typeDir, true).map((mode) => ({
      mode,
      totalBytes: readValue(path.join(typeDir, mode, "total_bytes")),
      usedBytes: readValue(path.join(typeDir, mode, "used_bytes")),
    }));
    allocation.set(type, { reservedBytes: readValue(path.join(typeDir, "bytes_reserved")), layouts });
  }
  const commitFile = path.join(dir, "commit_stats");
  const commitText = readHostFile(commitFile);
  return {
    uuid: readAttribute(path.join(dir, "metadata_uuid")) || path.basename(dir),
    label: readAttribute(path.join(dir, "label")) ?? "",
    globalRsvSize: readValue(path.join(dir, "allocation", "global_rsv_size")),
    commits:
      commitText === undefined
        ? { commits: 0, lastCommitMs: 0, maxCommitMs: 0, totalCommitMs: 0 }
        : parseBtrfsCommitStats(commitText, commitFile),
    allocation,
    devices,
  };
}

/** The filesystem directories procfs's Stats finds with the glob fs/btrfs/*-*, sorted. */
function filesystemDirs(paths: HostPaths): string[] {
  const root = paths.sys("fs", "btrfs");
  try {
    // Go's Glob matches files too; a file there would read as a filesystem of zeros, so only
    // directories are taken (sysfs has nothing else matching).
    return fs
      .readdirSync(root, { withFileTypes: true })
      .filter((e) => e.name.includes("-") && e.isDirectory())
      .map((e) => e.name)
      .sort()
      .map((n) => path.join(root, n));
  } catch {
    return []; // filepath.Glob ignores I/O errors
  }
}

/** Whether node_exporter's dennwc/btrfs Open would succeed on a mount point path (a btrfs filesystem there). */
export type BtrfsMountCheck = (localPath: string) => boolean;

const isBtrfsMount: BtrfsMountCheck = (localPath) => {
  try {
    return fs.statfsSync(localPath).type === BTRFS_SUPER_MAGIC;
  } catch {
    return false;
  }
};

/**
 * The filesystems (by UUID) node_exporter would read device statistics of with ioctls: those
 * with a btrfs mount in the mount table that is reachable under the root filesystem path, tied
 * to a filesystem by its source device (the name, or what a /dev/mapper/... link resolves to,
 * among the filesystem's devices/). A mount table that cannot be read is node_exporter's
 * "no ioctl stats" case.
 */
export function ioctlReachable(paths: HostPaths, filesystems: readonly BtrfsFilesystem[], check = isBtrfsMount): Set<string> {
  const reachable = new Set<string>();
  let mounts;
  try {
    mounts = readMountTable(paths);
  } catch {
    return reachable;
  }
  const unmatched = (name: string) => filesystems.filter((f) => !reachable.has(f.uuid) && f.devices.has(name));
  for (const mount of mounts) {
    if (mount.fsType !== "btrfs") continue;
    // Cheap matching first, so that many subvolume mounts of one filesystem (snapshots, container
    // layers) cost one statfs in all rather than one each.
    const name = path.basename(mount.device);
    let candidates = unmatched(name);
    if (!filesystems.some((f) => f.devices.has(name)) && mount.device.startsWith("/")) {
      try {
        candidates = unmatched(path.basename(fs.realpathSync(paths.root(mount.device))));
      } catch {
        // the device node is not visible here: its name is all there is
      }
    }
    if (candidates.length === 0 || !check(paths.hostMountToLocal(mount.mountPoint))) continue;
    for (const f of candidates) reachable.add(f.uuid);
  }
  return reachable;
}

/**
 * Emits samples family by family, each family's samples in client_golang's order (by label
 * values, labels taken in name order), so the output reads like node_exporter's.
 */
class SortedSink {
  private readonly families = new Map<MetricDesc, Array<{ key: string; value: number; labels: string[] }>>();
  private readonly labelOrder = new Map<MetricDesc, number[]>();

  add(desc: MetricDesc, value: number, ...labels: string[]): void {
    let samples = this.families.get(desc);
    if (samples === undefined) this.families.set(desc, (samples = []));
    let order = this.labelOrder.get(desc);
    if (order === undefined) {
      order = desc.labelNames
        .map((name, i) => [name, i] as const)
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .map(([, i]) => i);
      this.labelOrder.set(desc, order);
    }
    samples.push({ key: order.map((i) => labels[i]).join("\u0000"), value, labels });
  }

  flush(out: MetricSink): void {
    for (const [desc, samples] of this.families) {
      samples.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      for (const s of samples) out.add(desc, s.value, ...s.labels);
    }
  }
}

function emit(out: SortedSink, f: BtrfsFilesystem, withDevices: boolean): void {
  out.add(infoDesc, 1, f.uuid, f.label);
  out.add(globalRsvDesc, f.globalRsvSize, f.uuid);
  out.add(commitsDesc, f.commits.commits, f.uuid);
  out.add(lastCommitDesc, f.commits.lastCommitMs / 1000, f.uuid);
  out.add(maxCommitDesc, f.commits.maxCommitMs / 1000, f.uuid);
  out.add(commitSecondsDesc, f.commits.totalCommitMs / 1000, f.uuid);
  for (const [type, a] of f.allocation) {
    out.add(reservedDesc, a.reservedBytes, f.uuid, type);
    for (const l of a.layouts) {
      out.add(usedDesc, l.usedBytes, f.uuid, type, l.mode);
      out.add(sizeDesc, l.totalBytes, f.uuid, type, l.mode);
      out.add(ratioDesc, allocationRatio(l.mode, f.devices.size), f.uuid, type, l.mode);
    }
  }
  if (!withDevices) return;
  for (const [device, size] of f.devices) out.add(deviceSizeDesc, size, f.uuid, device);
}

/** The collector with an explicit mount check (tests pass one that accepts their fake mount points). */
export function createBtrfsCollector(paths: HostPaths, logger: Logger, check: BtrfsMountCheck = isBtrfsMount): Collector {
  const warned = new Set<string>();
  return {
    name: "btrfs",
    update(out) {
      // No /sys/fs/btrfs or no btrfs filesystem mounted: nothing to report, no error.
      const filesystems: BtrfsFilesystem[] = [];
      for (const dir of filesystemDirs(paths)) {
        let f: BtrfsFilesystem;
        try {
          f = readBtrfsFilesystem(dir);
        } catch (err) {
          if (!fs.existsSync(dir)) continue;
          throw err;
        }
        // Unmounted while being read (its attributes then read as missing): leave it out.
        if (!fs.existsSync(dir)) continue;
        filesystems.push(f);
      }
      if (filesystems.length === 0) return;
      const ioctl = ioctlReachable(paths, filesystems, check);
      const sink = new SortedSink();
      for (const f of filesystems) {
        const withDevices = !ioctl.has(f.uuid);
        if (!withDevices && !warned.has(f.uuid)) {
          warned.add(f.uuid);
          logger.info(
            { uuid: f.uuid },
            "btrfs: node_btrfs_device_* series left out for this mounted filesystem: node_exporter reads them with ioctls, which nodetap does not issue",
          );
        }
        emit(sink, f, withDevices);
      }
      sink.flush(out);
    },
  };
}

export const collector: CollectorDefinition = {
  name: "btrfs",
  defaultEnabled: true,
  create({ paths, logger }) {
    return createBtrfsCollector(paths, logger);
  },
};
