import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector } from "../../../agent/metrics/collectors/nfs.js";
import { CLIENT_V4_PROCEDURES, parseNfsClientStats } from "../../../agent/metrics/collectors/nfs-rpc-stats.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const NFS = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/rpc/nfs"), "utf8");

describe("nfs collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_nfs_"));
    expect(families.length).toBe(6);
    expect(diffFamilies(toParsed(await collectOnce(collector)), families)).toEqual([]);
  });

  it("reports nothing without /proc/net/rpc/nfs", async () => {
    const out = await scrapeTree(collector, hostTree({ "proc/net/rpc/nfsd": "rc 0 0 0\n" }));
    expect(out.families.size).toBe(0);
  });

  it("reports zeros for the lines the file lacks, and pads a short NFSv4 line", async () => {
    const out = await scrapeTree(collector, hostTree({ "proc/net/rpc/nfs": "rpc 5 1 2\nproc4 3 7 8 9\n" }));
    expect(valuesOf(out, "node_nfs_rpcs_total")).toEqual(new Map([["", 5]]));
    expect(valuesOf(out, "node_nfs_packets_total")).toEqual(
      new Map([
        ["udp", 0],
        ["tcp", 0],
      ]),
    );
    const requests = valuesOf(out, "node_nfs_requests_total");
    expect(requests.size).toBe(18 + 22 + 59);
    expect(requests.get("4,Null")).toBe(7);
    expect(requests.get("4,Write")).toBe(9);
    expect(requests.get("4,Commit")).toBe(0);
    expect(requests.get("3,GetAttr")).toBe(0);
  });

  it("fails the scrape, naming the file, on a line procfs rejects", async () => {
    const paths = hostTree({ "proc/net/rpc/nfs": NFS.replace("proc2 18 ", "proc2 19 ") });
    await expect(scrapeTree(collector, paths)).rejects.toThrow(/rpc\/nfs: line 3: proc2 declares 19 values but has 18/);
  });
});

describe("parseNfsClientStats", () => {
  it("parses the recorded file", () => {
    const stats = parseNfsClientStats(NFS);
    expect(stats.network).toEqual({ netCount: 70, udpCount: 70, tcpCount: 69, tcpConnect: 45 });
    expect(stats.rpc).toEqual({ rpcCount: 1218785755, retransmissions: 374636, authRefreshes: 1218815394 });
    expect(stats.v3[1]).toBe(1061909262);
    expect(stats.v4[CLIENT_V4_PROCEDURES.indexOf("Clone")]).toBe(0);
    expect(stats.v4.length).toBe(59);
  });

  it("keeps the first 59 NFSv4 procedures of a longer line", () => {
    const values = Array.from({ length: 62 }, (_, i) => i + 1);
    const stats = parseNfsClientStats(`proc4 62 ${values.join(" ")}\n`);
    expect(stats.v4).toEqual(values.slice(0, 59));
  });

  it("rejects what procfs rejects", () => {
    const bad = [
      ["net 1 2 3\n", /net has 3 values, expected 4/],
      ["rpc 1 2 3 4\n", /rpc has 4 values, expected 3/],
      ["proc3 21 " + "0 ".repeat(21) + "\n", /proc3 declares 21 values/],
      ["proc4 3 1 2\n", /proc4 declares 3 values but has 2/],
      ["proc2\n", /invalid NFS metric line/],
      ["\nrpc 1 2 3\n", /line 1: invalid NFS metric line/],
      ["rpc 1 -2 3\n", /"-2" is not an unsigned integer/],
      ["rpc 1 18446744073709551616 3\n", /is not an unsigned integer/],
      ["proc9 1 1\n", /unknown NFS metric line "proc9"/],
      [`rpc ${"1 ".repeat(40000)}\n`, /line too long/],
    ] as const;
    for (const [text, message] of bad) {
      expect(() => parseNfsClientStats(text, "/host/proc/net/rpc/nfs"), text.slice(0, 30)).toThrow(CollectorError);
      expect(() => parseNfsClientStats(text, "/host/proc/net/rpc/nfs"), text.slice(0, 30)).toThrow(message);
    }
  });

  it("accepts an empty file (all zeros), as procfs does", () => {
    expect(parseNfsClientStats("").rpc).toEqual({ rpcCount: 0, retransmissions: 0, authRefreshes: 0 });
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseNfsClientStats(text), NFS);
  });
});
