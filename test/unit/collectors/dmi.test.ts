import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { collector, dmiInfo, dmiLabelValue } from "../../../agent/metrics/collectors/dmi.js";
import { goTrimSpaceBytes, goToValidUtf8 } from "../../../agent/metrics/sysfs-go-text.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, e2eConfig, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const bytes = (...values: number[]) => Uint8Array.from(values);

describe("dmi collector", () => {
  it("matches node_exporter's output for the fixture host (invalid UTF-8 in product_version)", async () => {
    expect(diffFamilies(toParsed(await collectOnce(collector)), ["node_dmi_info"])).toEqual([]);
  });

  it("labels only the attributes present, leaves out modalias, uevent and what is not a regular file", async () => {
    const tree = hostTree({
      "sys/class/dmi/id/bios_vendor": "  SeaBIOS \n",
      "sys/class/dmi/id/sys_vendor": "QEMU\n",
      "sys/class/dmi/id/chassis_type": "1\n",
      "sys/class/dmi/id/modalias": "dmi:bvnSeaBIOS\n",
      "sys/class/dmi/id/uevent": "MODALIAS=dmi\n",
      "sys/class/dmi/id/power/product_name": "not this\n",
    });
    fs.symlinkSync("bios_vendor", path.join(tree.sysfs, "class/dmi/id/product_name"));
    const out = await scrapeTree(collector, tree);
    const family = out.families.get("node_dmi_info");
    expect(family?.desc.labelNames).toEqual(["bios_vendor", "system_vendor"]);
    expect(valuesOf(out, "node_dmi_info")).toEqual(new Map([["SeaBIOS,QEMU", 1]]));
  });

  it("emits nothing when /sys/class/dmi/id does not exist", async () => {
    const out = await scrapeTree(collector, hostTree({}));
    expect(out.families.size).toBe(0);
  });

  it("reads the attributes once, as node_exporter does", async () => {
    const tree = hostTree({ "sys/class/dmi/id/bios_version": "1.0\n" });
    const instance = collector.create({ paths: tree, config: e2eConfig().metrics, logger: silentLogger });
    const scrape = () => {
      const out = new FamilyCollector();
      instance.update(out, { signal: new AbortController().signal });
      return valuesOf(out, "node_dmi_info");
    };
    expect(scrape()).toEqual(new Map([["1.0", 1]]));
    fs.writeFileSync(path.join(tree.sysfs, "class/dmi/id/bios_version"), "2.0\n");
    expect(scrape()).toEqual(new Map([["1.0", 1]]));
  });

  it("fails when the directory cannot be listed", async () => {
    const tree = hostTree({ "sys/class/dmi/id": "not a directory\n" });
    await expect(scrapeTree(collector, tree)).rejects.toThrow(/failed to read directory .*class\/dmi\/id: ENOTDIR/);
  });
});

describe("dmi label values", () => {
  it("trims like bytes.TrimSpace and replaces each run of invalid UTF-8 with one U+FFFD", () => {
    expect(dmiLabelValue(Buffer.from("\u00a0 Dell Inc.\t\n"))).toBe("Dell Inc.");
    expect(dmiLabelValue(Buffer.from("\ufeffX"))).toBe("\ufeffX");
    // A real U+FFFD is kept; the invalid run 0xff 0xfe is one U+FFFD.
    expect(dmiLabelValue(bytes(0xef, 0xbf, 0xbd, 0x1c, 0x5b, 0xff, 0xfe, 0x41, 0x0a))).toBe("\ufffd\u001c[\ufffdA");
    // Surrogates, overlong forms and cut sequences are invalid too.
    expect(goToValidUtf8(bytes(0xed, 0xa0, 0x80, 0x41))).toBe("\ufffdA");
    expect(goToValidUtf8(bytes(0xc0, 0xaf))).toBe("\ufffd");
    expect(goToValidUtf8(bytes(0x41, 0xe2, 0x82))).toBe("A\ufffd");
    expect(goToValidUtf8(bytes(0xf0, 0x9f, 0x98, 0x80))).toBe("\u{1f600}");
    expect(Buffer.from(goTrimSpaceBytes(bytes(0x20, 0xff, 0x20))).toString("latin1")).toBe("\xff");
  });

  it("builds the series from what is there", () => {
    expect(dmiInfo(new Map())).toBeUndefined();
    const info = dmiInfo(new Map([["product_uuid", Buffer.from("abc\n")]]));
    expect(info?.desc.labelNames).toEqual(["product_uuid"]);
    expect(info?.values).toEqual(["abc"]);
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput((text) => dmiLabelValue(Buffer.from(text, "latin1")), "PowerEdge R6515\n");
    checkParserOnBadInput((text) => dmiLabelValue(Buffer.from(text, "utf8")), "SKU=NotProvided;ModelName=PowerEdge R6515\n");
  });
});
