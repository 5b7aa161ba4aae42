import path from "node:path";
import { readSysAttribute } from "../host-file.js";
import { parseInt64, parseUint } from "../parsers/numbers.js";

/**
 * procfs's SysBlockDeviceQueueStats reads every one of these /sys/block/<dev>/queue attributes
 * and fails as a whole when one is missing or malformed; node_exporter then reports the device
 * as non-rotational. Newer kernels hide some of them for some devices (io_timeout on bio-based
 * and virtio queues, scheduler and wbt_lat_usec on zram), which is why those disks show
 * rotational="0" in node_exporter even when the kernel says 1.
 */
const UINT_ATTRIBUTES = [
  "add_random",
  "dax",
  "discard_granularity",
  "discard_max_hw_bytes",
  "discard_max_bytes",
  "hw_sector_size",
  "io_poll",
  "io_timeout",
  "iostats",
  "logical_block_size",
  "max_hw_sectors_kb",
  "max_integrity_segments",
  "max_sectors_kb",
  "max_segments",
  "max_segment_size",
  "minimum_io_size",
  "nomerges",
  "nr_requests",
  "optimal_io_size",
  "physical_block_size",
  "read_ahead_kb",
  "rq_affinity",
  "write_same_max_bytes",
  "nr_zones",
  "chunk_sectors",
  "fua",
  "max_discard_segments",
  "write_zeroes_max_bytes",
];
const INT_ATTRIBUTES = ["io_poll_delay", "wbt_lat_usec"];
const TEXT_ATTRIBUTES = ["write_cache", "zoned", "scheduler"];

/**
 * The queue's `rotational` value when procfs would read the whole queue directory
 * successfully; undefined when it would fail (so node_exporter's label is "0").
 */
export function isCompleteBlockQueue(queueDir: string): number | undefined {
  const rotationalText = readSysAttribute(path.join(queueDir, "rotational"));
  if (rotationalText === undefined) return undefined;
  const rotational = parseUint(rotationalText);
  if (Number.isNaN(rotational)) return undefined;
  for (const name of UINT_ATTRIBUTES) {
    const text = readSysAttribute(path.join(queueDir, name));
    if (text === undefined || Number.isNaN(parseUint(text))) return undefined;
  }
  for (const name of INT_ATTRIBUTES) {
    const text = readSysAttribute(path.join(queueDir, name));
    if (text === undefined || Number.isNaN(parseInt64(text))) return undefined;
  }
  for (const name of TEXT_ATTRIBUTES) {
    if (readSysAttribute(path.join(queueDir, name)) === undefined) return undefined;
  }
  return rotational;
}
