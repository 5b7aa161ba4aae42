import fs from "node:fs";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { gauge, type MetricDesc, type MetricSink } from "../model.js";
import { goToValidUtf8, goTrimSpaceBytes } from "../sysfs-go-text.js";

/**
 * node_exporter's dmi collector (collector/dmi.go with procfs's sysfs.DMIClass): one
 * node_dmi_info series labelled with the /sys/class/dmi/id attributes the host has. As in
 * node_exporter the attributes are read once (they only change with a reboot); a host without
 * /sys/class/dmi/id gets no series.
 */

const HELP =
  "A metric with a constant '1' value labeled by bios_date, bios_release, bios_vendor, bios_version, " +
  "board_asset_tag, board_name, board_serial, board_vendor, board_version, chassis_asset_tag, " +
  "chassis_serial, chassis_vendor, chassis_version, product_family, product_name, product_serial, " +
  "product_sku, product_uuid, product_version, system_vendor if provided by DMI.";

/** Label name -> file in /sys/class/dmi/id, label names sorted (chassis_type is read by procfs but not exported). */
const LABEL_FILES: ReadonlyArray<[label: string, file: string]> = [
  ["bios_date", "bios_date"],
  ["bios_release", "bios_release"],
  ["bios_vendor", "bios_vendor"],
  ["bios_version", "bios_version"],
  ["board_asset_tag", "board_asset_tag"],
  ["board_name", "board_name"],
  ["board_serial", "board_serial"],
  ["board_vendor", "board_vendor"],
  ["board_version", "board_version"],
  ["chassis_asset_tag", "chassis_asset_tag"],
  ["chassis_serial", "chassis_serial"],
  ["chassis_vendor", "chassis_vendor"],
  ["chassis_version", "chassis_version"],
  ["product_family", "product_family"],
  ["product_name", "product_name"],
  ["product_serial", "product_serial"],
  ["product_sku", "product_sku"],
  ["product_uuid", "product_uuid"],
  ["product_version", "product_version"],
  ["system_vendor", "sys_vendor"],
];

/**
 * A DMI attribute as it becomes a label value: procfs's SysReadFile trims it (bytes.TrimSpace),
 * node_exporter replaces each run of invalid UTF-8 with U+FFFD (strings.ToValidUTF8).
 */
export function dmiLabelValue(raw: Uint8Array): string {
  return goToValidUtf8(goTrimSpaceBytes(raw));
}

export interface DmiInfo {
  readonly desc: MetricDesc;
  readonly values: readonly string[];
}

/** The info series from attribute file name -> content; undefined when there is none (node_exporter's ErrNoData). */
export function dmiInfo(files: ReadonlyMap<string, Uint8Array>): DmiInfo | undefined {
  const labels: string[] = [];
  const values: string[] = [];
  for (const [label, file] of LABEL_FILES) {
    const raw = files.get(file);
    if (raw === undefined) continue;
    labels.push(label);
    values.push(dmiLabelValue(raw));
  }
  if (labels.length === 0) return undefined;
  return { desc: gauge("node_dmi_info", HELP, labels), values };
}

const readBuffer = Buffer.alloc(4096);

/** procfs's SysReadFile without the decoding: one read(2) of at most 4096 bytes. */
function readRaw(filePath: string): Buffer {
  const fd = fs.openSync(filePath, "r");
  try {
    const n = fs.readSync(fd, readBuffer, 0, readBuffer.length, null);
    return Buffer.from(readBuffer.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** The regular files of /sys/class/dmi/id (modalias and uevent aside), as procfs reads them; undefined when the directory does not exist. */
function readDmiClass(dir: string): Map<string, Uint8Array> | undefined {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return undefined;
    throw new CollectorError(`failed to read directory ${dir}: ${errnoOf(err) ?? String(err)}`, { cause: err });
  }
  const files = new Map<string, Uint8Array>();
  for (const entry of entries) {
    if (!entry.isFile() || entry.name === "modalias" || entry.name === "uevent") continue;
    const file = `${dir}/${entry.name}`;
    try {
      files.set(entry.name, readRaw(file));
    } catch (err) {
      const code = errnoOf(err);
      // Only root may read the serial numbers and product_uuid: those are left out.
      if (code === "EACCES" || code === "EPERM") continue;
      throw new CollectorError(`failed to read file ${file}: ${code ?? String(err)}`, { cause: err });
    }
  }
  return files;
}

class DmiCollector implements Collector {
  readonly name = "dmi";
  /** The series once read (null: read, nothing to report); re-read only while reading fails. */
  private info: DmiInfo | null | undefined;

  constructor(private readonly dir: string) {}

  update(out: MetricSink): void {
    if (this.info === undefined) {
      const files = readDmiClass(this.dir);
      this.info = files === undefined ? null : (dmiInfo(files) ?? null);
    }
    if (this.info !== null) out.add(this.info.desc, 1, ...this.info.values);
  }
}

export const collector: CollectorDefinition = {
  name: "dmi",
  defaultEnabled: true,
  create({ paths }) {
    return new DmiCollector(paths.sys("class/dmi/id"));
  },
};
