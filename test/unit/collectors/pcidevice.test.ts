import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { describe, expect, it, vi } from "vitest";
import type { HostPaths } from "../../../agent/host/paths.js";
import { CollectorError } from "../../../agent/metrics/collector.js";
import {
  collector,
  loadPciIds,
  locationLabels,
  parseIdentity,
  parseLinkSpeed,
  parsePciLocation,
} from "../../../agent/metrics/collectors/pcidevice.js";
import { PciIds } from "../../../agent/metrics/collectors/pcidevice-names.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { parseExposition } from "../../helpers/exposition-parse.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_pcidevice_"));
const PCI_IDS = fs.readFileSync(path.join(FIXTURE_ROOT, "pci.ids"), "utf8");

const IDENTITY = {
  class: "0x020000",
  vendor: "0x8086",
  device: "0x1521",
  subsystem_vendor: "0x8086",
  subsystem_device: "0x00a3",
  revision: "0x01",
};

/** A device directory under sys/devices/<parentDir>/<loc> with these attributes, linked from bus/pci/devices. */
function addDevice(paths: HostPaths, parentDir: string, loc: string, attrs: Record<string, string>): void {
  const dir = path.join(paths.sysfs, "devices", parentDir, loc);
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(attrs)) fs.writeFileSync(path.join(dir, file), `${text}\n`);
  const links = path.join(paths.sysfs, "bus/pci/devices");
  fs.mkdirSync(links, { recursive: true });
  fs.symlinkSync(path.join("../../../devices", parentDir, loc), path.join(links, loc));
}

describe("pcidevice collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    expect(FAMILIES).toHaveLength(12);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("with names and fixtures/pci.ids, matches node_exporter's pcidevice-names-output.txt", async () => {
    const expected = parseExposition(fs.readFileSync(path.join(FIXTURE_ROOT, "pcidevice-names-output.txt"), "utf8"));
    const flags = ["--collector.pcidevice.names", `--collector.pcidevice.idsfile=${path.join(FIXTURE_ROOT, "pci.ids")}`];
    const actual = toParsed(await collectOnce(collector, e2eConfig(flags)));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, family] of expected) {
      const got = actual.get(name)!;
      expect({ name, type: got.type, help: got.help }).toEqual({ name, type: family.type, help: family.help });
      expect(got.samples).toEqual(family.samples);
    }
  });

  it("emits nothing without /sys/bus/pci/devices, or when a device lacks an identity file", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const tree = hostTree({});
    addDevice(tree, "pci0000:00", "0000:00:01.0", IDENTITY);
    const { revision: _revision, ...noRevision } = IDENTITY;
    addDevice(tree, "pci0000:00", "0000:00:02.0", noRevision);
    expect((await scrapeTree(collector, tree)).families.size).toBe(0);
  });

  it("reports absent link attributes as -1, absent SR-IOV ones as 0, and no power state or unknown NUMA node", async () => {
    const tree = hostTree({});
    addDevice(tree, "pci0000:00", "0000:00:1f.3", { ...IDENTITY, max_link_speed: "Unknown", current_link_width: "", numa_node: "-1" });
    const out = await scrapeTree(collector, tree);
    const key = "0000,00,1f,3";
    expect(valuesOf(out, "node_pcidevice_max_link_transfers_per_second")).toEqual(new Map([[key, -1]]));
    expect(valuesOf(out, "node_pcidevice_current_link_width")).toEqual(new Map([[key, -1]]));
    expect(valuesOf(out, "node_pcidevice_sriov_totalvfs")).toEqual(new Map([[key, 0]]));
    expect(valuesOf(out, "node_pcidevice_d3cold_allowed")).toEqual(new Map([[key, 0]]));
    expect(out.families.has("node_pcidevice_power_state")).toBe(false);
    expect(out.families.has("node_pcidevice_numa_node")).toBe(false);
    expect([...valuesOf(out, "node_pcidevice_info").keys()]).toEqual([`${key},*,*,*,*,0x020000,0x8086,0x1521,0x8086,0x00a3,0x01`]);
  });

  it("fails on malformed attributes and on an entry that is not a link, naming them", async () => {
    for (const [attrs, problem] of [
      [{ ...IDENTITY, class: "0x1000000000" }, /failed to parse class of 0000:00:01.0/],
      [{ ...IDENTITY, max_link_speed: "8.0 GT/s" }, /unknown unit for max_link_speed/],
      [{ ...IDENTITY, current_link_speed: "fast" }, /invalid value for current_link_speed/],
      [{ ...IDENTITY, sriov_numvfs: "-1" }, /failed to parse sriov_numvfs/],
      [{ ...IDENTITY, numa_node: "4294967296" }, /failed to parse numa_node/],
    ] as const) {
      const tree = hostTree({});
      addDevice(tree, "pci0000:00", "0000:00:01.0", attrs);
      await expect(scrapeTree(collector, tree)).rejects.toThrow(problem);
    }
    const notLink = hostTree({ "sys/bus/pci/devices/0000:00:01.0/class": "0x020000\n" });
    await expect(scrapeTree(collector, notLink)).rejects.toThrow(/failed to readlink .*0000:00:01.0: EINVAL/);
  });
});

describe("pcidevice parsers", () => {
  it("parse locations and format them as procfs does", () => {
    expect(parsePciLocation("0000:45:00.0")).toEqual({ segment: 0, bus: 0x45, device: 0, function: 0 });
    expect(locationLabels(parsePciLocation("10000:0a:1f.7"))).toEqual(["10000", "0a", "1f", "7"]);
    expect(() => parsePciLocation("pci0000:00")).toThrow(CollectorError);
    expect(() => parsePciLocation("0000:00:01.0.1")).toThrow(CollectorError);
    expect(() => parsePciLocation("0000:0x:01.0")).toThrow(/invalid bus/);
  });

  it("parse identity numbers with Go's base prefixes into uint32, and link speeds in GT/s", () => {
    expect(parseIdentity("0x060400", "class")).toBe(0x060400);
    expect(parseIdentity("-1", "class")).toBe(0xffffffff);
    expect(() => parseIdentity("0x80000000", "class")).toThrow(CollectorError);
    expect(parseLinkSpeed("2.5 GT/s PCIe", "max_link_speed")).toBe(2.5);
    expect(() => parseLinkSpeed("x GT/s PCIe", "max_link_speed")).toThrow(/failed to parse/);
  });

  it("resolve names from pci.ids, falling back to the IDs", () => {
    const ids = new PciIds(PCI_IDS);
    expect(ids.vendorName("0x8086")).toBe("Intel Corporation");
    expect(ids.vendorName("0xABCD")).toBe("abcd");
    expect(ids.deviceName("0x1022", "0x1634")).toBe("Renoir/Cezanne PCIe GPP Bridge");
    expect(ids.subsystemName("0x1022", "0x1634", "0x17aa", "0x5095")).toBe("T540-5095 Unified Wire Ethernet Controller");
    expect(ids.subsystemName("0x1022", "0x1634", "0x17aa", "0x0001")).toBe("0001");
    expect(ids.className("0x010802")).toBe("NVM Express");
    expect(ids.className("0x010800")).toBe("Non-Volatile memory controller");
    expect(ids.className("0x028000")).toBe("Network controller");
    expect(ids.className("0xff0000")).toBe("Unknown class (ff0000)");
  });

  it("load pci.ids from the option, else from the host root, else leave IDs unnamed", () => {
    const logger = { debug: vi.fn() } as unknown as Logger;
    const host = hostTree({ "usr/share/hwdata/pci.ids": "abcd  Host Vendor\n" });
    expect(loadPciIds("", host, logger).vendorName("0xabcd")).toBe("Host Vendor");
    expect(loadPciIds(path.join(FIXTURE_ROOT, "pci.ids"), host, logger).vendorName("0xabcd")).toBe("abcd");
    expect(loadPciIds(path.join(host.rootfs, "missing.ids"), host, logger).vendorName("0x8086")).toBe("8086");
  });

  it("never throw anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseLinkSpeed(text.trim(), "max_link_speed"), "8.0 GT/s PCIe");
    checkParserOnBadInput((text) => parsePciLocation(text), "0000:00:02.1");
    checkParserOnBadInput((text) => new PciIds(text).className("0x060400"), PCI_IDS);
  });
});
