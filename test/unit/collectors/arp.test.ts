import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseArpEntries } from "../../../agent/metrics/collectors/arp.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";

const ARP = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/net/arp"), "utf8");

describe("arp collector", () => {
  it("matches node_exporter's e2e output (device-exclude=nope)", async () => {
    expect(e2eConfig().metrics.collectors.arp.deviceExclude).toBe("nope");
    const families = [...expectedFamilies().keys()].filter((n) => n.startsWith("node_arp_"));
    expect(families).toEqual(["node_arp_entries"]);
    const out = await collectOnce(collector);
    expect(diffFamilies(toParsed(out), families)).toEqual([]);
  });

  it("counts every device without a filter, and applies device-include", async () => {
    const all = toParsed(await collectOnce(collector, e2eConfig(["--collector.arp.device-exclude="])));
    expect(Object.fromEntries(all.get("node_arp_entries")!.samples)).toEqual({
      'node_arp_entries{device="eth0"}': 3,
      'node_arp_entries{device="eth1"}': 3,
      'node_arp_entries{device="nope"}': 1,
    });
    const only = toParsed(
      await collectOnce(collector, e2eConfig(["--collector.arp.device-exclude=", "--collector.arp.device-include=^eth1$"])),
    );
    expect([...only.get("node_arp_entries")!.samples.keys()]).toEqual(['node_arp_entries{device="eth1"}']);
  });

  it("reports nothing when /proc/net/arp is absent", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "arp-"));
    try {
      expect((await collectOnce(collector, e2eConfig([`--path.procfs=${empty}`]))).families.size).toBe(0);
    } finally {
      fs.rmSync(empty, { recursive: true });
    }
  });

  it("reads this host's /proc/net/arp", async () => {
    const out = await collectOnce(collector, loadConfig(["--path.procfs=/proc"], {}).config);
    const lines = fs.readFileSync("/proc/net/arp", "utf8").trim().split("\n").length - 1;
    const total = [...(out.families.get("node_arp_entries")?.samples ?? [])].reduce((sum, s) => sum + s.value, 0);
    expect(total).toBe(lines);
  });
});

describe("parseArpEntries", () => {
  it("counts entries per device", () => {
    expect(parseArpEntries(ARP)).toEqual(
      new Map([
        ["eth0", 3],
        ["eth1", 3],
        ["nope", 1],
      ]),
    );
    expect(parseArpEntries("IP address       HW type     Flags       HW address            Mask     Device\n")).toEqual(new Map());
  });

  it("accepts incomplete entries and long (InfiniBand) hardware addresses", () => {
    const text = "10.0.0.2 0x1 0x0 00:00:00:00:00:00 * eth0\n10.0.0.3 0x20 0x2 80:00:00:48:fe:80:00:00:00 * ib0\n";
    expect(parseArpEntries(text)).toEqual(
      new Map([
        ["eth0", 1],
        ["ib0", 1],
      ]),
    );
  });

  it("rejects lines procfs rejects, naming the file", () => {
    for (const bad of [
      "10.0.0.1 0x1 0x2 aa:bb:cc:dd:ee:ff eth0",
      "10.0.0.1 0x1 zz aa:bb:cc:dd:ee:ff * eth0",
      "10.0.0.1 0x1 0x100 aa * eth0",
      "10.0.0.1 0x1 +2 aa * eth0",
    ]) {
      expect(() => parseArpEntries(`${bad}\n`, "/host/proc/net/arp"), bad).toThrow(CollectorError);
      expect(() => parseArpEntries(`${bad}\n`, "/host/proc/net/arp"), bad).toThrow(/^\/host\/proc\/net\/arp: line 1/);
    }
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseArpEntries(text), ARP);
  });
});
