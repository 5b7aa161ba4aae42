import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { collector, interruptSamples, parseInterrupts } from "../../../agent/metrics/collectors/interrupts.js";
import { DeviceFilter } from "../../../agent/metrics/device-filter.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name === "node_interrupts_total");
const SEED = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/interrupts"), "utf8");
const AARCH64 = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/interrupts_aarch64"), "utf8");
const NO_FILTER = new DeviceFilter("", "");

describe("interrupts collector", () => {
  it("is off by default, as in node_exporter", () => {
    expect(collector.defaultEnabled).toBe(false);
  });

  it("matches node_exporter's output for the fixture host (ERR and MIS left out)", async () => {
    expect(FAMILIES).toHaveLength(1);
    expect(expectedFamilies().get("node_interrupts_total")?.samples.size).toBe(112);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("emits nothing without /proc/interrupts", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
  });

  it("leaves out zero counts with --no-collector.interrupts.include-zeros", async () => {
    const out = await collectOnce(collector, e2eConfig(["--no-collector.interrupts.include-zeros"]));
    const values = valuesOf(out, "node_interrupts_total");
    expect(values.size).toBe(112 - 38); // the fixture has 38 zero counts
    expect([...values.values()].every((v) => v !== 0)).toBe(true);
    expect(values.get("1,NMI,Non-maskable interrupts,")).toBe(5031);
  });

  it("filters on <type>;<info>;<devices> with name-include and name-exclude (both apply)", async () => {
    const types = async (flags: string[]) =>
      new Set([...valuesOf(await collectOnce(collector, e2eConfig(flags)), "node_interrupts_total").keys()].map((k) => k.split(",")[1]));
    expect(await types(["--collector.interrupts.name-include=^(NMI|LOC);"])).toEqual(new Set(["NMI", "LOC"]));
    expect(await types(["--collector.interrupts.name-include=;i8042$"])).toEqual(new Set(["1", "12"]));
    expect(await types(["--collector.interrupts.name-include=IR-IO-APIC", "--collector.interrupts.name-exclude=edge"])).toEqual(
      new Set(["9", "16", "23"]),
    );
    const excluded = await types(["--collector.interrupts.name-exclude=interrupts"]);
    expect(excluded.has("NMI")).toBe(false);
    expect(excluded.has("TLB")).toBe(true);
  });

  it("fails, emitting nothing, on an empty file or a count that is not a number", async () => {
    await expect(scrapeTree(collector, hostTree({ "proc/interrupts": "" }))).rejects.toThrow(/interrupts: interrupts empty/);
    const bad = SEED.replace("17960", "lots");
    await expect(scrapeTree(collector, hostTree({ "proc/interrupts": bad }))).rejects.toThrow(
      /interrupts: invalid value "lots" in interrupts \(1, CPU 0\)/,
    );
  });
});

describe("interrupts parser", () => {
  it("splits numbered IRQs into chip and devices, named ones into a description", () => {
    const interrupts = parseInterrupts(SEED);
    expect(interrupts.size).toBe(28);
    expect(interrupts.has("ERR")).toBe(false);
    expect(interrupts.has("MIS")).toBe(false);
    expect(interrupts.get("NMI")).toEqual({ info: "Non-maskable interrupts", devices: "", values: ["47", "5031", "6211", "4968"] });
    expect(interrupts.get("12")).toMatchObject({ info: "IR-IO-APIC-edge", devices: "i8042" });
    expect(interrupts.get("16")).toMatchObject({ devices: "ehci_hcd:usb1, mmc0" });
  });

  it("reads aarch64 lines without a space after the name (node_exporter issue 2557)", () => {
    const interrupts = parseInterrupts(AARCH64);
    expect(interrupts.get("IPI0")).toEqual({
      info: "Rescheduling interrupts",
      devices: "",
      values: ["2768808080", "2844211768", "2878602432", "2730576120", "2723524623", "3349096412", "2717389879", "2154252810"],
    });
    expect(interrupts.get("IPI3")?.info).toBe("CPU stop (for crash dump) interrupts");
    expect(interrupts.get("10")).toMatchObject({ info: "GICv3", devices: "27 Level arch_timer" });
    expect(interrupts.get("57")?.devices).toBe("81920 Edge ena-mgmnt@pci:0000:00:05.0");
    expect(interrupts.has("Err")).toBe(false);
    expect(interrupts.size).toBe(51 + 7);
    const samples = interruptSamples(interrupts, NO_FILTER, false);
    expect(samples.find((s) => s.type === "IPI0" && s.cpu === "7")?.value).toBe(2154252810);
    expect(samples.some((s) => s.type === "IPI2")).toBe(false);
  });

  it("parses counts with strconv.ParseFloat and takes the name up to the first colon", () => {
    const interrupts = parseInterrupts("CPU0 CPU1\n  7: 1e3 0x10p0 chip dev a\nX Y:1 2 desc\n+5: 1 2 c\n");
    expect([...interrupts.keys()]).toEqual(["7", "X Y", "+5"]);
    expect(interrupts.get("+5")).toEqual({ info: "c", devices: "", values: ["1", "2"] });
    const samples = interruptSamples(interrupts, NO_FILTER, true);
    expect(samples.filter((s) => s.type === "7").map((s) => s.value)).toEqual([1000, 16]);
    expect(() => interruptSamples(parseInterrupts("CPU0\n1: x y\n"), NO_FILTER, true)).toThrow(CollectorError);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => interruptSamples(parseInterrupts(text), NO_FILTER, true), SEED);
    checkParserOnBadInput((text) => interruptSamples(parseInterrupts(text), NO_FILTER, false), AARCH64);
  });
});
