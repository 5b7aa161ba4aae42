import path from "node:path";
import type { CollectorDefinition } from "../collector.js";
import { gauge, type MetricSink } from "../model.js";
import { mulUint64, parseUint64 } from "../parsers/uint64.js";
import type { AttributeRead } from "../sysfs-attribute.js";
import { listDir, readClassAttribute, readError } from "../sysfs-class.js";

/**
 * node_exporter's nvme collector (collector/nvme_linux.go over procfs's sysfs.NVMeClass): one
 * info series per controller in /sys/class/nvme and size/usage series per namespace directory
 * (nvme<ctrl>n<nsid>) below it.
 *
 * procfs fails the whole class on the first attribute it cannot read, and node_exporter turns a
 * "not exist" anywhere in that error chain into "no data": so a missing class directory, a
 * controller without cntlid (kernels before 4.x) or a namespace without nuse yields no series at
 * all, while any other read error fails the collector. Label names are in the order node_exporter
 * prints them (sorted).
 */

const infoDesc = gauge("node_nvme_info", "Non-numeric data from /sys/class/nvme/<device>, value is always 1.", [
  "cntlid",
  "device",
  "firmware_revision",
  "model",
  "serial",
  "state",
]);
const namespaceCapacityDesc = gauge(
  "node_nvme_namespace_capacity_bytes",
  "Capacity of the NVMe namespace in bytes. Computed as namespace_size * namespace_logical_block_size",
  ["device", "nsid"],
);
const namespaceInfoDesc = gauge("node_nvme_namespace_info", "Information about NVMe namespaces. Value is always 1", [
  "ana_state",
  "device",
  "nsid",
]);
const namespaceLogicalBlockSizeDesc = gauge(
  "node_nvme_namespace_logical_block_size_bytes",
  "Logical block size of the NVMe namespace in bytes. Usually 4Kb. Available in /sys/class/nvme/<device>/<namespace>/queue/logical_block_size",
  ["device", "nsid"],
);
const namespaceSizeDesc = gauge(
  "node_nvme_namespace_size_bytes",
  "Size of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/size",
  ["device", "nsid"],
);
const namespaceUsedDesc = gauge(
  "node_nvme_namespace_used_bytes",
  "Used space of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/nuse",
  ["device", "nsid"],
);

export interface NvmeNamespace {
  readonly id: string;
  readonly anaState: string;
  readonly logicalBlockSize: number;
  readonly sizeBytes: number;
  readonly usedBytes: number;
  /** procfs computes it the same way as sizeBytes (size * logical_block_size). */
  readonly capacityBytes: number;
}

export interface NvmeDevice {
  readonly name: string;
  readonly firmwareRevision: string;
  readonly model: string;
  readonly serial: string;
  readonly state: string;
  readonly controllerId: string;
  readonly namespaces: readonly NvmeNamespace[];
}

/** The trimmed contents of a namespace's files; anaState is undefined when ana_state could not be read. */
export interface NvmeNamespaceRaw {
  readonly nuse: string;
  readonly size: string;
  readonly logicalBlockSize: string;
  readonly anaState?: string;
}

const NAMESPACE_DIR = /nvme\d+n(\d+)/;

/** The namespace id of a controller's subdirectory ("nvme0n1" -> "1"), as procfs's unanchored regexp finds it. */
export function nvmeNamespaceId(entry: string): string | undefined {
  return NAMESPACE_DIR.exec(entry)?.[1];
}

/**
 * One namespace as procfs builds it: a number that does not parse as a base-10 uint64 counts as
 * 0 (procfs ignores the error), byte counts are block counts times the logical block size in
 * uint64 arithmetic (wrapping, as Go does), ana_state defaults to "unknown".
 */
export function parseNvmeNamespace(id: string, raw: NvmeNamespaceRaw): NvmeNamespace {
  const blocks = (text: string): bigint => parseUint64(text, 10) ?? 0n;
  const used = blocks(raw.nuse);
  const size = blocks(raw.size);
  const blockSize = blocks(raw.logicalBlockSize);
  const sizeBytes = Number(mulUint64(size, blockSize));
  return {
    id,
    anaState: raw.anaState ?? "unknown",
    logicalBlockSize: Number(blockSize),
    sizeBytes,
    usedBytes: Number(mulUint64(used, blockSize)),
    capacityBytes: sizeBytes,
  };
}

/** procfs's "not exist" that node_exporter reports as no data; internal to this module. */
class NoData extends Error {}

/** SysReadFile's text, NoData for a missing file (errors.Is(err, fs.ErrNotExist)), CollectorError otherwise. */
function required(file: string, read: AttributeRead): string {
  if (read.errno === undefined) return read.text;
  if (read.errno === "ENOENT") throw new NoData();
  throw readError(file, read.errno, read.during);
}

function readDevice(classDir: string, name: string): NvmeDevice {
  const dir = path.join(classDir, name);
  const attribute = (file: string): string => {
    const full = path.join(dir, file);
    return required(full, readClassAttribute(full));
  };
  // procfs's order: the first failing file decides the error.
  const firmwareRevision = attribute("firmware_rev");
  const model = attribute("model");
  const serial = attribute("serial");
  const state = attribute("state");
  const controllerId = attribute("cntlid");

  const listing = listDir(dir);
  if (listing.errno !== undefined) {
    if (listing.errno === "ENOENT") throw new NoData();
    throw readError(dir, listing.errno);
  }
  const namespaces: NvmeNamespace[] = [];
  for (const entry of listing.entries) {
    const id = nvmeNamespaceId(entry.name);
    if (id === undefined) continue;
    const nsDir = path.join(dir, entry.name);
    const nsAttribute = (file: string): string => {
      const full = path.join(nsDir, file);
      return required(full, readClassAttribute(full));
    };
    const nuse = nsAttribute("nuse");
    const size = nsAttribute("size");
    const logicalBlockSize = nsAttribute("queue/logical_block_size");
    // ana_state exists only on multipath-capable controllers; any error leaves it "unknown".
    const ana = readClassAttribute(path.join(nsDir, "ana_state"));
    namespaces.push(parseNvmeNamespace(id, { nuse, size, logicalBlockSize, anaState: ana.text }));
  }
  return { name, firmwareRevision, model, serial, state, controllerId, namespaces };
}

/** Every controller of /sys/class/nvme, sorted by name; undefined where node_exporter reports no data. */
export function readNvmeClass(classDir: string): NvmeDevice[] | undefined {
  const listing = listDir(classDir);
  if (listing.errno !== undefined) {
    if (listing.errno === "ENOENT") return undefined;
    throw readError(classDir, listing.errno);
  }
  try {
    return listing.entries.map((entry) => readDevice(classDir, entry.name));
  } catch (err) {
    if (err instanceof NoData) return undefined;
    throw err;
  }
}

export function emitNvme(out: MetricSink, devices: readonly NvmeDevice[]): void {
  for (const d of devices) out.add(infoDesc, 1, d.controllerId, d.name, d.firmwareRevision, d.model, d.serial, d.state);
  const perNamespace = (emit: (d: NvmeDevice, ns: NvmeNamespace) => void) => {
    for (const d of devices) for (const ns of d.namespaces) emit(d, ns);
  };
  perNamespace((d, ns) => out.add(namespaceCapacityDesc, ns.capacityBytes, d.name, ns.id));
  perNamespace((d, ns) => out.add(namespaceInfoDesc, 1, ns.anaState, d.name, ns.id));
  perNamespace((d, ns) => out.add(namespaceLogicalBlockSizeDesc, ns.logicalBlockSize, d.name, ns.id));
  perNamespace((d, ns) => out.add(namespaceSizeDesc, ns.sizeBytes, d.name, ns.id));
  perNamespace((d, ns) => out.add(namespaceUsedDesc, ns.usedBytes, d.name, ns.id));
}

export const collector: CollectorDefinition = {
  name: "nvme",
  defaultEnabled: true,
  create({ paths }) {
    const classDir = paths.sys("class", "nvme");
    return {
      name: "nvme",
      update(out) {
        const devices = readNvmeClass(classDir);
        if (devices !== undefined) emitNvme(out, devices);
      },
    };
  },
};
