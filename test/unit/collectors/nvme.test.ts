import { describe, expect, it } from "vitest";
import { collector, nvmeNamespaceId, parseNvmeNamespace } from "../../../agent/metrics/collectors/nvme.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const NVME_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_nvme_"));

const controller = (dir: string, extra: Record<string, string> = {}): Record<string, string> => ({
  [`${dir}/firmware_rev`]: "1.0\n",
  [`${dir}/model`]: "Disk\n",
  [`${dir}/serial`]: "S1\n",
  [`${dir}/state`]: "live\n",
  [`${dir}/cntlid`]: "7\n",
  ...extra,
});

describe("nvme collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    expect(NVME_FAMILIES).toHaveLength(6);
    expect(diffFamilies(toParsed(await collectOnce(collector)), NVME_FAMILIES)).toEqual([]);
  });

  it("reports every namespace directory, with ana_state 'unknown' where the file is missing", async () => {
    const tree = hostTree(
      controller("sys/class/nvme/nvme1", {
        "sys/class/nvme/nvme1/nvme1n1/nuse": "10\n",
        "sys/class/nvme/nvme1/nvme1n1/size": "100\n",
        "sys/class/nvme/nvme1/nvme1n1/queue/logical_block_size": "512\n",
        "sys/class/nvme/nvme1/nvme1n2/nuse": "many\n", // not a number: 0, as procfs
        "sys/class/nvme/nvme1/nvme1n2/size": "1\n",
        "sys/class/nvme/nvme1/nvme1n2/queue/logical_block_size": "4096\n",
        "sys/class/nvme/nvme1/nvme1n2/ana_state": "inaccessible\n",
        "sys/class/nvme/nvme1/power/control": "auto\n", // not a namespace
      }),
    );
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_nvme_info")).toEqual(new Map([["7,nvme1,1.0,Disk,S1,live", 1]]));
    expect(valuesOf(out, "node_nvme_namespace_info")).toEqual(
      new Map([
        ["unknown,nvme1,1", 1],
        ["inaccessible,nvme1,2", 1],
      ]),
    );
    expect(valuesOf(out, "node_nvme_namespace_size_bytes")).toEqual(
      new Map([
        ["nvme1,1", 51200],
        ["nvme1,2", 4096],
      ]),
    );
    expect(valuesOf(out, "node_nvme_namespace_used_bytes")).toEqual(
      new Map([
        ["nvme1,1", 5120],
        ["nvme1,2", 0],
      ]),
    );
  });

  it("emits nothing when the class directory or any controller/namespace attribute is missing", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const noCntlid = controller("sys/class/nvme/nvme0");
    delete noCntlid["sys/class/nvme/nvme0/cntlid"];
    const tree = hostTree({ ...controller("sys/class/nvme/nvme1"), ...noCntlid });
    expect((await scrapeTree(collector, tree)).families.size).toBe(0);
    const noNuse = hostTree(controller("sys/class/nvme/nvme0", { "sys/class/nvme/nvme0/nvme0n1/size": "1\n" }));
    expect((await scrapeTree(collector, noNuse)).families.size).toBe(0);
  });

  it("fails on a read error other than a missing file", async () => {
    // A directory where a file is expected: read(2) fails with EISDIR.
    const files = controller("sys/class/nvme/nvme0", { "sys/class/nvme/nvme0/model/x": "" });
    delete files["sys/class/nvme/nvme0/model"];
    const tree = hostTree(files);
    await expect(scrapeTree(collector, tree)).rejects.toThrow(/nvme0\/model: read: EISDIR/);
  });
});

describe("nvme parsers", () => {
  it("finds the namespace id like procfs's unanchored regexp", () => {
    expect(nvmeNamespaceId("nvme0n1")).toBe("1");
    expect(nvmeNamespaceId("nvme12n34")).toBe("34");
    expect(nvmeNamespaceId("nvme0c0n1")).toBeUndefined();
    expect(nvmeNamespaceId("ng0n1")).toBeUndefined();
    expect(nvmeNamespaceId("power")).toBeUndefined();
  });

  it("multiplies blocks by the block size in uint64 arithmetic", () => {
    expect(parseNvmeNamespace("1", { nuse: "488281250", size: "3906250000", logicalBlockSize: "4096", anaState: "optimized" })).toEqual({
      id: "1",
      anaState: "optimized",
      logicalBlockSize: 4096,
      sizeBytes: 1.6e13,
      usedBytes: 2e12,
      capacityBytes: 1.6e13,
    });
    // 2^62 * 8 wraps to 0 in uint64; a negative or hex size counts as 0.
    const wrapped = parseNvmeNamespace("2", { nuse: "-1", size: "4611686018427387904", logicalBlockSize: "8" });
    expect([wrapped.sizeBytes, wrapped.usedBytes, wrapped.anaState]).toEqual([0, 0, "unknown"]);
  });

  it("never throws on bad input", () => {
    const fromText = (text: string) => {
      const [nuse = "", size = "", logicalBlockSize = "", anaState] = text.split("\n");
      return parseNvmeNamespace("1", { nuse, size, logicalBlockSize, anaState });
    };
    checkParserOnBadInput(fromText, "488281250\n3906250000\n4096\noptimized\n");
    checkParserOnBadInput(nvmeNamespaceId, "nvme0n1");
  });
});
