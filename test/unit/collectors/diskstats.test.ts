import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector } from "../../../agent/metrics/collectors/diskstats.js";
import { parseDiskstats, parseUdevProperties } from "../../../agent/metrics/parsers/diskstats.js";
import { collectOnce, diffFamilies, e2eConfig, expectedFamilies, FIXTURE_ROOT, toParsed } from "../../helpers/fixtures.js";

const DISKSTATS = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/diskstats"), "utf8");

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-diskstats-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A host tree with the given files (paths relative to the tree), for collector behaviour tests. */
function tree(name: string, files: Record<string, string>): string {
  const root = path.join(scratch, name);
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  }
  fs.mkdirSync(path.join(root, "sys"), { recursive: true });
  fs.mkdirSync(path.join(root, "udev"), { recursive: true });
  return root;
}

function treeConfig(root: string, flags: string[] = []) {
  return loadConfig([`--path.procfs=${root}/proc`, `--path.sysfs=${root}/sys`, `--path.udev.data=${root}/udev`, ...flags], {}).config;
}

/** Every /sys/block/<dev>/queue attribute procfs reads, with plausible values. */
function completeQueue(dev: string, rotational: string): Record<string, string> {
  const values: Record<string, string> = {
    rotational,
    io_poll_delay: "-1",
    wbt_lat_usec: "75000",
    write_cache: "write back",
    zoned: "none",
  };
  values.scheduler = "mq-deadline [none]";
  for (const name of [
    "add_random dax discard_granularity discard_max_hw_bytes discard_max_bytes hw_sector_size io_poll io_timeout iostats",
    "logical_block_size max_hw_sectors_kb max_integrity_segments max_sectors_kb max_segments max_segment_size minimum_io_size",
    "nomerges nr_requests optimal_io_size physical_block_size read_ahead_kb rq_affinity write_same_max_bytes nr_zones",
    "chunk_sectors fua max_discard_segments write_zeroes_max_bytes",
  ]
    .join(" ")
    .split(" ")) {
    values[name] ??= "0";
  }
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [`sys/block/${dev}/queue/${k}`, `${v}\n`]));
}

describe("diskstats collector against node_exporter's recorded host", () => {
  it("emits exactly node_exporter's node_disk_* series", async () => {
    const out = await collectOnce(collector);
    const names = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_disk_"));
    expect(names).toContain("node_disk_flush_requests_time_seconds_total");
    expect(names).toContain("node_disk_ata_rotation_rate_rpm");
    expect(diffFamilies(toParsed(out), names)).toEqual([]);
  });
});

describe("parseDiskstats", () => {
  it("reads the 11, 15 and 17 counter layouts of the recording", () => {
    const entries = parseDiskstats(DISKSTATS);
    const byName = new Map(entries.map((e) => [e.device, e]));
    expect(entries).toHaveLength(51);
    expect(byName.get("sda")).toEqual({
      major: 8,
      minor: 0,
      device: "sda",
      stats: [25354637, 34367663, 1003346126, 18492372, 28444756, 11134226, 505697032, 63877960, 0, 9653880, 82621804],
    });
    expect(byName.get("sdb")?.stats).toHaveLength(15);
    expect(byName.get("sdc")?.stats).toHaveLength(17);
    expect(byName.get("sdc")?.stats.slice(15)).toEqual([1555, 1944]);
  });

  it("keeps lines with 11 or more counters, caps them at 17, and skips shorter ones", () => {
    const counters = (n: number) => Array.from({ length: n }, (_, i) => i + 1).join(" ");
    const text = [
      `8 0 a ${counters(10)}`,
      `8 1 b ${counters(11)}`,
      `8 2 c ${counters(12)}`,
      `8 3 d ${counters(19)}`,
      "",
      "   ",
      "8 4",
    ].join("\n");
    const entries = parseDiskstats(text);
    expect(entries.map((e) => [e.device, e.stats.length])).toEqual([
      ["b", 11],
      ["c", 12],
      ["d", 17],
    ]);
  });

  it("accepts tabs and a trailing \\r like fmt.Sscanf", () => {
    expect(parseDiskstats("8\t0\tsda\t1 2 3 4 5 6 7 8 9 10 11\r\n")[0].stats[10]).toBe(11);
  });

  it.each([
    ["8 0 sda 1 2 x 4 5 6 7 8 9 10 11", /line 1: field 6 "x" is not an unsigned integer/],
    ["8 0 sda 1 2 -3 4 5 6 7 8 9 10 11", /field 6 "-3"/],
    ["sda 8 0 1 2 3 4 5 6 7 8 9 10 11", /device number/],
    ["4294967296 0 sda 1 2 3 4 5 6 7 8 9 10 11", /device number/],
  ])("fails the file on %j, as procfs does", (line, message) => {
    expect(() => parseDiskstats(line)).toThrow(CollectorError);
    expect(() => parseDiskstats(line)).toThrow(message);
  });

  it("never throws anything but CollectorError", () => {
    const mutations = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString("utf8")),
      fc.nat(DISKSTATS.length).map((n) => DISKSTATS.slice(0, n)),
      fc.tuple(fc.nat(DISKSTATS.length), fc.string()).map(([at, junk]) => DISKSTATS.slice(0, at) + junk + DISKSTATS.slice(at)),
    );
    fc.assert(
      fc.property(mutations, (text) => {
        try {
          for (const entry of parseDiskstats(text)) {
            expect(entry.stats.length).toBeGreaterThanOrEqual(11);
            expect(entry.stats.length).toBeLessThanOrEqual(17);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(CollectorError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("handles an empty file and an oversized line", () => {
    expect(parseDiskstats("")).toEqual([]);
    const long = `8 0 ${"s".repeat(1_000_000)} 1 2 3 4 5 6 7 8 9 10 11`;
    expect(parseDiskstats(long)[0].device).toHaveLength(1_000_000);
    expect(() => parseDiskstats(`8 0 sda ${"9".repeat(100_000)} 2 3 4 5 6 7 8 9 10 11`)).toThrow(CollectorError);
  });
});

describe("parseUdevProperties", () => {
  it("keeps E: properties only, splits at the first =, and keeps the last repeat", () => {
    const props = parseUdevProperties("S:disk/by-id/x\nE:ID_MODEL=A=B\nE:NOEQUALS\nE:ID_FS_TYPE=ext4\r\nE:ID_FS_TYPE=xfs\nW:3\nE:EMPTY=\n");
    expect([...props]).toEqual([
      ["ID_MODEL", "A=B"],
      ["ID_FS_TYPE", "xfs"],
      ["EMPTY", ""],
    ]);
  });

  it("stops at a line longer than bufio.Scanner's 64 KiB limit", () => {
    const props = parseUdevProperties(`E:A=1\nE:LONG=${"x".repeat(70_000)}\nE:B=2\n`);
    expect([...props.keys()]).toEqual(["A"]);
  });

  it("never throws on any input", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (text) => void parseUdevProperties(text)));
  });
});

describe("diskstats collector behaviour", () => {
  const line = (major: number, minor: number, dev: string) => `${major} ${minor} ${dev} 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n`;

  it('labels rotational "1" only when the whole queue directory reads, like procfs', async () => {
    const root = tree("rotational", {
      "proc/diskstats": line(8, 0, "sda") + line(8, 16, "sdb") + line(8, 32, "sdc") + line(8, 48, "sdd"),
      ...completeQueue("sda", "1"),
      ...completeQueue("sdb", "1"),
      ...completeQueue("sdc", "2"),
      ...completeQueue("sdd", "0"),
      "sys/block/sdb/queue/io_timeout": "not a number\n",
    });
    const info = toParsed(await collectOnce(collector, treeConfig(root))).get("node_disk_info")!;
    const rotational = Object.fromEntries(
      [...info.samples.keys()].map((k) => [/device="(\w+)"/.exec(k)![1], /rotational="(\w+)"/.exec(k)![1]]),
    );
    // sdc: strconv.FormatUint(2, 2).
    expect(rotational).toEqual({ sda: "1", sdb: "0", sdc: "10", sdd: "0" });
  });

  it("converts units: sectors to bytes (but not discarded sectors), milliseconds to seconds", async () => {
    const root = tree("units", { "proc/diskstats": line(8, 0, "sda") });
    const out = toParsed(await collectOnce(collector, treeConfig(root)));
    const value = (family: string) => out.get(family)!.samples.get(`${family}{device="sda"}`);
    expect(value("node_disk_read_bytes_total")).toBe(3 * 512);
    expect(value("node_disk_read_time_seconds_total")).toBe(0.004);
    expect(value("node_disk_written_bytes_total")).toBe(7 * 512);
    expect(value("node_disk_io_now")).toBe(9);
    expect(value("node_disk_io_time_weighted_seconds_total")).toBe(0.011);
    expect(value("node_disk_discarded_sectors_total")).toBe(14);
    expect(value("node_disk_flush_requests_time_seconds_total")).toBe(0.017);
    expect(out.get("node_disk_io_now")!.type).toBe("gauge");
    expect(
      out
        .get("node_disk_info")!
        .samples.get('node_disk_info{device="sda",major="8",minor="0",model="",path="",revision="",rotational="0",serial="",wwn=""}'),
    ).toBe(1);
  });

  it("reports device-mapper info, no backing-device family (not in node_exporter 1.12), and skips ATA values that do not parse", async () => {
    const root = tree("dm", {
      "proc/diskstats": line(252, 0, "dm-0") + line(8, 0, "sda"),
      "udev/b252:0": "E:DM_NAME=vg-root\nE:DM_UUID=LVM-x\nE:DM_VG_NAME=vg\nE:DM_LV_NAME=root\n",
      "udev/b8:0": "E:ID_ATA=1\nE:ID_ATA_WRITE_CACHE=1\nE:ID_ATA_WRITE_CACHE_ENABLED=yes\nE:ID_SERIAL=virt-1\n",
      "sys/block/dm-0/slaves/sdb": "",
      "sys/block/dm-0/slaves/sda": "",
    });
    const out = toParsed(await collectOnce(collector, treeConfig(root)));
    expect(out.has("node_disk_device_mapper_backing_device_info")).toBe(false);
    expect(
      out
        .get("node_disk_device_mapper_info")!
        .samples.get('node_disk_device_mapper_info{device="dm-0",lv_layer="",lv_name="root",name="vg-root",uuid="LVM-x",vg_name="vg"}'),
    ).toBe(1);
    expect([...out.get("node_disk_ata_write_cache")!.samples.keys()]).toEqual(['node_disk_ata_write_cache{device="sda"}']);
    expect(out.has("node_disk_ata_write_cache_enabled")).toBe(false);
    expect([...out.get("node_disk_info")!.samples.keys()].some((k) => k.includes('serial="virt-1"'))).toBe(true);
  });

  it("applies an include pattern instead of the default exclude", async () => {
    const out = toParsed(await collectOnce(collector, e2eConfig(["--collector.diskstats.device-include=^(sda|sda1|loop0)$"])));
    const devices = [...out.get("node_disk_reads_completed_total")!.samples.keys()].map((k) => /device="([^"]+)"/.exec(k)![1]);
    expect(devices.sort()).toEqual(["loop0", "sda", "sda1"]);
  });

  it("fails with the file named when /proc/diskstats is missing", async () => {
    const root = tree("missing", {});
    await expect(collectOnce(collector, treeConfig(root))).rejects.toThrow(/diskstats: file not found/);
  });
});
