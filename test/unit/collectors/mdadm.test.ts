import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import { HostPaths } from "../../../agent/host/paths.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, readMdRaids } from "../../../agent/metrics/collectors/mdadm.js";
import { parseMdstat } from "../../../agent/metrics/parsers/mdstat.js";
import { collectOnce, diffFamilies, expectedFamilies, FIXTURE_ROOT, toParsed } from "../../helpers/fixtures.js";

const MDSTAT = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/mdstat"), "utf8");
const HEADER = "Personalities : [linear] [raid0] [raid1] [raid5] [raid6] [raid10]\n";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-mdadm-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
  const root = path.join(scratch, name);
  fs.mkdirSync(path.join(root, "proc"), { recursive: true });
  fs.mkdirSync(path.join(root, "sys/block"), { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  }
  return root;
}

function pathsOf(root: string): HostPaths {
  return new HostPaths({ procfs: `${root}/proc`, sysfs: `${root}/sys`, rootfs: root, udevData: `${root}/udev` });
}

/** A healthy raid1 array's sysfs directory. */
function raid1(dev: string, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const files: Record<string, string | undefined> = {
    level: "raid1",
    array_state: "clean",
    metadata_version: "1.2",
    raid_disks: "2",
    uuid: "0123",
    degraded: "0",
    sync_action: "idle",
    sync_completed: "none",
    "dev-sda1/state": "in_sync",
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(files)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => [`sys/block/${dev}/md/${k}`, `${v}\n`]),
  );
}

describe("mdadm collector against node_exporter's recorded host", () => {
  it("emits exactly node_exporter's node_md_* series", async () => {
    const out = await collectOnce(collector);
    const names = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_md_"));
    expect(names).toHaveLength(7);
    expect(diffFamilies(toParsed(out), names)).toEqual([]);
  });

  it("emits nothing when the md driver is not loaded", async () => {
    const root = tree("no-md", {});
    const config = loadConfig([`--path.procfs=${root}/proc`, `--path.sysfs=${root}/sys`], {}).config;
    expect((await collectOnce(collector, config)).families.size).toBe(0);
  });
});

describe("parseMdstat", () => {
  it("reads every array of the recording", () => {
    const byName = new Map(parseMdstat(MDSTAT).map((m) => [m.name, m]));
    expect(byName.size).toBe(17);
    expect(byName.get("md3")).toEqual({
      name: "md3",
      activityState: "active",
      disksActive: 8,
      disksTotal: 8,
      disksFailed: 0,
      disksSpare: 2,
      blocksTotal: 5853468288,
      blocksSynced: 5853468288,
    });
    expect(byName.get("md6")).toMatchObject({
      activityState: "recovering",
      disksActive: 1,
      disksTotal: 2,
      disksFailed: 1,
      blocksSynced: 16775552,
    });
    expect(byName.get("md201")).toMatchObject({ activityState: "checking", blocksSynced: 114176 });
    expect(byName.get("md9")).toMatchObject({ activityState: "resyncing", blocksSynced: 0 });
    expect(byName.get("md101")).toMatchObject({ activityState: "active", disksActive: 3, disksTotal: 3 });
    expect(byName.get("md219")).toMatchObject({
      activityState: "inactive",
      disksActive: 0,
      disksTotal: 0,
      disksSpare: 3,
      blocksTotal: 7932,
    });
    // The bitmap line is skipped when looking for a sync line.
    expect(byName.get("md7")).toMatchObject({ activityState: "active", disksActive: 3, disksTotal: 4, blocksSynced: 7813735424 });
  });

  it("reports a reshape as its own state", () => {
    const text = `${HEADER}md2 : active raid5 sdd1[3] sdc1[2] sdb1[1]\n      1953259520 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/3] [UUU]\n      [>....................]  reshape =  0.1% (2048/976629760) finish=500.0min speed=32000K/sec\n\nunused devices: <none>\n`;
    expect(parseMdstat(text)[0]).toMatchObject({ activityState: "reshaping", blocksSynced: 2048 });
  });

  it("takes the disk counts from the last [n/m] [U_] group after the block count", () => {
    const text = `${HEADER}md1 : active raid1 sda[0] sdb[1]\n      100 blocks [9/9] [UU] super [2/1] [U_]\n\n`;
    expect(parseMdstat(text)[0]).toMatchObject({ disksTotal: 2, disksActive: 1 });
  });

  it.each([
    ["md0 :\n\nunused devices: <none>\n", /line 2: expected at least 3 fields/],
    [`md0 : active raid1 sda[0]\n      100 blocks [2/2] [UU]`, /too few lines for md device "md0"/],
    [`md0 : active raid1 sda[0]\n      x blocks [2/2] [UU]\n\n`, /unexpected status line/],
    [`md0 : active raid1 sda[0]\n      100 blocks [2/2]\n\n`, /could not find the \[n\/m\] \[U_\] disk counts/],
    [`md0 : active raid1 sda[0]\n      100 blocks [2/2] [UU]\n      resync = 5% (1/100) finish=1min\n`, /unexpected recovery speed/],
    [`md0 : active raid1 sda[0]\n      100 blocks [2/2] [UU]\n      recovery = 5%\n`, /unexpected recovery line/],
    [`md0 : active raid1 sda[99999999999]\n      100 blocks [2/2] [UU]\n\n`, /invalid descriptor index/],
  ])("rejects the whole file for %j", (entry, message) => {
    const text = `${HEADER}${entry}`;
    expect(() => parseMdstat(text, "/p/mdstat")).toThrow(CollectorError);
    expect(() => parseMdstat(text, "/p/mdstat")).toThrow(message);
  });

  it("never throws anything but CollectorError, on random or mutated input", () => {
    const mutated = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString("utf8")),
      fc.nat(MDSTAT.length).map((n) => MDSTAT.slice(0, n)),
      fc
        .tuple(fc.nat(MDSTAT.length), fc.nat(200), fc.string())
        .map(([at, drop, junk]) => MDSTAT.slice(0, at) + junk + MDSTAT.slice(at + drop)),
    );
    fc.assert(
      fc.property(mutated, (text) => {
        try {
          parseMdstat(text);
        } catch (err) {
          expect(err).toBeInstanceOf(CollectorError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("stays fast on a hostile oversized line", () => {
    const hostile = `md0 : active raid1 sda[0]\n${"1 blocks = speed= (".repeat(100_000)}\n      resync ${"= ".repeat(100_000)}\n\n`;
    const started = performance.now();
    expect(() => parseMdstat(hostile)).toThrow(CollectorError);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(parseMdstat("")).toEqual([]);
  });
});

describe("md arrays in sysfs", () => {
  it("reads raid_disks and degraded, with degraded 0 for levels that have none", () => {
    const root = tree("ok", {
      ...raid1("md1", { degraded: "1", sync_completed: "delayed" }),
      ...raid1("md0", { level: "raid0", degraded: undefined, sync_action: undefined, sync_completed: undefined, chunk_size: "524288" }),
      "sys/block/sda/size": "1\n",
    });
    expect(readMdRaids(pathsOf(root))).toEqual([
      { device: "md0", raidDisks: 2, degradedDisks: 0 },
      { device: "md1", raidDisks: 2, degradedDisks: 1 },
    ]);
  });

  it("reports no array when an attribute procfs reads is missing (node_exporter's ErrNoData)", () => {
    const root = tree("missing", { ...raid1("md1"), ...raid1("md2", { "dev-sda1/state": undefined, "dev-sdb1/other": "x" }) });
    expect(readMdRaids(pathsOf(root))).toBeUndefined();
  });

  it("fails with the file named when an attribute is malformed", () => {
    const root = tree("malformed", { ...raid1("md1", { raid_disks: "two" }) });
    expect(() => readMdRaids(pathsOf(root))).toThrow(/md1\/md\/raid_disks: expected an unsigned integer, got "two"/);
    const sync = tree("sync", { ...raid1("md1", { sync_completed: "12 of 30" }) });
    expect(() => readMdRaids(pathsOf(sync))).toThrow(CollectorError);
  });

  it("still reports /proc/mdstat when sysfs has no md arrays", async () => {
    const root = tree("proc-only", {
      "proc/mdstat": `${HEADER}md0 : active raid1 sda[0] sdb[1]\n      100 blocks [2/2] [UU]\n\nunused devices: <none>\n`,
    });
    const config = loadConfig([`--path.procfs=${root}/proc`, `--path.sysfs=${root}/sys`], {}).config;
    const out = toParsed(await collectOnce(collector, config));
    expect(out.get("node_md_blocks")?.samples.get('node_md_blocks{device="md0"}')).toBe(100);
    expect(out.get("node_md_state")?.samples.size).toBe(5);
    expect(out.has("node_md_raid_disks")).toBe(false);
  });
});
