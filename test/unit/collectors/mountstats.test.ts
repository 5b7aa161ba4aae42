import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector } from "../../../agent/metrics/collectors/mountstats.js";
import {
  durationSeconds,
  parseGoDuration,
  parseMountInfoAddrs,
  parseMountStats,
} from "../../../agent/metrics/collectors/mountstats-parse.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const MOUNTSTATS_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_mountstats_"));
const FIXTURE_MOUNTSTATS = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/self/mountstats"), "utf8");
const FIXTURE_MOUNTINFO = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/self/mountinfo"), "utf8");

const EVENTS = "\tevents:\t" + Array.from({ length: 27 }, (_, i) => i + 1).join(" ");

/** One NFS mount's mountstats block. */
function nfsBlock(opts: { device?: string; mount: string; fstype?: string; statvers?: string; xprt: string[]; ops?: string[] }): string {
  return [
    `device ${opts.device ?? "srv:/export"} mounted on ${opts.mount} with fstype ${opts.fstype ?? "nfs4"} statvers=${opts.statvers ?? "1.1"}`,
    "\topts:\trw,vers=4.2",
    "\tage:\t90",
    EVENTS,
    "\tbytes:\t1 2 3 4 5 6 7 8",
    "\tRPC iostats version: 1.0  p/v: 100003/4 (nfs)",
    ...opts.xprt.map((x) => `\txprt:\t${x}`),
    "\tper-op statistics",
    ...(opts.ops ?? ["\t        READ: 10 11 12 13 14 15 16 17"]),
    "",
  ].join("\n");
}

const mountinfoLine = (id: number, mount: string, superOptions: string) =>
  `${id} 1 0:50 / ${mount} rw shared:1 - nfs4 srv:/export ${superOptions}`;

describe("mountstats collector", () => {
  it("matches node_exporter's output for the fixture host (a duplicate tcp mount adds only its mount point)", async () => {
    expect(MOUNTSTATS_FAMILIES).toHaveLength(54);
    const out = await collectOnce(collector);
    expect(diffFamilies(toParsed(out), MOUNTSTATS_FAMILIES)).toEqual([]);
    // node_exporter 1.12 has no per-operation errors family.
    expect(out.families.has("node_mountstats_nfs_operations_errors_total")).toBe(false);
  });

  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
    expect(e2eConfig().metrics.collectors.mountstats.enabled).toBe(true);
  });

  it("emits nothing without /proc/self/mountstats, and without NFS mounts (mountinfo then unread)", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const noNfs = hostTree({
      "proc/self/mountstats": "device rootfs mounted on / with fstype rootfs\ndevice proc mounted on /proc with fstype proc\n",
    });
    expect((await scrapeTree(collector, noNfs)).families.size).toBe(0);
  });

  it("fails when NFS mounts need labels and mountinfo is missing or malformed", async () => {
    const block = nfsBlock({ mount: "/a", xprt: ["tcp 0 0 1 0 5 6 7 0 0 0 1 2 3"] });
    await expect(scrapeTree(collector, hostTree({ "proc/self/mountstats": block }))).rejects.toThrow(/mountinfo: file not found/);
    const bad = hostTree({ "proc/self/mountstats": block, "proc/self/mountinfo": "1 1 0:5 / / rw - rootfs\n" });
    await expect(scrapeTree(collector, bad)).rejects.toThrow(/mountinfo: line 1: couldn't find enough fields/);
  });

  it("labels transports by index and protocol, takes the address by position, reduces big counters modulo 2^53", async () => {
    const stats = [
      "device tmpfs mounted on /run with fstype tmpfs",
      nfsBlock({ mount: "/a", xprt: ["tcp 0 0 1 0 18446744073709551615 6 7 0 0 0 1 2 3", "tcp 0 0 2 0 5 6 7 0 0 0 1 2 3"] }),
      nfsBlock({ mount: "/b", statvers: "1.0", fstype: "nfs", xprt: ["udp 0 4 6 7 0 0 9", "tcp 0 1 2 3 4 5 6 7 8 9"] }),
      nfsBlock({ device: "other:/x", mount: "/c", xprt: ["tcp 0 0 1 0 5 6 7 0 0 0 1 2 3"] }),
    ].join("\n");
    const info = [
      "20 1 0:5 / /run rw - tmpfs tmpfs rw",
      mountinfoLine(21, "/a", "rw,vers=4.2,addr=10.0.0.1,addr=10.0.0.2,clientaddr=10.0.0.9"),
      mountinfoLine(22, "/b", "rw,addr=10.0.0.3=x"),
    ].join("\n");
    const out = await scrapeTree(collector, hostTree({ "proc/self/mountstats": stats, "proc/self/mountinfo": info }));
    expect(valuesOf(out, "node_mountstats_nfs_mountpoint_info")).toEqual(
      new Map([
        ["srv:/export,tcp,10.0.0.2,/a", 1],
        ["srv:/export,udp,10.0.0.3,/b", 1],
        ["srv:/export,tcp,10.0.0.3,/b", 1],
        ["other:/x,tcp,,/c", 1],
      ]),
    );
    // /b has two protocols: its statistics are reported under each, with all its transports.
    expect(valuesOf(out, "node_mountstats_nfs_transport_idle_time_seconds")).toEqual(
      new Map([
        ["srv:/export,tcp,10.0.0.2,0", 2 ** 53 - 1],
        ["srv:/export,tcp,10.0.0.2,1", 5],
        ["srv:/export,udp,10.0.0.3,0", 0],
        ["srv:/export,udp,10.0.0.3,1", 4],
        ["srv:/export,tcp,10.0.0.3,0", 0],
        ["srv:/export,tcp,10.0.0.3,1", 4],
        ["other:/x,tcp,,0", 5],
      ]),
    );
    expect(valuesOf(out, "node_mountstats_nfs_transport_sends_total").get("srv:/export,udp,10.0.0.3,0")).toBe(6);
    expect(valuesOf(out, "node_mountstats_nfs_transport_maximum_rpc_slots").get("srv:/export,udp,10.0.0.3,1")).toBe(0);
    expect(valuesOf(out, "node_mountstats_nfs_age_seconds_total").get("other:/x,tcp,")).toBe(90);
    expect(valuesOf(out, "node_mountstats_nfs_write_pages_total").get("other:/x,tcp,")).toBe(8);
    expect(valuesOf(out, "node_mountstats_nfs_event_vfs_file_release_total").get("other:/x,tcp,")).toBe(18);
    expect(valuesOf(out, "node_mountstats_nfs_event_truncation_total").get("other:/x,tcp,")).toBe(20);
    expect(valuesOf(out, "node_mountstats_nfs_event_pnfs_write_total").get("other:/x,tcp,")).toBe(27);
    expect(valuesOf(out, "node_mountstats_nfs_operations_request_time_seconds_total").get("other:/x,tcp,,READ")).toBe(0.017);
    expect(out.families.get("node_mountstats_nfs_age_seconds_total")?.samples).toHaveLength(4);
  });

  it("reads NFS over RDMA (stats 1.1) as procfs does", async () => {
    const rdma = "rdma 0 0 0 0 0 5 6 7 8 9 " + Array.from({ length: 18 }, (_, i) => i + 100).join(" ");
    const text = nfsBlock({ mount: "/r", xprt: [rdma] });
    const out = await scrapeTree(
      collector,
      hostTree({ "proc/self/mountstats": text, "proc/self/mountinfo": mountinfoLine(1, "/r", "addr=1.2.3.4") }),
    );
    expect(valuesOf(out, "node_mountstats_nfs_transport_sends_total")).toEqual(new Map([["srv:/export,rdma,1.2.3.4,0", 5]]));
    expect(valuesOf(out, "node_mountstats_nfs_transport_backlog_queue_total")).toEqual(new Map([["srv:/export,rdma,1.2.3.4,0", 9]]));
    expect(valuesOf(out, "node_mountstats_nfs_transport_pending_queue_total")).toEqual(new Map([["srv:/export,rdma,1.2.3.4,0", 0]]));
  });
});

describe("mountstats parsers", () => {
  const parse = (block: string) => parseMountStats(block, "ms");

  it("rejects what procfs rejects", () => {
    expect(() => parse("device x mounted on /y with fstype ext4 statvers=1.1\n")).toThrow(
      /line 1: cannot parse mount statistics for fstype "ext4"/,
    );
    expect(() => parse("device x mounted at /y with fstype nfs\n")).toThrow(/invalid device line/);
    expect(() => parse("device x mounted on /y\n")).toThrow(/invalid device line/);
    const good = nfsBlock({ mount: "/a", xprt: ["tcp 0 0 1 0 5 6 7 0 0 0 1 2 3"] });
    expect(parse(good)).toHaveLength(1);
    expect(() => parse(good.replace("bytes:\t1 2 3 4 5 6 7 8", "bytes:\t1 2 3"))).toThrow(
      /line 5: invalid NFS bytes statistics: 3 values, expected 8/,
    );
    expect(() => parse(good.replace("\tevents:\t1 ", "\tevents:\t-1 "))).toThrow(/invalid NFS events value "-1"/);
    expect(() => parse(good.replace("age:\t90", "age:\t90h"))).toThrow(/invalid NFS age "90h"/);
    expect(() => parse(good.replace("age:\t90", "age:"))).toThrow(/incomplete NFS statistics/);
    expect(() => parse(good.replace("tcp 0 0 1 0 5 6 7 0 0 0 1 2 3", "tcp 0 0 1"))).toThrow(/stats 1.1 statement for tcp: 3 values/);
    expect(() => parse(good.replace("tcp 0 0 1 0 5 6 7 0 0 0 1 2 3", "sctp 0 0 1"))).toThrow(/invalid NFS protocol "sctp"/);
    expect(() => parse(good.replace("tcp 0 0 1 0 5 6 7 0 0 0 1 2 3", "tcp"))).toThrow(/incomplete NFS transport statistics/);
    expect(() => parse(good.replace("statvers=1.1", "statvers=2.0"))).toThrow(/unrecognized NFS transport stats version "2.0"/);
    expect(() => parse(good.replace("READ: 10 11 12 13 14 15 16 17", "READ: 10 11"))).toThrow(/invalid NFS per-operation statistics/);
    expect(() => parse(good.replace("READ: 10 11 12 13 14 15 16 17", "READ: 10 11 12 13 14 15 16 x"))).toThrow(/per-operation value "x"/);
    expect(() => parse(good.replace("tcp 0 0 1 0 5 6 7 0 0 0 1 2 3", `rdma${" 1".repeat(32)}`))).toThrow(/too many NFS transport values/);
  });

  it("reads the per-op block up to its blank line; an extra value per operation (errors) is accepted", () => {
    const block = nfsBlock({
      mount: "/a",
      xprt: ["tcp 0 0 1 0 5 6 7 0 0 0 1 2 3"],
      ops: ["\tNULL: 1 2 3 4 5 6 7 8 9", "\tGETATTR: 1 1 1 1 1 1 1 1"],
    });
    const [mount] = parse(`${block}\ndevice proc mounted on /proc with fstype proc\n`);
    expect(mount.stats?.operations.map((o) => [o.operation, o.requests, o.requestMilliseconds])).toEqual([
      ["NULL", 1, 8n],
      ["GETATTR", 1, 1n],
    ]);
    expect(mount.stats?.ageSeconds).toBe(90);
    // A block without per-op statistics runs into the next device line, which procfs rejects.
    expect(() => parse(block.replace(/\tper-op statistics\n[^]*$/, "\ndevice proc mounted on /proc with fstype proc\n"))).toThrow(
      CollectorError,
    );
  });

  it("parses durations as Go's time.ParseDuration", () => {
    expect(parseGoDuration("13968s")).toBe(13968000000000n);
    expect(parseGoDuration("1.5s")).toBe(1500000000n);
    expect(parseGoDuration("1m30.25s")).toBe(90250000000n);
    expect(parseGoDuration(".5h")).toBe(1800000000000n);
    expect(parseGoDuration("-2\u00b5s")).toBe(-2000n);
    expect(parseGoDuration("0")).toBe(0n);
    expect(parseGoDuration("-9223372036854775808ns")).toBe(-(2n ** 63n));
    for (const bad of ["", "s", ".s", "1", "1hs", "1.s.", "9223372036854775808ns", "2562048h", "--1s"])
      expect(parseGoDuration(bad)).toBeUndefined();
    expect(parseGoDuration("1.s")).toBe(1000000000n);
    expect(durationSeconds(1500000000n)).toBe(1.5);
    expect(durationSeconds(-2000n)).toBe(-0.000002);
  });

  it("reads mountinfo's addr superblock option by line, as procfs's option map gives it", () => {
    expect(parseMountInfoAddrs(FIXTURE_MOUNTINFO)).toEqual(["", "", "", "", "192.168.1.1", "192.168.1.1", "192.168.1.1"]);
    expect(parseMountInfoAddrs(`${mountinfoLine(1, "/a", "addr,x")}\n${mountinfoLine(2, "/b", "addr=1=2,addr")}\n`)).toEqual(["", ""]);
    expect(parseMountInfoAddrs(mountinfoLine(1, "/a", "raddr=5,addr=6"))).toEqual(["6"]);
    expect(() => parseMountInfoAddrs("x 1 0:5 / / rw shared:1 - ext4 /dev/sda rw")).toThrow(/unable to read mount ID/);
    expect(() => parseMountInfoAddrs("1 1 0:5 / / rw shared:1 - ext4 /dev/sda rw extra")).toThrow(/separator/);
    expect(() => parseMountInfoAddrs(`${mountinfoLine(1, "/a", "rw")}\n\n`)).toThrow(/line 2: couldn't find enough fields/);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseMountStats, FIXTURE_MOUNTSTATS);
    checkParserOnBadInput(parseMountInfoAddrs, FIXTURE_MOUNTINFO);
  });
});
