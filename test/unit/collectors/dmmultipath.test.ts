import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, isPathActive, parseSysfsUint, readDmMultipathDevices } from "../../../agent/metrics/collectors/dmmultipath.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_dmmultipath_"));

/** A multipath map dm-N with these paths and their states. */
function mpath(n: number, name: string, paths: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  const files: Record<string, string> = {
    [`sys/block/dm-${n}/dm/uuid`]: `mpath-36000${n}\n`,
    [`sys/block/dm-${n}/dm/name`]: `${name}\n`,
    [`sys/block/dm-${n}/dm/suspended`]: "0\n",
    [`sys/block/dm-${n}/size`]: "2048\n",
  };
  for (const [dev, state] of Object.entries(paths)) {
    files[`sys/block/dm-${n}/slaves/${dev}/.keep`] = "";
    files[`sys/block/${dev}/device/state`] = `${state}\n`;
  }
  return { ...files, ...extra };
}

describe("dmmultipath collector", () => {
  it("is on by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(true);
  });

  it("matches node_exporter's output for the fixture host (mpathA, mpathB; dm-7 is LVM)", async () => {
    expect(FAMILIES).toHaveLength(7);
    expect(fs.readdirSync(path.join(FIXTURE_ROOT, "sys/block/dm-5/slaves")).sort()).toEqual(["sdi", "sdj", "sdk", "sdl"]);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("emits nothing without /sys/block or multipath maps", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const lvmOnly = hostTree({ "sys/block/dm-0/dm/uuid": "LVM-abc\n", "sys/block/dm-1/size": "8\n", "sys/block/sda/size": "8\n" });
    expect((await scrapeTree(collector, lvmOnly)).families.size).toBe(0);
  });

  it("counts running and live paths as active, others as failed, and a map without slaves has none", async () => {
    const tree = hostTree({
      ...mpath(1, "nvme", { nvme0n1: "live", nvme1n1: "connecting" }),
      ...mpath(2, "empty", {}, { "sys/block/dm-2/dm/suspended": "1\n", "sys/block/dm-2/size": "18014398509481984\n" }),
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_dmmultipath_device_paths_active")).toEqual(
      new Map([
        ["nvme,dm-1", 1],
        ["empty,dm-2", 0],
      ]),
    );
    expect(valuesOf(out, "node_dmmultipath_device_paths_failed").get("nvme,dm-1")).toBe(1);
    expect(valuesOf(out, "node_dmmultipath_path_state")).toEqual(
      new Map([
        ["nvme,nvme0n1,live", 1],
        ["nvme,nvme1n1,connecting", 1],
      ]),
    );
    expect(valuesOf(out, "node_dmmultipath_device_active")).toEqual(
      new Map([
        ["nvme,dm-1", 1],
        ["empty,dm-2", 0],
      ]),
    );
    // size in sectors times 512, in uint64 arithmetic (2^54 * 512 = 2^63).
    expect(valuesOf(out, "node_dmmultipath_device_size_bytes").get("empty,dm-2")).toBe(2 ** 63);
  });

  it("reports no data at all when a path's state or a map's name is missing, as node_exporter does", async () => {
    const noState = hostTree({ ...mpath(1, "a", { sda: "running" }), ...mpath(2, "b", {}), "sys/block/dm-2/slaves/sdz/.keep": "" });
    expect((await scrapeTree(collector, noState)).families.size).toBe(0);
    const noName = hostTree(mpath(1, "a", {}));
    fs.rmSync(path.join(noName.sysfs, "block/dm-1/dm/name"));
    expect(readDmMultipathDevices(noName.sysfs)).toBeUndefined();
  });

  it("fails on a malformed size or suspended flag", async () => {
    const badSize = hostTree(mpath(1, "a", {}, { "sys/block/dm-1/size": "12k\n" }));
    await expect(scrapeTree(collector, badSize)).rejects.toThrow(/dm-1\/size: expected an unsigned integer, got "12k"/);
    const badFlag = hostTree(mpath(1, "a", {}, { "sys/block/dm-1/dm/suspended": "-1\n" }));
    await expect(scrapeTree(collector, badFlag)).rejects.toThrow(CollectorError);
  });
});

describe("dmmultipath parsers", () => {
  it("classify path states and parse sysfs unsigned integers", () => {
    expect(["running", "live", "offline", "blocked", "transport-offline", "dead", ""].map(isPathActive)).toEqual([
      true,
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(parseSysfsUint(" 104857600\n", "size")).toBe(104857600n);
    expect(() => parseSysfsUint("+1", "size")).toThrow(CollectorError);
  });

  it("never throw anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => parseSysfsUint(text, "size"), "104857600\n");
  });
});
