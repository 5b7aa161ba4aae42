import fs from "node:fs";
import path from "node:path";
import type { HostPaths } from "../../host/paths.js";
import { listDir } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { counter, type MetricDesc } from "../model.js";
import { parseUint } from "../parsers/numbers.js";
import { quoteExcerpt, splitFields, splitLines } from "../parsers/text.js";

/**
 * node_exporter's xfs collector (collector/xfs_linux.go): the per-filesystem counters in
 * /sys/fs/xfs/<device>/stats/stats (kernel 4.4+), parsed as procfs's xfs.ParseStats does.
 */

/** The counters node_exporter exports, by stats line ("ig" is the inode cache line) and position. */
interface XfsCounter {
  readonly desc: MetricDesc;
  readonly line: string;
  readonly index: number;
}

const FIELDS: ReadonlyArray<[line: string, index: number, name: string, help: string]> = [
  ["extent_alloc", 0, "extent_allocation_extents_allocated_total", "Number of extents allocated for a filesystem."],
  ["extent_alloc", 1, "extent_allocation_blocks_allocated_total", "Number of blocks allocated for a filesystem."],
  ["extent_alloc", 2, "extent_allocation_extents_freed_total", "Number of extents freed for a filesystem."],
  ["extent_alloc", 3, "extent_allocation_blocks_freed_total", "Number of blocks freed for a filesystem."],
  ["abt", 0, "allocation_btree_lookups_total", "Number of allocation B-tree lookups for a filesystem."],
  ["abt", 1, "allocation_btree_compares_total", "Number of allocation B-tree compares for a filesystem."],
  ["abt", 2, "allocation_btree_records_inserted_total", "Number of allocation B-tree records inserted for a filesystem."],
  ["abt", 3, "allocation_btree_records_deleted_total", "Number of allocation B-tree records deleted for a filesystem."],
  ["blk_map", 0, "block_mapping_reads_total", "Number of block map for read operations for a filesystem."],
  ["blk_map", 1, "block_mapping_writes_total", "Number of block map for write operations for a filesystem."],
  ["blk_map", 2, "block_mapping_unmaps_total", "Number of block unmaps (deletes) for a filesystem."],
  ["blk_map", 3, "block_mapping_extent_list_insertions_total", "Number of extent list insertions for a filesystem."],
  ["blk_map", 4, "block_mapping_extent_list_deletions_total", "Number of extent list deletions for a filesystem."],
  ["blk_map", 5, "block_mapping_extent_list_lookups_total", "Number of extent list lookups for a filesystem."],
  ["blk_map", 6, "block_mapping_extent_list_compares_total", "Number of extent list compares for a filesystem."],
  ["bmbt", 0, "block_map_btree_lookups_total", "Number of block map B-tree lookups for a filesystem."],
  ["bmbt", 1, "block_map_btree_compares_total", "Number of block map B-tree compares for a filesystem."],
  ["bmbt", 2, "block_map_btree_records_inserted_total", "Number of block map B-tree records inserted for a filesystem."],
  ["bmbt", 3, "block_map_btree_records_deleted_total", "Number of block map B-tree records deleted for a filesystem."],
  [
    "dir",
    0,
    "directory_operation_lookup_total",
    "Number of file name directory lookups which miss the operating systems directory name lookup cache.",
  ],
  ["dir", 1, "directory_operation_create_total", "Number of times a new directory entry was created for a filesystem."],
  // node_exporter's help text for removals says "created"; kept as is so that it matches.
  ["dir", 2, "directory_operation_remove_total", "Number of times an existing directory entry was created for a filesystem."],
  ["dir", 3, "directory_operation_getdents_total", "Number of times the directory getdents operation was performed for a filesystem."],
  ["ig", 0, "inode_operation_attempts_total", "Number of times the OS looked for an XFS inode in the inode cache."],
  ["ig", 1, "inode_operation_found_total", "Number of times the OS looked for and found an XFS inode in the inode cache."],
  [
    "ig",
    2,
    "inode_operation_recycled_total",
    "Number of times the OS found an XFS inode in the cache, but could not use it as it was being recycled.",
  ],
  ["ig", 3, "inode_operation_missed_total", "Number of times the OS looked for an XFS inode in the cache, but did not find it."],
  [
    "ig",
    4,
    "inode_operation_duplicates_total",
    "Number of times the OS tried to add a missing XFS inode to the inode cache, but found it had already been added by another process.",
  ],
  [
    "ig",
    5,
    "inode_operation_reclaims_total",
    "Number of times the OS reclaimed an XFS inode from the inode cache to free memory for another purpose.",
  ],
  ["ig", 6, "inode_operation_attribute_changes_total", "Number of times the OS explicitly changed the attributes of an XFS inode."],
  // The kernel prints writes first ("rw <xs_write_calls> <xs_read_calls>"), as procfs now reads it.
  ["rw", 1, "read_calls_total", "Number of read(2) system calls made to files in a filesystem."],
  ["rw", 0, "write_calls_total", "Number of write(2) system calls made to files in a filesystem."],
  ["vnodes", 0, "vnode_active_total", "Number of vnodes not on free lists for a filesystem."],
  ["vnodes", 1, "vnode_allocate_total", "Number of times vn_alloc called for a filesystem."],
  ["vnodes", 2, "vnode_get_total", "Number of times vn_get called for a filesystem."],
  ["vnodes", 3, "vnode_hold_total", "Number of times vn_hold called for a filesystem."],
  ["vnodes", 4, "vnode_release_total", "Number of times vn_rele called for a filesystem."],
  ["vnodes", 5, "vnode_reclaim_total", "Number of times vn_reclaim called for a filesystem."],
  ["vnodes", 6, "vnode_remove_total", "Number of times vn_remove called for a filesystem."],
];

const COUNTERS: readonly XfsCounter[] = FIELDS.map(([line, index, name, help]) => ({
  desc: counter(`node_xfs_${name}`, help, ["device"]),
  line,
  index,
}));

/**
 * The number of values procfs requires on each line it reads (vnodes: 7, or 8 with "free");
 * a known line with another count fails the whole file.
 */
const VALUE_COUNTS: ReadonlyMap<string, readonly number[]> = new Map([
  ["extent_alloc", [4]],
  ["abt", [4]],
  ["blk_map", [7]],
  ["bmbt", [4]],
  ["dir", [4]],
  ["trans", [3]],
  ["ig", [7]],
  ["log", [5]],
  ["rw", [2]],
  ["attr", [4]],
  ["icluster", [3]],
  ["vnodes", [7, 8]],
  ["buf", [9]],
  ["xpc", [3]],
]);

const MAX_UINT32 = 4294967295;

/** Stats line name -> its values. Lines procfs does not know are checked but not kept. */
export type XfsStats = Map<string, number[]>;

/**
 * Parses an XFS stats file (/sys/fs/xfs/<dev>/stats/stats, same format as /proc/fs/xfs/stat)
 * with procfs's rules: lines with fewer than two fields are skipped; every value must be a
 * uint32 (uint64 on the "xpc" line), on any line; known lines must have their exact value count.
 * Anything else throws CollectorError naming the file and line. Lines not set default to 0.
 */
export function parseXfsStats(text: string, file = "stats"): XfsStats {
  const stats: XfsStats = new Map();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const fields = splitFields(lines[i]);
    if (fields.length < 2) continue;
    const label = fields[0];
    const wide = label === "xpc";
    const values: number[] = [];
    for (let k = 1; k < fields.length; k++) {
      const v = parseUint(fields[k]);
      if (Number.isNaN(v) || (!wide && v > MAX_UINT32)) {
        throw new CollectorError(
          `${file}: line ${i + 1}: value ${quote(fields[k])} of ${quote(label)} is not a ${wide ? "uint64" : "uint32"}`,
        );
      }
      values.push(v);
    }
    const counts = VALUE_COUNTS.get(label);
    if (counts === undefined) continue;
    if (!counts.includes(values.length)) {
      throw new CollectorError(`${file}: line ${i + 1}: ${quote(label)} has ${values.length} values, expected ${counts.join(" or ")}`);
    }
    stats.set(label, values);
  }
  return stats;
}

function quote(text: string): string {
  return quoteExcerpt(text);
}

/**
 * The stats files procfs's SysStats finds with the glob fs/xfs/*\/stats/stats, as
 * [device, file] sorted by device. /sys/fs/xfs/stats/stats (the global counters) is not one.
 */
function statsFiles(paths: HostPaths): Array<[device: string, file: string]> {
  const root = paths.sys("fs", "xfs");
  const found: Array<[string, string]> = [];
  let names: string[];
  try {
    names = listDir(root);
  } catch {
    return found; // filepath.Glob ignores I/O errors
  }
  for (const name of names) {
    const statsDir = path.join(root, name, "stats");
    try {
      if (!fs.statSync(statsDir).isDirectory()) continue;
      fs.lstatSync(path.join(statsDir, "stats"));
    } catch {
      continue;
    }
    found.push([name, path.join(statsDir, "stats")]);
  }
  return found;
}

export const collector: CollectorDefinition = {
  name: "xfs",
  defaultEnabled: true,
  create({ paths }) {
    return {
      name: "xfs",
      update(out) {
        // No /sys/fs/xfs or no XFS filesystem mounted: nothing to report, no error.
        for (const [device, file] of statsFiles(paths)) {
          const text = readHostFile(file);
          // Unmounted between the listing and the read. procfs fails the whole scrape on that
          // os.Open; nodetap leaves out the filesystem that is gone and reports the others.
          if (text === undefined) continue;
          const stats = parseXfsStats(text, file);
          for (const c of COUNTERS) out.add(c.desc, stats.get(c.line)?.[c.index] ?? 0, device);
        }
      },
    };
  },
};
