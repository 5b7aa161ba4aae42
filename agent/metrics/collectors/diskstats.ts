import type { Logger } from "pino";
import { metricsSchema } from "../../config/sections/metrics.js";
import type { HostPaths } from "../../host/paths.js";
import { readTextIfExists } from "../../host/read.js";
import type { CollectorDefinition } from "../collector.js";
import { excludeIncludeFilter } from "../filter-flags.js";
import { readRequiredHostFile } from "../host-file.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";
import { parseDiskstats, parseUdevProperties } from "../parsers/diskstats.js";
import { isGoFloat, parseFloatGo } from "../parsers/numbers.js";
import { isCompleteBlockQueue } from "./diskstats-queue.js";

const device = ["device"];

const infoDesc = gauge("node_disk_info", "Info of /sys/block/<block_device>.", [
  "device",
  "major",
  "minor",
  "path",
  "wwn",
  "model",
  "serial",
  "revision",
  "rotational",
]);

const MS = 1 / 1000;
/** "Standard UNIX 512-byte sectors", whatever the device's own sector size (Documentation/block/stat.rst). */
const SECTOR_BYTES = 512;

/** One family per /proc/diskstats counter, in file order, with node_exporter's unit conversion. */
const COUNTERS: ReadonlyArray<{ desc: MetricDesc; scale: number }> = [
  { desc: counter("node_disk_reads_completed_total", "The total number of reads completed successfully.", device), scale: 1 },
  { desc: counter("node_disk_reads_merged_total", "The total number of reads merged.", device), scale: 1 },
  { desc: counter("node_disk_read_bytes_total", "The total number of bytes read successfully.", device), scale: SECTOR_BYTES },
  { desc: counter("node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.", device), scale: MS },
  { desc: counter("node_disk_writes_completed_total", "The total number of writes completed successfully.", device), scale: 1 },
  { desc: counter("node_disk_writes_merged_total", "The number of writes merged.", device), scale: 1 },
  { desc: counter("node_disk_written_bytes_total", "The total number of bytes written successfully.", device), scale: SECTOR_BYTES },
  { desc: counter("node_disk_write_time_seconds_total", "This is the total number of seconds spent by all writes.", device), scale: MS },
  { desc: gauge("node_disk_io_now", "The number of I/Os currently in progress.", device), scale: 1 },
  { desc: counter("node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", device), scale: MS },
  { desc: counter("node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.", device), scale: MS },
  { desc: counter("node_disk_discards_completed_total", "The total number of discards completed successfully.", device), scale: 1 },
  { desc: counter("node_disk_discards_merged_total", "The total number of discards merged.", device), scale: 1 },
  // node_exporter reports discarded sectors as sectors, not bytes.
  { desc: counter("node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.", device), scale: 1 },
  {
    desc: counter("node_disk_discard_time_seconds_total", "This is the total number of seconds spent by all discards.", device),
    scale: MS,
  },
  { desc: counter("node_disk_flush_requests_total", "The total number of flush requests completed successfully", device), scale: 1 },
  {
    desc: counter(
      "node_disk_flush_requests_time_seconds_total",
      "This is the total number of seconds spent by all flush requests.",
      device,
    ),
    scale: MS,
  },
];

const filesystemInfoDesc = gauge("node_disk_filesystem_info", "Info about disk filesystem.", [
  "device",
  "type",
  "usage",
  "uuid",
  "version",
]);
const deviceMapperInfoDesc = gauge("node_disk_device_mapper_info", "Info about disk device mapper.", [
  "device",
  "name",
  "uuid",
  "vg_name",
  "lv_name",
  "lv_layer",
]);

/** udev property -> family, for disks udev tagged ID_ATA. */
const ATA_PROPERTIES: ReadonlyArray<{ property: string; desc: MetricDesc }> = [
  { property: "ID_ATA_WRITE_CACHE", desc: gauge("node_disk_ata_write_cache", "ATA disk has a write cache.", device) },
  {
    property: "ID_ATA_WRITE_CACHE_ENABLED",
    desc: gauge("node_disk_ata_write_cache_enabled", "ATA disk has its write cache enabled.", device),
  },
  {
    property: "ID_ATA_ROTATION_RATE_RPM",
    desc: gauge("node_disk_ata_rotation_rate_rpm", "ATA disk rotation rate in RPMs (0 for SSDs).", device),
  },
];

const NO_PROPERTIES: ReadonlyMap<string, string> = new Map();
const UDEV_FILE_LIMIT = 1024 * 1024;
/** How long a device's rotational label is reused before its queue attributes are read again. */
const ROTATIONAL_TTL_MS = 5 * 60 * 1000;

/**
 * node_disk_info's rotational label, as node_exporter computes it: procfs reads ~30 attributes
 * of /sys/block/<dev>/queue and gives up (label "0") when any is missing or malformed, so the
 * label is "1" only for rotational devices whose queue directory is complete. The attributes
 * only change with the device, so the answer is cached per device number.
 */
class RotationalCache {
  private readonly entries = new Map<string, { key: string; label: string; at: number }>();

  constructor(private readonly paths: HostPaths) {}

  label(dev: string, major: number, minor: number, now: number): string {
    const key = `${major}:${minor}`;
    const hit = this.entries.get(dev);
    if (hit !== undefined && hit.key === key && now - hit.at < ROTATIONAL_TTL_MS) return hit.label;
    const rotational = isCompleteBlockQueue(this.paths.sys("block", dev, "queue"));
    // Go formats it with strconv.FormatUint(v, 2).
    const label = rotational === undefined ? "0" : rotational.toString(2);
    this.entries.set(dev, { key, label, at: now });
    return label;
  }

  /** Forgets devices that are gone, so a removed disk does not stay cached forever. */
  retain(present: ReadonlySet<string>): void {
    for (const dev of this.entries.keys()) if (!present.has(dev)) this.entries.delete(dev);
  }
}

function readUdevProperties(paths: HostPaths, major: number, minor: number, logger: Logger): ReadonlyMap<string, string> {
  const file = paths.udev(`b${major}:${minor}`);
  try {
    const text = readTextIfExists(file, UDEV_FILE_LIMIT);
    return text === undefined ? NO_PROPERTIES : parseUdevProperties(text);
  } catch (err) {
    // node_exporter treats an unreadable udev entry like a missing one: empty labels.
    logger.debug({ file, err: (err as Error).message }, "cannot read udev device properties");
    return NO_PROPERTIES;
  }
}

function emitUdevFamilies(
  out: MetricSink,
  dev: string,
  info: ReadonlyMap<string, string>,
  paths: HostPaths,
  warnOnce: (key: string, message: string, fields: object) => void,
): void {
  const fsType = info.get("ID_FS_TYPE") ?? "";
  if (fsType !== "") {
    out.add(
      filesystemInfoDesc,
      1,
      dev,
      fsType,
      info.get("ID_FS_USAGE") ?? "",
      info.get("ID_FS_UUID") ?? "",
      info.get("ID_FS_VERSION") ?? "",
    );
  }
  const dmName = info.get("DM_NAME") ?? "";
  if (dmName !== "") {
    out.add(
      deviceMapperInfoDesc,
      1,
      dev,
      dmName,
      info.get("DM_UUID") ?? "",
      info.get("DM_VG_NAME") ?? "",
      info.get("DM_LV_NAME") ?? "",
      info.get("DM_LV_LAYER") ?? "",
    );
  }
  if ((info.get("ID_ATA") ?? "") === "") return;
  for (const { property, desc } of ATA_PROPERTIES) {
    const text = info.get(property);
    if (text === undefined) continue;
    if (!isGoFloat(text)) {
      warnOnce(`${dev}\0${property}\0${text}`, "cannot parse ATA udev property; series left out", { device: dev, property, value: text });
      continue;
    }
    out.add(desc, parseFloatGo(text), dev);
  }
}

export const collector: CollectorDefinition = {
  name: "diskstats",
  defaultEnabled: true,
  create({ paths, config, logger }) {
    const options = config.collectors.diskstats;
    const filter = excludeIncludeFilter(
      options.deviceExclude,
      options.deviceInclude,
      metricsSchema.collectors.diskstats.deviceExclude.default,
      "diskstats device filter",
      logger,
    );
    const rotational = new RotationalCache(paths);
    const warned = new Set<string>();
    const warnOnce = (key: string, message: string, fields: object): void => {
      if (warned.has(key) || warned.size > 1000) return;
      warned.add(key);
      logger.warn(fields, message);
    };
    return {
      name: "diskstats",
      update(out) {
        const file = paths.proc("diskstats");
        const entries = parseDiskstats(readRequiredHostFile(file), file);
        const now = Date.now();
        const present = new Set<string>();
        for (const entry of entries) {
          const dev = entry.device;
          if (filter.ignored(dev)) continue;
          present.add(dev);
          const info = readUdevProperties(paths, entry.major, entry.minor, logger);
          // The serial printed on the disk label, else the short serial, else ID_SERIAL (virtio).
          const serial = info.get("SCSI_IDENT_SERIAL") || info.get("ID_SERIAL_SHORT") || info.get("ID_SERIAL") || "";
          out.add(
            infoDesc,
            1,
            dev,
            String(entry.major),
            String(entry.minor),
            info.get("ID_PATH") ?? "",
            info.get("ID_WWN") ?? "",
            info.get("ID_MODEL") ?? "",
            serial,
            info.get("ID_REVISION") ?? "",
            rotational.label(dev, entry.major, entry.minor, now),
          );
          const stats = entry.stats;
          for (let i = 0; i < stats.length; i++) out.add(COUNTERS[i].desc, stats[i] * COUNTERS[i].scale, dev);
          emitUdevFamilies(out, dev, info, paths, warnOnce);
        }
        rotational.retain(present);
      },
    };
  },
};
