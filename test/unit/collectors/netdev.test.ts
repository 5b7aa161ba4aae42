import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, parseNetDev } from "../../../agent/metrics/collectors/netdev.js";
import { addressInfoRows, ipScope, ipv4Bytes, ipv6Bytes } from "../../../agent/metrics/collectors/netdev-addresses.js";
import type { ParsedFamily } from "../../helpers/exposition-parse.js";
import { collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";

const NETDEV_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/netdev");
const NET_DEV_TEXT = fs.readFileSync(path.join(NETDEV_ROOT, "proc/net/dev"), "utf8");

/** e2e flags, with the procfs and sysfs roots moved to the netdev fixture (node_exporter's tree has no /proc/net/dev). */
function netdevConfig(extraFlags: string[] = []) {
  return e2eConfig([`--path.procfs=${NETDEV_ROOT}/proc`, `--path.sysfs=${NETDEV_ROOT}/sys`, ...extraFlags]);
}

/** Families whose values vary run to run in e2e-output.txt (left out there): compared by series only. */
const VARYING = ["receive_bytes", "receive_packets", "transmit_bytes", "transmit_packets"].map((k) => `node_network_${k}_total`);

function value(families: Map<string, ParsedFamily>, name: string, device: string): number | undefined {
  return families.get(name)?.samples.get(`${name}{device=${JSON.stringify(device)}}`);
}

describe("netdev collector", () => {
  it("matches node_exporter's e2e output for lo (device-include=lo)", async () => {
    const actual = toParsed(await collectOnce(collector, netdevConfig()));
    const stable = [...expectedFamilies().keys()].filter(
      (n) => /^node_network_(receive|transmit)_.*_total$/.test(n) && !VARYING.includes(n),
    );
    expect(stable.length).toBe(13);
    for (const name of VARYING) {
      expect([...(actual.get(name)?.samples.keys() ?? [])]).toEqual([`${name}{device="lo"}`]);
      expect(actual.get(name)?.type).toBe(expectedFamilies().get(name)?.type);
      expect(actual.get(name)?.help).toBe(expectedFamilies().get(name)?.help);
      actual.delete(name);
    }
    expect(diffFamilies(actual, stable)).toEqual([]);
  });

  it("reports every device's /proc/net/dev columns under node_exporter's legacy names", async () => {
    const actual = toParsed(await collectOnce(collector, netdevConfig(["--collector.netdev.device-include="])));
    expect(value(actual, "node_network_receive_bytes_total", "eth0")).toBe(68210035552);
    expect(value(actual, "node_network_receive_drop_total", "eth0")).toBe(17);
    expect(value(actual, "node_network_receive_frame_total", "eth0")).toBe(22);
    expect(value(actual, "node_network_receive_multicast_total", "eth0")).toBe(9);
    expect(value(actual, "node_network_transmit_colls_total", "eth0")).toBe(8);
    expect(value(actual, "node_network_transmit_carrier_total", "eth0")).toBe(38);
    expect(value(actual, "node_network_transmit_compressed_total", "eth0")).toBe(10);
    expect(value(actual, "node_network_receive_nohandler_total", "eth0")).toBe(42);
    // docker0 has no sysfs statistics directory in the fixture: its counters still, no nohandler.
    expect(value(actual, "node_network_receive_packets_total", "docker0")).toBe(0);
    expect(value(actual, "node_network_receive_nohandler_total", "docker0")).toBeUndefined();
    expect(actual.size).toBe(17);
    expect(actual.has("node_network_receive_errors_total")).toBe(false);
  });

  it("applies device-exclude", async () => {
    const actual = toParsed(
      await collectOnce(
        collector,
        netdevConfig(["--collector.netdev.device-include=", "--collector.netdev.device-exclude=^(lo|docker.*)$"]),
      ),
    );
    const devices = new Set([...actual.values()].flatMap((f) => [...f.samples.keys()].map((k) => /device="([^"]*)"/.exec(k)?.[1])));
    expect([...devices]).toEqual(["eth0"]);
  });

  it("splits the summed counters with --collector.netdev.enable-detailed-metrics", async () => {
    const actual = toParsed(
      await collectOnce(collector, netdevConfig(["--collector.netdev.device-include=eth0", "--collector.netdev.enable-detailed-metrics"])),
    );
    const expected: Record<string, number> = {
      receive_bytes: 68210035552,
      receive_packets: 520993275,
      receive_errors: 3,
      receive_dropped: 15,
      receive_missed_errors: 2,
      receive_fifo_errors: 2,
      receive_length_errors: 1,
      receive_over_errors: 2,
      receive_crc_errors: 3,
      receive_frame_errors: 16,
      receive_compressed: 4,
      multicast: 9,
      receive_nohandler: 42,
      transmit_bytes: 9315587528,
      transmit_packets: 43451486,
      transmit_errors: 5,
      transmit_dropped: 6,
      transmit_fifo_errors: 7,
      collisions: 8,
      transmit_aborted_errors: 12,
      transmit_carrier_errors: 11,
      transmit_heartbeat_errors: 13,
      transmit_window_errors: 2,
      transmit_compressed: 10,
    };
    expect(actual.size).toBe(24);
    for (const [key, v] of Object.entries(expected)) {
      const name = `node_network_${key}_total`;
      expect(actual.get(name)?.type, name).toBe("counter");
      expect(actual.get(name)?.help, name).toBe(`Network device statistic ${key}.`);
      expect(value(actual, name, "eth0"), name).toBe(v);
    }
  });

  it("reports nothing when /proc/net/dev is absent", async () => {
    const out = await collectOnce(collector, e2eConfig());
    expect(out.families.size).toBe(0);
  });

  it("reads this host's /proc/net/dev and sysfs (lo is always there)", async () => {
    const config = loadConfig(["--path.procfs=/proc", "--path.sysfs=/sys", "--collector.netdev.device-include=^lo$"], {}).config;
    const actual = toParsed(await collectOnce(collector, config));
    const expected = [...expectedFamilies().keys()].filter((n) => /^node_network_(receive|transmit)_.*_total$/.test(n)).sort();
    const haveNohandler = fs.existsSync("/sys/class/net/lo/statistics/rx_nohandler");
    expect([...actual.keys()].sort()).toEqual(haveNohandler ? expected : expected.filter((n) => !n.includes("nohandler")));
    for (const fam of actual.values()) expect([...fam.samples.keys()]).toEqual([`${fam.name}{device="lo"}`]);
  });

  it("lists addresses with --collector.netdev.address-info", async () => {
    const config = netdevConfig(["--collector.netdev.address-info", "--collector.netdev.device-include=^none$"]);
    const fam = toParsed(await collectOnce(collector, config)).get("node_network_address_info");
    const lo4 = 'node_network_address_info{address="127.0.0.1",device="lo",netmask="8",scope="link-local"}';
    expect(fam?.help).toBe("node network address by device");
    expect(fam?.type).toBe("gauge");
    // Not filtered by device-include, as in node_exporter.
    expect(fam?.samples.get(lo4)).toBe(1);
  });
});

describe("parseNetDev", () => {
  it("parses the fixture", () => {
    const lines = parseNetDev(NET_DEV_TEXT);
    expect(lines.map((l) => l.name)).toEqual(["lo", "eth0", "docker0"]);
    expect(lines[1].counters).toEqual([68210035552, 520993275, 3, 17, 2, 22, 4, 9, 9315587528, 43451486, 5, 6, 7, 8, 38, 10]);
  });

  it("accepts headers only, blank lines and uint64 counters", () => {
    const header = NET_DEV_TEXT.split("\n").slice(0, 2).join("\n");
    expect(parseNetDev(header)).toEqual([]);
    expect(parseNetDev(`${header}\n\n`)).toEqual([]);
    const max = parseNetDev(`${header}\n  veth1: ${"18446744073709551615 ".repeat(16)}\n`);
    expect(max[0]).toEqual({ name: "veth1", counters: new Array(16).fill(2 ** 64) });
  });

  it("rejects lines procfs rejects, naming the file", () => {
    const header = NET_DEV_TEXT.split("\n").slice(0, 2).join("\n");
    for (const bad of [
      "eth0 1 2 3",
      ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
      "eth0: 1 2 3",
      `eth0: -1 ${"0 ".repeat(15)}`,
      `eth0: 1.5 ${"0 ".repeat(15)}`,
    ]) {
      expect(() => parseNetDev(`${header}\n${bad}\n`, "/host/proc/net/dev"), bad).toThrow(CollectorError);
      expect(() => parseNetDev(`${header}\n${bad}\n`, "/host/proc/net/dev"), bad).toThrow(/\/host\/proc\/net\/dev: line 3/);
    }
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseNetDev(text), NET_DEV_TEXT);
  });
});

describe("address info", () => {
  it("classifies scopes like Go's net.IP methods", () => {
    const scope = (a: string) => ipScope((a.includes(":") ? ipv6Bytes(a) : ipv4Bytes(a))!);
    expect(scope("127.0.0.1")).toBe("link-local");
    expect(scope("169.254.3.4")).toBe("link-local");
    expect(scope("224.0.0.251")).toBe("link-local");
    expect(scope("10.1.2.3")).toBe("global");
    expect(scope("192.0.2.2")).toBe("global");
    expect(scope("239.1.1.1")).toBe("");
    expect(scope("0.0.0.0")).toBe("");
    expect(scope("255.255.255.255")).toBe("");
    expect(scope("::1")).toBe("link-local");
    expect(scope("fe80::fc:ff:fe00:1")).toBe("link-local");
    expect(scope("ff02::1")).toBe("link-local");
    expect(scope("ff01::1")).toBe("interface-local");
    expect(scope("fd00::2")).toBe("global");
    expect(scope("2001:db8::1")).toBe("global");
    expect(scope("::")).toBe("");
    expect(scope("ff05::2")).toBe("");
  });

  it("parses IPv6 text forms", () => {
    expect([...ipv6Bytes("::ffff:192.0.2.1")!]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
    expect(ipv6Bytes("1:2:3:4:5:6:7:8")?.[15]).toBe(8);
    for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7", "g::1", ":::"]) expect(ipv6Bytes(bad), bad).toBeUndefined();
  });

  it("turns os.networkInterfaces() entries into node_exporter's labels", () => {
    const rows = addressInfoRows({
      eth0: [
        { address: "192.0.2.2", netmask: "255.255.255.0", family: "IPv4", mac: "02:fc:00:00:00:01", internal: false, cidr: "192.0.2.2/24" },
        {
          address: "fe80::1",
          netmask: "ffff:ffff:ffff:ffff::",
          family: "IPv6",
          mac: "02:fc:00:00:00:01",
          internal: false,
          cidr: "fe80::1/64",
          scopeid: 2,
        },
        { address: "10.0.0.1", netmask: "255.0.255.0", family: "IPv4", mac: "02:fc:00:00:00:01", internal: false, cidr: null },
      ],
    });
    expect(rows).toEqual([
      { device: "eth0", address: "192.0.2.2", netmask: "24", scope: "global" },
      { device: "eth0", address: "fe80::1", netmask: "64", scope: "link-local" },
      { device: "eth0", address: "10.0.0.1", netmask: "0", scope: "global" },
    ]);
  });
});
