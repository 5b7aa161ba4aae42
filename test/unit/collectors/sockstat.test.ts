import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import { readPageSize } from "../../../agent/host/page-size.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseSockstat } from "../../../agent/metrics/collectors/sockstat.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";

const SOCKSTAT = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/sockstat"), "utf8");
const SOCKSTAT6 = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/sockstat6"), "utf8");

function withProcNet(files: Record<string, string>, run: (procRoot: string) => Promise<void>): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "sockstat-"));
  fs.mkdirSync(path.join(root, "net"));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(root, "net", name), text);
  return run(root).finally(() => fs.rmSync(root, { recursive: true }));
}

describe("sockstat collector", () => {
  it("matches node_exporter's e2e output (4 KiB pages, as the fixture tree has no proc/self/auxv)", async () => {
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_sockstat_"));
    expect(families.length).toBe(20);
    const out = await collectOnce(collector);
    expect(diffFamilies(toParsed(out), families)).toEqual([]);
  });

  it("reports IPv4 alone when sockstat6 is absent, and nothing without either file", async () => {
    await withProcNet({ sockstat: SOCKSTAT }, async (root) => {
      const out = toParsed(await collectOnce(collector, e2eConfig([`--path.procfs=${root}`])));
      expect(out.has("node_sockstat_TCP_inuse")).toBe(true);
      expect(out.has("node_sockstat_TCP6_inuse")).toBe(false);
    });
    await withProcNet({}, async (root) => {
      expect((await collectOnce(collector, e2eConfig([`--path.procfs=${root}`]))).families.size).toBe(0);
    });
  });

  it("fails as a whole, naming the file, when one file is unusable", async () => {
    await withProcNet({ sockstat: SOCKSTAT, sockstat6: "TCP6: inuse\n" }, async (root) => {
      await expect(collectOnce(collector, e2eConfig([`--path.procfs=${root}`]))).rejects.toThrow(/net\/sockstat6: line 1/);
    });
  });

  it("reads this host's sockstat with its page size", async () => {
    const out = toParsed(await collectOnce(collector, loadConfig(["--path.procfs=/proc"], {}).config));
    const pages = out.get("node_sockstat_TCP_mem")!.samples.get("node_sockstat_TCP_mem{}")!;
    const bytes = out.get("node_sockstat_TCP_mem_bytes")!.samples.get("node_sockstat_TCP_mem_bytes{}")!;
    expect(bytes).toBe(pages * readPageSize("/proc/self/auxv")!);
    expect(out.get("node_sockstat_sockets_used")?.samples.size).toBe(1);
  });
});

describe("parseSockstat", () => {
  it("parses both fixture files", () => {
    const v4 = parseSockstat(SOCKSTAT);
    expect(v4.used).toBe(229);
    expect(v4.protocols[0]).toEqual({ protocol: "TCP", inuse: 4, states: { orphan: 0, tw: 4, alloc: 17, mem: 1 } });
    expect(v4.protocols.map((p) => p.protocol)).toEqual(["TCP", "UDP", "UDPLITE", "RAW", "FRAG"]);
    const v6 = parseSockstat(SOCKSTAT6, "/proc/net/sockstat6");
    expect(v6.used).toBeUndefined();
    expect(v6.protocols.find((p) => p.protocol === "FRAG6")).toEqual({ protocol: "FRAG6", inuse: 0, states: { memory: 0 } });
  });

  it("follows procfs on odd lines", () => {
    // Unknown keys are ignored, a missing inuse is 0, values use Go's base-0 integers.
    expect(parseSockstat("XDP: mem 0x10 foo 3\n").protocols).toEqual([{ protocol: "XDP", inuse: 0, states: { mem: 16 } }]);
    expect(parseSockstat("\nTCP: inuse 1\n\n").protocols).toHaveLength(1);
    for (const bad of ["TCP: inuse\n", "TCP:\n", "TCP: inuse 1 tw\n", "TCP: inuse one\n", "TCP:  inuse 1\n"]) {
      expect(() => parseSockstat(bad, "/host/proc/net/sockstat"), bad).toThrow(CollectorError);
      expect(() => parseSockstat(bad, "/host/proc/net/sockstat"), bad).toThrow(/^\/host\/proc\/net\/sockstat: line 1/);
    }
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseSockstat(text), SOCKSTAT);
    checkParserOnBadInput((text) => parseSockstat(text), SOCKSTAT6);
  });
});
