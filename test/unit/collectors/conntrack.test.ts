import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseConntrackStat } from "../../../agent/metrics/collectors/conntrack.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";

const STAT = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/stat/nf_conntrack"), "utf8");

/** A procfs tree holding the given files (paths relative to the proc root). */
function withProc(files: Record<string, string>, run: (procRoot: string) => Promise<void>): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "conntrack-"));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return run(root).finally(() => fs.rmSync(root, { recursive: true }));
}

const names = async (procRoot: string) => [...(await collectOnce(collector, e2eConfig([`--path.procfs=${procRoot}`]))).families.keys()];

describe("conntrack collector", () => {
  it("matches node_exporter's e2e output (stats summed over CPUs)", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_nf_conntrack_"));
    expect(families.length).toBe(10);
    const out = await collectOnce(collector);
    expect(diffFamilies(toParsed(out), families)).toEqual([]);
  });

  it("stops where node_exporter stops when files are missing", async () => {
    await withProc({}, async (root) => expect(await names(root)).toEqual([]));
    await withProc({ "sys/net/netfilter/nf_conntrack_count": "5\n" }, async (root) => {
      expect(await names(root)).toEqual(["node_nf_conntrack_entries"]);
    });
    await withProc({ "sys/net/netfilter/nf_conntrack_count": "5\n", "sys/net/netfilter/nf_conntrack_max": "10\n" }, async (root) => {
      expect(await names(root)).toEqual(["node_nf_conntrack_entries", "node_nf_conntrack_entries_limit"]);
    });
  });

  it("fails with the file named when a sysctl is not a number", async () => {
    await withProc({ "sys/net/netfilter/nf_conntrack_count": "-1\n" }, async (root) => {
      await expect(collectOnce(collector, e2eConfig([`--path.procfs=${root}`]))).rejects.toThrow(
        /nf_conntrack_count: expected an unsigned integer/,
      );
    });
  });
});

describe("parseConntrackStat", () => {
  it("sums the reported columns over CPUs", () => {
    // found, invalid, ignore, insert, insert_failed, drop, early_drop, search_restart
    expect(parseConntrackStat(STAT)).toEqual([0, 53, 89738, 0, 0, 0, 0, 7]);
  });

  it("accepts 16-column lines (no search_restart) and blank lines", () => {
    const line16 = "00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008 00000009 0000000a 0000000b 0000000c 0 0 0 0";
    expect(parseConntrackStat(`header\n${line16}\n\n${line16}\n`)).toEqual([6, 10, 12, 18, 20, 22, 24, 0]);
    expect(parseConntrackStat("header only\n")).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("rejects lines procfs rejects, naming the file", () => {
    const header = STAT.split("\n")[0];
    for (const bad of ["1 2 3", `${"0 ".repeat(18)}`, `${"0 ".repeat(16)}zz`]) {
      expect(() => parseConntrackStat(`${header}\n${bad}\n`, "/host/proc/net/stat/nf_conntrack"), bad).toThrow(CollectorError);
      expect(() => parseConntrackStat(`${header}\n${bad}\n`, "/host/proc/net/stat/nf_conntrack"), bad).toThrow(/nf_conntrack: line 2/);
    }
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseConntrackStat(text), STAT);
  });
});
