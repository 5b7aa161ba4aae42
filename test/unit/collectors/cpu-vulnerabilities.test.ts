import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { collector, parseVulnerability } from "../../../agent/metrics/collectors/cpu-vulnerabilities.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { collectOnce, diffFamilies, expectedFamilies, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_cpu_vulnerabilities_"));
const DIR = "sys/devices/system/cpu/vulnerabilities";

describe("cpu_vulnerabilities collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    expect(FAMILIES).toEqual(["node_cpu_vulnerabilities_info"]);
    expect(diffFamilies(toParsed(await collectOnce(collector)), FAMILIES)).toEqual([]);
  });

  it("emits nothing when the vulnerabilities directory does not exist or is empty", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const empty = hostTree({});
    fs.mkdirSync(path.join(empty.sysfs, "devices/system/cpu/vulnerabilities"), { recursive: true });
    expect((await scrapeTree(collector, empty)).families.size).toBe(0);
  });

  it("reports text it cannot classify as state unknown, and fails on an entry it cannot read", async () => {
    const out = await scrapeTree(
      collector,
      hostTree({
        [`${DIR}/itlb_multihit`]: "KVM: Mitigation: VMX unsupported\n",
        [`${DIR}/mmio_stale_data`]: "Unknown: No mitigations\n",
        [`${DIR}/spec_store_bypass`]: "Vulnerable\n",
        [`${DIR}/mds`]: "Vulnerable: Clear CPU buffers attempted, no microcode; SMT vulnerable\n",
      }),
    );
    expect([...valuesOf(out, "node_cpu_vulnerabilities_info").keys()]).toEqual([
      "itlb_multihit,unknown,KVM: Mitigation: VMX unsupported",
      "mds,vulnerable,Clear CPU buffers attempted, no microcode; SMT vulnerable",
      "mmio_stale_data,unknown,Unknown: No mitigations",
      "spec_store_bypass,vulnerable,",
    ]);
    const bad = hostTree({ [`${DIR}/sub/x`]: "" });
    await expect(scrapeTree(collector, bad)).rejects.toThrow(/failed to get vulnerabilities: .*vulnerabilities\/sub/);
  });
});

describe("cpu vulnerability parser", () => {
  it("takes the state from the start of the text and the mitigation after it", () => {
    expect(parseVulnerability("a", "Not affected\n")).toEqual({ codename: "a", state: "not affected", mitigation: "" });
    expect(parseVulnerability("a", "Mitigation: PTI")).toEqual({ codename: "a", state: "mitigation", mitigation: "PTI" });
    expect(parseVulnerability("a", "Mitigation; x")).toEqual({ codename: "a", state: "mitigation", mitigation: "; x" });
    expect(parseVulnerability("a", "")).toEqual({ codename: "a", state: "unknown", mitigation: "" });
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput((text) => parseVulnerability("spectre_v2", text), "Mitigation: Retpolines, IBPB: conditional\n");
  });
});
