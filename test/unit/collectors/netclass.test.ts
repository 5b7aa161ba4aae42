import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import {
  adminState,
  collector,
  parseNetClassIface,
  speedBytes,
  type NetClassAttributeFile,
} from "../../../agent/metrics/collectors/netclass.js";
import { parseIntAutoBase } from "../../../agent/metrics/parsers/auto-base-int.js";
import { collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";

/** netclass's families in e2e-output.txt: node_network_* except netdev's counters. */
const NETCLASS_FAMILIES = [...expectedFamilies().keys()].filter(
  (n) => n.startsWith("node_network_") && !/^node_network_(receive|transmit)_.*_total$/.test(n),
);

describe("netclass collector", () => {
  it("matches node_exporter's e2e output (ignored-devices=(dmz|int), ignore-invalid-speed)", async () => {
    expect(NETCLASS_FAMILIES).toContain("node_network_carrier_changes_total");
    expect(NETCLASS_FAMILIES).not.toContain("node_network_receive_bytes_total");
    expect(NETCLASS_FAMILIES.length).toBe(19);
    const out = await collectOnce(collector);
    expect(diffFamilies(toParsed(out), NETCLASS_FAMILIES)).toEqual([]);
  });

  it("reports every device, and invalid speeds, with node_exporter's defaults", async () => {
    const config = e2eConfig(["--collector.netclass.ignored-devices=^$", "--no-collector.netclass.ignore-invalid-speed"]);
    const actual = toParsed(await collectOnce(collector, config));
    const up = actual.get("node_network_up")!;
    expect([...up.samples.keys()].sort()).toEqual(["bond0", "dmz", "eth0", "int"].map((d) => `node_network_up{device="${d}"}`));
    const speed = actual.get("node_network_speed_bytes")!;
    expect(speed.samples.get('node_network_speed_bytes{device="bond0"}')).toBe(-125000);
    expect(speed.samples.get('node_network_speed_bytes{device="dmz"}')).toBe(125000000);
    // bonding_masters is a regular file in /sys/class/net, not a device.
    expect([...up.samples.keys()].some((k) => k.includes("bonding_masters"))).toBe(false);
  });

  it("reports nothing when /sys/class/net does not exist", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "netclass-"));
    try {
      const out = await collectOnce(collector, e2eConfig([`--path.sysfs=${empty}`]));
      expect(out.families.size).toBe(0);
    } finally {
      fs.rmSync(empty, { recursive: true });
    }
  });

  it("reads only regular attribute files and tolerates missing ones", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "netclass-"));
    try {
      const dev = path.join(root, "class/net/veth9");
      fs.mkdirSync(path.join(dev, "mtu"), { recursive: true }); // a directory named like an attribute
      fs.writeFileSync(path.join(dev, "operstate"), "lowerlayerdown\n");
      fs.writeFileSync(path.join(dev, "flags"), "0x1002\n");
      fs.writeFileSync(path.join(dev, "speed"), "garbage\n");
      fs.symlinkSync(path.join(dev, "operstate"), path.join(dev, "carrier"));
      const actual = toParsed(await collectOnce(collector, e2eConfig([`--path.sysfs=${root}`])));
      expect([...actual.keys()].sort()).toEqual(["node_network_flags", "node_network_info", "node_network_up"]);
      expect(actual.get("node_network_up")!.samples.get('node_network_up{device="veth9"}')).toBe(0);
      const info =
        'node_network_info{address="",adminstate="down",broadcast="",device="veth9",duplex="",ifalias="",operstate="lowerlayerdown"}';
      expect(actual.get("node_network_info")!.samples.get(info)).toBe(1);
    } finally {
      fs.rmSync(root, { recursive: true });
    }
  });

  it("reads this host's /sys/class/net", async () => {
    const config = loadConfig(["--path.sysfs=/sys"], {}).config;
    const actual = toParsed(await collectOnce(collector, config));
    const devices = fs
      .readdirSync("/sys/class/net", { withFileTypes: true })
      .filter((e) => !e.isFile())
      .map((e) => e.name);
    const up = actual.get("node_network_up")!;
    expect([...up.samples.keys()].sort()).toEqual(devices.sort().map((d) => `node_network_up{device="${d}"}`));
    const mtu = Number(fs.readFileSync("/sys/class/net/lo/mtu", "utf8"));
    expect(actual.get("node_network_mtu_bytes")!.samples.get('node_network_mtu_bytes{device="lo"}')).toBe(mtu);
  });
});

describe("netclass attribute parsing", () => {
  it("parses numbers with Go's base-0 rules and leaves bad ones out", () => {
    const iface = parseNetClassIface({
      flags: "0x1303",
      dev_id: "0x20",
      mtu: "1500",
      speed: "-1",
      carrier: "",
      dormant: "1.0",
      ifindex: "0o17",
    });
    expect(iface.numbers).toEqual({ flags: 4867, dev_id: 32, mtu: 1500, speed: -1, ifindex: 15 });
    expect(iface.text).toEqual({ address: "", broadcast: "", duplex: "", operstate: "", ifalias: "" });
  });

  it("derives adminstate and speed like node_exporter", () => {
    expect(adminState(undefined)).toBe("unknown");
    expect(adminState(0x1303)).toBe("up");
    expect(adminState(0x1002)).toBe("down");
    expect(speedBytes(1000)).toBe(125000000);
    expect(speedBytes(-1)).toBe(-125000);
    expect(speedBytes(1)).toBe(125000);
  });

  it("parseIntAutoBase follows strconv.ParseInt(s, 0, 64)", () => {
    const cases: Array<[string, number]> = [
      ["0", 0],
      ["-0", 0],
      ["+7", 7],
      ["010", 8],
      ["0x1F", 31],
      ["0X1f", 31],
      ["0b101", 5],
      ["0o17", 15],
      ["1_000", 1000],
      ["0x_1", 1],
      ["9223372036854775807", 2 ** 63],
      ["-9223372036854775808", -(2 ** 63)],
    ];
    for (const [text, want] of cases) expect(parseIntAutoBase(text), text).toBe(want);
    for (const bad of ["", "-", "0x", "08", "1__0", "_1", "1_", "0_", "1.5", " 1", "9223372036854775808", "0x8000000000000000", "1e3"]) {
      expect(parseIntAutoBase(bad), bad).toBeNaN();
    }
  });

  it("never throws on arbitrary attribute contents", () => {
    const files: NetClassAttributeFile[] = ["flags", "speed", "mtu", "operstate", "address", "carrier", "type", "ifalias"];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...files), fc.string({ unit: "binary", maxLength: 64 })), (raw) => {
        const iface = parseNetClassIface(raw);
        return Object.values(iface.numbers).every((n) => Number.isFinite(n));
      }),
      { numRuns: 500 },
    );
    checkParserOnBadInput((text) => parseNetClassIface({ flags: text, speed: text, ifalias: text }), "0x1303");
  });
});
