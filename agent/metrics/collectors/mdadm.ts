import fs from "node:fs";
import path from "node:path";
import type { HostPaths } from "../../host/paths.js";
import { isMissing, listDir, readText } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { readHostFile, readSysAttribute } from "../host-file.js";
import { gauge } from "../model.js";
import { parseMdstat } from "../parsers/mdstat.js";
import { parseUint } from "../parsers/numbers.js";
import { quoteExcerpt } from "../parsers/text.js";

const device = ["device"];
const disksRequiredDesc = gauge("node_md_disks_required", "Total number of disks of device.", device);
const disksDesc = gauge("node_md_disks", "Number of active/failed/spare disks of device.", ["device", "state"]);
const stateDesc = gauge("node_md_state", "Indicates the state of md-device.", ["device", "state"]);
const blocksDesc = gauge("node_md_blocks", "Total number of blocks on device.", device);
const blocksSyncedDesc = gauge("node_md_blocks_synced", "Number of blocks synced on device.", device);
const raidDisksDesc = gauge("node_md_raid_disks", "Number of raid disks on device.", device);
const degradedDesc = gauge("node_md_degraded", "Number of degraded disks on device.", device);

/**
 * node_md_state's label -> the procfs activity state that sets it to 1. node_exporter labels the
 * sync states "resync"/"check" while procfs calls them "resyncing"/"checking"; "reshaping" sets
 * none of them.
 */
const STATES: ReadonlyArray<[label: string, activityState: string]> = [
  ["active", "active"],
  ["inactive", "inactive"],
  ["recovering", "recovering"],
  ["resync", "resyncing"],
  ["check", "checking"],
];

export interface MdRaid {
  device: string;
  raidDisks: number;
  degradedDisks: number;
}

/** Levels whose arrays have a chunk_size attribute, and those that have degraded/sync_* ones. */
const CHUNKED_LEVELS = new Set(["raid0", "raid4", "raid5", "raid6", "raid10"]);
const REDUNDANT_LEVELS = new Set(["raid1", "raid4", "raid5", "raid6", "raid10"]);

function quote(text: string): string {
  return quoteExcerpt(text, 60);
}

/** An md attribute file is missing: node_exporter then reports no sysfs md metrics at all (ErrNoData). */
class MissingAttribute extends Error {}

function readMdAttribute(file: string): string {
  const text = readSysAttribute(file);
  if (text !== undefined) return text;
  // Failed: read again the slow way to tell a missing file from an unreadable one.
  try {
    return readText(file, 64 * 1024).trim();
  } catch (err) {
    if (isMissing(err)) throw new MissingAttribute(file);
    throw new CollectorError(`${file}: ${(err as Error).message}`, { cause: err });
  }
}

function readMdUint(file: string): number {
  const text = readMdAttribute(file);
  const value = parseUint(text);
  if (Number.isNaN(value)) throw new CollectorError(`${file}: expected an unsigned integer, got ${quote(text)}`);
  return value;
}

/**
 * The arrays under /sys/block/md*\/md, read as procfs's Mdraids reads them: every attribute it
 * reads must be present and well-formed. A missing one yields undefined (node_exporter's
 * ErrNoData: no raid_disks/degraded series), a malformed one throws CollectorError.
 */
export function readMdRaids(paths: HostPaths): MdRaid[] | undefined {
  const raids: MdRaid[] = [];
  try {
    for (const name of listDir(paths.sys("block"))) {
      if (!name.startsWith("md")) continue;
      const dir = paths.sys("block", name, "md");
      if (!fs.existsSync(dir)) continue;
      const level = readMdAttribute(path.join(dir, "level"));
      readMdAttribute(path.join(dir, "array_state"));
      readMdAttribute(path.join(dir, "metadata_version"));
      const raidDisks = readMdUint(path.join(dir, "raid_disks"));
      readMdAttribute(path.join(dir, "uuid"));
      for (const entry of listDir(dir)) {
        if (entry.startsWith("dev-")) readMdAttribute(path.join(dir, entry, "state"));
      }
      if (CHUNKED_LEVELS.has(level)) readMdUint(path.join(dir, "chunk_size"));
      let degradedDisks = 0;
      if (REDUNDANT_LEVELS.has(level)) {
        degradedDisks = readMdUint(path.join(dir, "degraded"));
        readMdAttribute(path.join(dir, "sync_action"));
        checkSyncCompleted(path.join(dir, "sync_completed"));
      }
      raids.push({ device: name, raidDisks, degradedDisks });
    }
  } catch (err) {
    if (err instanceof MissingAttribute) return undefined;
    throw err;
  }
  return raids;
}

/**
 * sync_completed is "none", "<done> / <total>" sectors, or "delayed" while a resync waits for
 * another array. procfs rejects "delayed" (failing node_exporter's whole collector); nodetap
 * accepts it as the valid kernel state it is.
 */
function checkSyncCompleted(file: string): void {
  const text = readMdAttribute(file);
  if (text === "none" || text === "delayed") return;
  if (!/^\d+\s*\/\s*\d+/.test(text)) throw new CollectorError(`${file}: expected "<sectors> / <sectors>", got ${quote(text)}`);
}

export const collector: CollectorDefinition = {
  name: "mdadm",
  defaultEnabled: true,
  create({ paths }) {
    return {
      name: "mdadm",
      update(out) {
        const file = paths.proc("mdstat");
        const text = readHostFile(file);
        // No /proc/mdstat: the md driver is not loaded.
        if (text === undefined) return;
        for (const md of parseMdstat(text, file)) {
          out.add(disksRequiredDesc, md.disksTotal, md.name);
          out.add(disksDesc, md.disksActive, md.name, "active");
          out.add(disksDesc, md.disksFailed, md.name, "failed");
          out.add(disksDesc, md.disksSpare, md.name, "spare");
          for (const [label, activityState] of STATES) out.add(stateDesc, md.activityState === activityState ? 1 : 0, md.name, label);
          out.add(blocksDesc, md.blocksTotal, md.name);
          out.add(blocksSyncedDesc, md.blocksSynced, md.name);
        }
        for (const raid of readMdRaids(paths) ?? []) {
          out.add(raidDisksDesc, raid.raidDisks, raid.device);
          out.add(degradedDesc, raid.degradedDisks, raid.device);
        }
      },
    };
  },
};
