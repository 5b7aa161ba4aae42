import path from "node:path";
import { compileGoRegex } from "../../config/values.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";
import { parseUint64 } from "../parsers/uint64.js";
import { listDir, readClassAttribute, readError } from "../sysfs-class.js";

/**
 * node_exporter's tapestats collector (collector/tapestats_linux.go over procfs's
 * sysfs.SCSITapeClass): the stats/ files of each st<N> device in /sys/class/scsi_tape (the
 * nst/st<N><mode> aliases are the same drive and are skipped).
 *
 * As in procfs: a missing class directory, or a tape without a stats directory (kernels before
 * 4.20), is "no data" for the whole collector; every file in stats/ is read and a read error
 * fails the collector; a stat that is absent counts as 0. A stat that is not an unsigned integer
 * crashes node_exporter (procfs dereferences a nil pointer); here it fails the collector.
 * Devices matching --collector.tapestats.ignored-devices are read (their errors count) but not
 * reported, as in node_exporter.
 */

const label = ["device"];
const NS = 0.000000001;

/** stats/ files and their metrics, in the order node_exporter prints the families; times are nanoseconds. */
const STATS: ReadonlyArray<{ file: string; desc: MetricDesc; scale: number }> = [
  { file: "in_flight", desc: gauge("node_tape_io_now", "The number of I/Os currently outstanding to this device.", label), scale: 1 },
  {
    file: "other_cnt",
    desc: counter(
      "node_tape_io_others_total",
      "The number of I/Os issued to the tape drive other than read or write commands. The time taken to complete these commands uses the following calculation io_time_seconds_total-read_time_seconds_total-write_time_seconds_total",
      label,
    ),
    scale: 1,
  },
  {
    file: "io_ns",
    desc: counter(
      "node_tape_io_time_seconds_total",
      "The amount of time spent waiting for all I/O to complete (including read and write). This includes tape movement commands such as seeking between file or set marks and implicit tape movement such as when rewind on close tape devices are used.",
      label,
    ),
    scale: NS,
  },
  { file: "read_byte_cnt", desc: counter("node_tape_read_bytes_total", "The number of bytes read from the tape drive.", label), scale: 1 },
  {
    file: "read_ns",
    desc: counter("node_tape_read_time_seconds_total", "The amount of time spent waiting for read requests to complete.", label),
    scale: NS,
  },
  {
    file: "read_cnt",
    desc: counter("node_tape_reads_completed_total", "The number of read requests issued to the tape drive.", label),
    scale: 1,
  },
  {
    file: "resid_cnt",
    desc: counter(
      "node_tape_residual_total",
      "The number of times during a read or write we found the residual amount to be non-zero. This should mean that a program is issuing a read larger thean the block size on tape. For write not all data made it to tape.",
      label,
    ),
    scale: 1,
  },
  {
    file: "write_ns",
    desc: counter("node_tape_write_time_seconds_total", "The amount of time spent waiting for write requests to complete.", label),
    scale: NS,
  },
  {
    file: "write_cnt",
    desc: counter("node_tape_writes_completed_total", "The number of write requests issued to the tape drive.", label),
    scale: 1,
  },
  {
    file: "write_byte_cnt",
    desc: counter("node_tape_written_bytes_total", "The number of bytes written to the tape drive.", label),
    scale: 1,
  },
];

const STAT_FILES = new Set(STATS.map((s) => s.file));
const TAPE_DEVICE = /^st\d+$/;

export interface ScsiTape {
  readonly name: string;
  /** Raw counts by stats/ file name (nanoseconds for the *_ns files); a missing file is 0. */
  readonly stats: ReadonlyMap<string, number>;
}

/** A stats/ value: Go's strconv.ParseUint(text, 0, 64) as a float; CollectorError for anything else. */
export function parseTapeStat(file: string, text: string): number {
  const value = parseUint64(text, 0);
  if (value === undefined) throw new CollectorError(`${file}: expected an unsigned integer, got ${JSON.stringify(text.slice(0, 40))}`);
  return Number(value);
}

/** procfs's "not exist" that node_exporter reports as no data; internal to this module. */
class NoData extends Error {}

function readTape(classDir: string, name: string): ScsiTape {
  const statsDir = path.join(classDir, name, "stats");
  const listing = listDir(statsDir);
  if (listing.errno !== undefined) {
    if (listing.errno === "ENOENT") throw new NoData();
    throw readError(statsDir, listing.errno);
  }
  const stats = new Map<string, number>();
  for (const entry of listing.entries) {
    const file = path.join(statsDir, entry.name);
    const read = readClassAttribute(file);
    if (read.errno !== undefined) throw readError(file, read.errno, read.during);
    if (STAT_FILES.has(entry.name)) stats.set(entry.name, parseTapeStat(file, read.text));
  }
  return { name, stats };
}

/** The st<N> tapes of /sys/class/scsi_tape, sorted; undefined where node_exporter reports no data. */
export function readScsiTapeClass(classDir: string): ScsiTape[] | undefined {
  const listing = listDir(classDir);
  if (listing.errno !== undefined) {
    if (listing.errno === "ENOENT") return undefined;
    throw readError(classDir, listing.errno);
  }
  try {
    return listing.entries.filter((entry) => TAPE_DEVICE.test(entry.name)).map((entry) => readTape(classDir, entry.name));
  } catch (err) {
    if (err instanceof NoData) return undefined;
    throw err;
  }
}

export function emitTapes(out: MetricSink, tapes: readonly ScsiTape[]): void {
  for (const { file, desc, scale } of STATS) {
    // float64(ns) * 0.000000001, as node_exporter computes the seconds.
    for (const tape of tapes) out.add(desc, (tape.stats.get(file) ?? 0) * scale, tape.name);
  }
}

export const collector: CollectorDefinition = {
  name: "tapestats",
  defaultEnabled: true,
  create({ paths, config }) {
    const ignored = compileGoRegex(config.collectors.tapestats.ignoredDevices);
    const classDir = paths.sys("class", "scsi_tape");
    return {
      name: "tapestats",
      update(out) {
        const tapes = readScsiTapeClass(classDir);
        if (tapes !== undefined)
          emitTapes(
            out,
            tapes.filter((tape) => !ignored.test(tape.name)),
          );
      },
    };
  },
};
