import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import {
  allocationRatio,
  collector,
  createBtrfsCollector,
  parseBtrfsCommitStats,
  parseBtrfsValue,
} from "../../../agent/metrics/collectors/btrfs.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import type { HostPaths } from "../../../agent/host/paths.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FS1 = "0abb23a9-579b-43e6-ad30-227ef47fcb9d";
const COMMIT_STATS = fs.readFileSync(path.join(FIXTURE_ROOT, "sys/fs/btrfs", FS1, "commit_stats"), "utf8");

/** A small btrfs sysfs tree: one filesystem on sda2 and sdb (raid1 metadata, single data). */
function btrfsTree(extra: Record<string, string> = {}): HostPaths {
  const fsDir = "sys/fs/btrfs/11111111-2222-3333-4444-555555555555";
  return hostTree({
    "sys/fs/btrfs/features/raid56": "0\n",
    [`${fsDir}/label`]: "data\n",
    [`${fsDir}/metadata_uuid`]: "11111111-2222-3333-4444-555555555555\n",
    [`${fsDir}/devices/sda2/size`]: "2048\n",
    [`${fsDir}/devices/sdb/size`]: "4096\n",
    [`${fsDir}/allocation/global_rsv_size`]: "1024\n",
    [`${fsDir}/allocation/data/bytes_reserved`]: "7\n",
    [`${fsDir}/allocation/data/single/total_bytes`]: "100\n",
    [`${fsDir}/allocation/data/single/used_bytes`]: "50\n",
    [`${fsDir}/allocation/metadata/bytes_reserved`]: "0\n",
    [`${fsDir}/allocation/metadata/raid1/total_bytes`]: "20\n",
    [`${fsDir}/allocation/metadata/raid1/used_bytes`]: "10\n",
    [`${fsDir}/allocation/system/bytes_reserved`]: "0\n",
    [`${fsDir}/allocation/system/raid1/total_bytes`]: "8\n",
    [`${fsDir}/allocation/system/raid1/used_bytes`]: "4\n",
    [`${fsDir}/commit_stats`]: "commits 3\nlast_commit_ms 20\nmax_commit_ms 40\ntotal_commit_ms 60\n",
    ...extra,
  });
}

async function scrapeWith(paths: HostPaths, mounted: (localPath: string) => boolean): Promise<FamilyCollector> {
  const out = new FamilyCollector();
  await createBtrfsCollector(paths, silentLogger, mounted).update(out, { signal: new AbortController().signal });
  return out;
}

describe("btrfs collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_btrfs_"));
    expect(families.length).toBe(11);
    expect(diffFamilies(toParsed(await collectOnce(collector)), families)).toEqual([]);
  });

  it("emits each family's samples in node_exporter's order", async () => {
    const out = await collectOnce(collector);
    const ratio = out.families.get("node_btrfs_allocation_ratio")!.samples.map((s) => s.labelValues.slice(1).join("/"));
    expect(ratio).toEqual(["data/raid0", "data/raid5", "metadata/raid1", "metadata/raid6", "system/raid1", "system/raid6"]);
  });

  it("reads a filesystem's allocation, commits and devices", async () => {
    const out = await scrapeTree(collector, btrfsTree());
    const id = "11111111-2222-3333-4444-555555555555";
    expect(valuesOf(out, "node_btrfs_info")).toEqual(new Map([[`${id},data`, 1]]));
    expect(valuesOf(out, "node_btrfs_reserved_bytes").get(`${id},data`)).toBe(7);
    expect(valuesOf(out, "node_btrfs_used_bytes")).toEqual(
      new Map([
        [`${id},data,single`, 50],
        [`${id},metadata,raid1`, 10],
        [`${id},system,raid1`, 4],
      ]),
    );
    expect(valuesOf(out, "node_btrfs_allocation_ratio").get(`${id},data,single`)).toBe(1);
    expect(valuesOf(out, "node_btrfs_device_size_bytes")).toEqual(
      new Map([
        [`${id},sda2`, 2048 * 512],
        [`${id},sdb`, 4096 * 512],
      ]),
    );
    expect(valuesOf(out, "node_btrfs_commit_seconds_total").get(id)).toBe(0.06);
    expect(valuesOf(out, "node_btrfs_max_commit_seconds").get(id)).toBe(0.04);
    expect(out.families.has("node_btrfs_device_errors_total")).toBe(false);
  });

  it("reports nothing, without error, when there is no btrfs filesystem", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    expect((await scrapeTree(collector, hostTree({ "sys/fs/btrfs/features/raid56": "0\n" }))).families.size).toBe(0);
  });

  it("reads missing attributes as 0 as procfs does (no commit_stats before Linux 6.0, mixed block groups)", async () => {
    const dir = "sys/fs/btrfs/aaaaaaaa-bbbb";
    const out = await scrapeTree(collector, hostTree({ [`${dir}/allocation/system/single/total_bytes`]: "8\n" }));
    // No metadata_uuid: the directory name is the UUID.
    expect(valuesOf(out, "node_btrfs_info")).toEqual(new Map([["aaaaaaaa-bbbb,", 1]]));
    expect(valuesOf(out, "node_btrfs_commits_total")).toEqual(new Map([["aaaaaaaa-bbbb", 0]]));
    expect(valuesOf(out, "node_btrfs_reserved_bytes")).toEqual(
      new Map([
        ["aaaaaaaa-bbbb,data", 0],
        ["aaaaaaaa-bbbb,metadata", 0],
        ["aaaaaaaa-bbbb,system", 0],
      ]),
    );
    expect(valuesOf(out, "node_btrfs_size_bytes")).toEqual(new Map([["aaaaaaaa-bbbb,system,single", 8]]));
    expect(out.families.has("node_btrfs_device_size_bytes")).toBe(false);
  });

  it("fails with a CollectorError naming the file for a malformed attribute or commit_stats", async () => {
    const dir = "sys/fs/btrfs/11111111-2222-3333-4444-555555555555";
    await expect(scrapeTree(collector, btrfsTree({ [`${dir}/allocation/data/single/used_bytes`]: "lots\n" }))).rejects.toThrow(
      /single\/used_bytes: expected an unsigned integer, got "lots"/,
    );
    await expect(scrapeTree(collector, btrfsTree({ [`${dir}/commit_stats`]: "commits 1 2\n" }))).rejects.toThrow(
      /commit_stats: line 1: expected "<key> <value>"/,
    );
  });

  it("leaves out device series for filesystems node_exporter would read with ioctls", async () => {
    const mountinfo = "29 1 0:27 / /srv rw,relatime shared:1 - btrfs /dev/sdb rw,space_cache=v2\n";
    const paths = btrfsTree({ "proc/1/mountinfo": mountinfo });
    const seen: string[] = [];
    const reachable = await scrapeWith(paths, (p) => (seen.push(p), true));
    expect(seen).toEqual([paths.root("srv")]);
    expect(reachable.families.has("node_btrfs_device_size_bytes")).toBe(false);
    expect(reachable.families.has("node_btrfs_info")).toBe(true);
    // The mount point is not reachable (no host root here): node_exporter falls back to sysfs too.
    expect((await scrapeWith(paths, () => false)).families.get("node_btrfs_device_size_bytes")?.samples.length).toBe(2);
    // A btrfs mount of another filesystem does not count.
    const other = btrfsTree({ "proc/1/mountinfo": mountinfo.replace("/dev/sdb", "/dev/sdc") });
    expect((await scrapeWith(other, () => true)).families.get("node_btrfs_device_size_bytes")?.samples.length).toBe(2);
    // A /dev/mapper name is resolved to the dm-N device listed under devices/.
    const dir = "sys/fs/btrfs/11111111-2222-3333-4444-555555555555";
    const mapped = btrfsTree({
      "proc/1/mountinfo": mountinfo.replace("/dev/sdb", "/dev/mapper/crypt"),
      [`${dir}/devices/dm-0/size`]: "8\n",
      "dev/dm-0": "",
    });
    fs.mkdirSync(mapped.root("dev/mapper"));
    fs.symlinkSync("../dm-0", mapped.root("dev/mapper/crypt"));
    expect((await scrapeWith(mapped, () => true)).families.has("node_btrfs_device_size_bytes")).toBe(false);
    expect((await scrapeWith(mapped, () => false)).families.get("node_btrfs_device_size_bytes")?.samples.length).toBe(3);
  });
});

describe("btrfs parsers", () => {
  it("parses commit_stats", () => {
    expect(parseBtrfsCommitStats(COMMIT_STATS)).toEqual({
      commits: 258051,
      lastCommitMs: 1000,
      maxCommitMs: 51462,
      totalCommitMs: 47836090,
    });
    expect(parseBtrfsCommitStats("")).toEqual({ commits: 0, lastCommitMs: 0, maxCommitMs: 0, totalCommitMs: 0 });
    expect(parseBtrfsCommitStats("commits 2\nnew_key 9\n").commits).toBe(2);
    for (const bad of ["commits\n", "commits 1\n\n", "commits -1\n", "commits 18446744073709551616\n"]) {
      expect(() => parseBtrfsCommitStats(bad), bad).toThrow(CollectorError);
    }
  });

  it("parses numeric attributes and allocation ratios", () => {
    expect(parseBtrfsValue("16777216\n")).toBe(16777216);
    expect(parseBtrfsValue("")).toBe(0);
    expect(parseBtrfsValue("0x10")).toBeNaN();
    expect(allocationRatio("raid5", 4)).toBeCloseTo(4 / 3);
    expect(allocationRatio("raid6", 4)).toBe(2);
    expect(allocationRatio("raid1c3", 3)).toBe(0);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseBtrfsCommitStats(text), COMMIT_STATS);
    checkParserOnBadInput(parseBtrfsValue, "16777216\n");
  });
});
