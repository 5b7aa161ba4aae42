import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector } from "../../../agent/metrics/collectors/nfsd.js";
import { SERVER_V4_OPERATIONS, parseNfsServerStats } from "../../../agent/metrics/collectors/nfs-rpc-stats.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const NFSD = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/rpc/nfsd"), "utf8");

describe("nfsd collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_nfsd_"));
    expect(families.length).toBe(14);
    expect(diffFamilies(toParsed(await collectOnce(collector)), families)).toEqual([]);
  });

  it("reports nothing without /proc/net/rpc/nfsd", async () => {
    const out = await scrapeTree(collector, hostTree({ "proc/net/rpc/nfs": "rpc 1 2 3\n" }));
    expect(out.families.size).toBe(0);
  });

  it("reads a file without the ra line (Linux 5.x) and a 39-operation proc4ops line", async () => {
    const text = NFSD.split("\n")
      .filter((l) => l !== "" && !l.startsWith("ra ") && !l.startsWith("proc4ops "))
      .concat([`proc4ops 39 ${"0 ".repeat(38)}39`])
      .join("\n");
    const out = await scrapeTree(collector, hostTree({ "proc/net/rpc/nfsd": text }));
    expect(valuesOf(out, "node_nfsd_read_ahead_cache_size_blocks")).toEqual(new Map([["", 0]]));
    const requests = valuesOf(out, "node_nfsd_requests_total");
    expect(requests.get("4,Write")).toBe(39);
    expect(requests.get("4,RelLockOwner")).toBe(0);
    expect(requests.get("4,WdelegGetattr")).toBe(15);
    expect(requests.size).toBe(17 + 21 + 36);
  });

  it("fails the scrape, naming the file, on a line procfs rejects", async () => {
    const paths = hostTree({ "proc/net/rpc/nfsd": NFSD.replace("io 157286400 72864", "io 157286400") });
    await expect(scrapeTree(collector, paths)).rejects.toThrow(/rpc\/nfsd: line 3: io has 1 values, expected 2/);
  });
});

describe("parseNfsServerStats", () => {
  it("parses the recorded file", () => {
    const stats = parseNfsServerStats(NFSD);
    expect(stats.replyCache).toEqual({ hits: 0, misses: 6, noCache: 18622 });
    expect(stats.threads).toEqual({ threads: 8, fullCount: 0 });
    expect(stats.readAheadCache.histogram).toHaveLength(10);
    expect(stats.rpc).toEqual({ rpcCount: 18628, badCount: 3, badFormat: 1, badAuth: 2, badClientInt: 0 });
    expect(stats.v4).toEqual({ null: 2, compound: 10853 });
    expect(stats.v4Ops[SERVER_V4_OPERATIONS.indexOf("PutFH")]).toBe(9609);
    expect(stats.v4Ops).toHaveLength(40);
    expect(stats.wdelegGetattr).toBe(15);
  });

  it("rejects what procfs rejects", () => {
    const bad = [
      ["th 8\n", /invalid NFSd th line/],
      ["th 8 x 0.000\n", /"x" is not an unsigned integer/],
      ["ra 32 0 0\n", /ra has 3 values, expected 12/],
      ["proc4 3 1 2 3\n", /proc4 declares 3 values, expected 2/],
      ["proc4ops 38 " + "0 ".repeat(38) + "\n", /proc4ops declares 38 values/],
      ["rpc 1 2 3 4\n", /rpc has 4 values, expected 5/],
      ["pool 1 2\n", /unknown NFSd metric line "pool"/],
      ["wdeleg_getattr\n", /invalid NFSd metric line/],
    ] as const;
    for (const [text, message] of bad) {
      expect(() => parseNfsServerStats(text), text.slice(0, 30)).toThrow(CollectorError);
      expect(() => parseNfsServerStats(text), text.slice(0, 30)).toThrow(message);
    }
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseNfsServerStats(text), NFSD);
  });
});
