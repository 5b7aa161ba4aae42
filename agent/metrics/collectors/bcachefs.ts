import fs from "node:fs";
import path from "node:path";
import { readText } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { errorCode } from "../host-file.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";
import { goTrimSpace } from "../sysfs-go-text.js";
import { sortGoNames } from "../parsers/go-text.js";
import { sanitizeMetricName } from "../parsers/metric-name.js";
import {
  goUint,
  parseBtreeWriteStats,
  parseCompressionStats,
  parseCounterFile,
  parseDeviceIODone,
  parseDeviceIOErrors,
  parseErrors,
  parseHumanReadableBytes,
  type BtreeWriteStats,
  type CompressionStats,
} from "./bcachefs-parse.js";
/**
 * node_exporter's bcachefs collector (collector/bcachefs_linux.go with procfs's bcachefs
 * package): for each directory /sys/fs/bcachefs/<uuid>, an info series, the btree cache size,
 * compression, error and btree write statistics, one counter family per file of counters/
 * (its "since filesystem creation" value), and per dev-<N> directory the device's info, bucket
 * size and count, durability, bytes done and IO errors.
 *
 * No series when /sys/fs/bcachefs does not exist or holds no filesystem directory
 * (node_exporter's ErrNoData). Another listing error, or a malformed file, fails the collector
 * with nothing emitted; absent files are left out or read as 0 the way procfs does (a missing
 * btree_cache_size, nbuckets or durability is 0, an unreadable label or state is "").
 *
 * A counter whose family name (after node_exporter's SanitizeMetricName) is taken by another
 * family with other HELP text is left out: client_golang's registry drops it too (which one of
 * two colliding counters it keeps depends on Go's map order; here the first name in sort order).
 */

const UUID = ["uuid"];
const DEVICE = ["uuid", "device"];
const fq = (name: string) => `node_bcachefs_${name}`;

const infoDesc = gauge(fq("info"), "Filesystem information.", UUID);
const btreeCacheSizeDesc = gauge(fq("btree_cache_size_bytes"), "Btree cache memory usage in bytes.", UUID);
const compressedDesc = gauge(fq("compression_compressed_bytes"), "Compressed size by algorithm.", ["uuid", "algorithm"]);
const uncompressedDesc = gauge(fq("compression_uncompressed_bytes"), "Uncompressed size by algorithm.", ["uuid", "algorithm"]);
const errorsDesc = counter(fq("errors_total"), "Error count by error type.", ["uuid", "error_type"]);
const btreeWritesDesc = counter(fq("btree_writes_total"), "Number of btree writes by type.", ["uuid", "type"]);
const btreeWriteSizeDesc = gauge(fq("btree_write_average_size_bytes"), "Average btree write size by type.", ["uuid", "type"]);
const deviceInfoDesc = gauge(fq("device_info"), "Device information.", ["uuid", "device", "label", "state"]);
const bucketSizeDesc = gauge(fq("device_bucket_size_bytes"), "Bucket size in bytes.", DEVICE);
const bucketsDesc = gauge(fq("device_buckets"), "Total number of buckets.", DEVICE);
const durabilityDesc = gauge(fq("device_durability"), "Device durability setting.", DEVICE);
const ioDoneDesc = counter(fq("device_io_done_bytes_total"), "IO bytes by operation type and data type.", [
  "uuid",
  "device",
  "operation",
  "data_type",
]);
const ioErrorsDesc = counter(fq("device_io_errors_total"), "IO errors by error type.", ["uuid", "device", "type"]);

const FIXED_FAMILIES: ReadonlySet<string> = new Set(
  [
    infoDesc,
    btreeCacheSizeDesc,
    compressedDesc,
    uncompressedDesc,
    errorsDesc,
    btreeWritesDesc,
    btreeWriteSizeDesc,
    deviceInfoDesc,
    bucketSizeDesc,
    bucketsDesc,
    durabilityDesc,
    ioDoneDesc,
    ioErrorsDesc,
  ].map((d) => d.name),
);

export interface BcachefsDevice {
  readonly device: string;
  readonly label: string;
  readonly state: string;
  readonly bucketSizeBytes: number;
  readonly buckets: number;
  readonly durability: number;
  readonly ioDone: Map<string, Map<string, number>>;
  readonly ioErrors: Map<string, number>;
}

export interface BcachefsStats {
  readonly uuid: string;
  readonly btreeCacheSizeBytes: number;
  readonly compression: Map<string, CompressionStats>;
  readonly errors: Map<string, number>;
  /** counters/<name> -> its "since filesystem creation" value. */
  readonly counters: Map<string, number>;
  readonly btreeWrites: Map<string, BtreeWriteStats>;
  readonly devices: BcachefsDevice[];
}

// ---------------------------------------------------------------------------------------------
// Reading, with procfs's treatment of each file's absence

function failed(file: string, err: unknown): CollectorError {
  return new CollectorError(`failed to retrieve bcachefs stats: ${file}: ${errorCode(err) ?? String(err)}`, { cause: err });
}

/** os.Open/ReadFile: the content, undefined for ENOENT (os.IsNotExist), a CollectorError otherwise. */
function readIfExists(file: string): string | undefined {
  try {
    return readText(file);
  } catch (err) {
    if (errorCode(err) === "ENOENT") return undefined;
    throw failed(file, err);
  }
}

/** procfs's readSysfsFile: trimmed content, "" on any error. */
function readOrEmpty(file: string): string {
  try {
    return goTrimSpace(readText(file));
  } catch {
    return "";
  }
}

/** procfs's readUintFile: 0 when the file does not exist. */
function readUintFile(file: string): number {
  const text = readIfExists(file);
  return text === undefined ? 0 : goUint(goTrimSpace(text), file);
}

/** os.ReadDir: entries sorted by name; undefined for ENOENT when `missingOk`. */
function readDir(dir: string, missingOk: boolean): fs.Dirent[] | undefined {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (missingOk && errorCode(err) === "ENOENT") return undefined;
    throw failed(dir, err);
  }
  const byName = new Map(entries.map((e) => [e.name, e]));
  return sortGoNames([...byName.keys()]).map((name) => byName.get(name)!);
}

function readDevice(dir: string, device: string): BcachefsDevice {
  const file = (name: string) => path.join(dir, name);
  const label = readOrEmpty(file("label"));
  const state = readOrEmpty(file("state"));
  const bucketSizeRaw = readOrEmpty(file("bucket_size"));
  const bucketSizeBytes = bucketSizeRaw === "" ? 0 : parseHumanReadableBytes(bucketSizeRaw, file("bucket_size"));
  const buckets = readUintFile(file("nbuckets"));
  const durability = readUintFile(file("durability"));
  const ioDoneText = readIfExists(file("io_done"));
  const ioDone = ioDoneText === undefined ? new Map() : parseDeviceIODone(ioDoneText, file("io_done"));
  const ioErrorsText = readIfExists(file("io_errors"));
  const ioErrors = ioErrorsText === undefined ? new Map() : parseDeviceIOErrors(ioErrorsText, file("io_errors"));
  return { device, label, state, bucketSizeBytes, buckets, durability, ioDone, ioErrors };
}

function readCounters(dir: string): Map<string, number> {
  const counters = new Map<string, number>();
  for (const entry of readDir(dir, true) ?? []) {
    if (entry.isDirectory()) continue;
    const file = path.join(dir, entry.name);
    const text = readIfExists(file);
    counters.set(entry.name, text === undefined ? 0 : parseCounterFile(text, file).sinceFilesystemCreation);
  }
  return counters;
}

/** procfs's GetStats for one /sys/fs/bcachefs/<uuid> directory, in its order of reads. */
export function readBcachefsFilesystem(dir: string, uuid: string): BcachefsStats {
  const file = (name: string) => path.join(dir, name);
  const cacheSize = goTrimSpace(readIfExists(file("btree_cache_size")) ?? "");
  const btreeCacheSizeBytes = cacheSize === "" ? 0 : parseHumanReadableBytes(cacheSize, file("btree_cache_size"));
  const parsed = <T>(name: string, parse: (text: string, what: string) => Map<string, T>): Map<string, T> => {
    const text = readIfExists(file(name));
    return text === undefined ? new Map() : parse(text, file(name));
  };
  const compression = parsed("compression_stats", parseCompressionStats);
  const errors = parsed("errors", parseErrors);
  const counters = readCounters(file("counters"));
  const btreeWrites = parsed("btree_write_stats", parseBtreeWriteStats);
  const devices: BcachefsDevice[] = [];
  for (const entry of readDir(dir, false)!) {
    if (entry.isDirectory() && entry.name.startsWith("dev-")) devices.push(readDevice(file(entry.name), entry.name.slice(4)));
  }
  return { uuid, btreeCacheSizeBytes, compression, errors, counters, btreeWrites, devices };
}

/** Every filesystem under `root` (/sys/fs/bcachefs); [] when it does not exist. */
export function readBcachefs(root: string): BcachefsStats[] {
  const entries = readDir(root, true) ?? [];
  return entries.filter((e) => e.isDirectory()).map((e) => readBcachefsFilesystem(path.join(root, e.name), e.name));
}

// ---------------------------------------------------------------------------------------------
// Emission

/** The counter families of one scrape: name -> descriptor, or null where the name is taken. */
function counterDesc(descs: Map<string, MetricDesc | null>, owners: Map<string, string>, counterName: string): MetricDesc | null {
  const name = fq(`${sanitizeMetricName(counterName)}_total`);
  const owner = owners.get(name);
  if (owner !== undefined && owner !== counterName) return null;
  let desc = descs.get(counterName);
  if (desc === undefined) {
    desc = FIXED_FAMILIES.has(name) ? null : counter(name, `Bcachefs counter ${counterName} since filesystem creation.`, UUID);
    descs.set(counterName, desc);
    owners.set(name, counterName);
  }
  return desc;
}

export function emitBcachefs(out: MetricSink, filesystems: readonly BcachefsStats[]): void {
  const descs = new Map<string, MetricDesc | null>();
  const owners = new Map<string, string>();
  for (const s of filesystems) {
    out.add(infoDesc, 1, s.uuid);
    out.add(btreeCacheSizeDesc, s.btreeCacheSizeBytes, s.uuid);
    for (const [algorithm, c] of s.compression) {
      out.add(compressedDesc, c.compressedBytes, s.uuid, algorithm);
      out.add(uncompressedDesc, c.uncompressedBytes, s.uuid, algorithm);
    }
    for (const [errorType, count] of s.errors) out.add(errorsDesc, count, s.uuid, errorType);
    for (const [name, value] of s.counters) {
      const desc = counterDesc(descs, owners, name);
      if (desc !== null) out.add(desc, value, s.uuid);
    }
    for (const [type, w] of s.btreeWrites) {
      out.add(btreeWritesDesc, w.count, s.uuid, type);
      out.add(btreeWriteSizeDesc, w.sizeBytes, s.uuid, type);
    }
    for (const d of s.devices) {
      out.add(deviceInfoDesc, 1, s.uuid, d.device, d.label, d.state);
      out.add(bucketSizeDesc, d.bucketSizeBytes, s.uuid, d.device);
      out.add(bucketsDesc, d.buckets, s.uuid, d.device);
      out.add(durabilityDesc, d.durability, s.uuid, d.device);
      for (const [op, types] of d.ioDone) for (const [dataType, value] of types) out.add(ioDoneDesc, value, s.uuid, d.device, op, dataType);
      for (const [type, value] of d.ioErrors) out.add(ioErrorsDesc, value, s.uuid, d.device, type);
    }
  }
}

export const collector: CollectorDefinition = {
  name: "bcachefs",
  defaultEnabled: true,
  create({ paths }) {
    return {
      name: "bcachefs",
      update(out) {
        emitBcachefs(out, readBcachefs(paths.sys("fs/bcachefs")));
      },
    };
  },
};
