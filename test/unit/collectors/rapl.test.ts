import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { collector, parseRaplMicrojoules, raplZoneName } from "../../../agent/metrics/collectors/rapl.js";
import { sanitizeMetricName } from "../../../agent/metrics/parsers/metric-name.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import type { ParsedFamily } from "../../helpers/exposition-parse.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT, collectOnce, diffFamilies, e2eConfig, expectedFamilies, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const RAPL_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_rapl_"));
const POWERCAP = "sys/class/powercap";

/**
 * Our output with the path label written as node_exporter's test saw it: its --path.sysfs was
 * collector/fixtures/sys, relative to its collector/ directory.
 */
function relativized(parsed: Map<string, ParsedFamily>): Map<string, ParsedFamily> {
  const rewrite = (key: string) => key.split(`${FIXTURE_ROOT}/sys/`).join("collector/fixtures/sys/");
  return new Map(
    [...parsed].map(([name, family]) => [name, { ...family, samples: new Map([...family.samples].map(([k, v]) => [rewrite(k), v])) }]),
  );
}

function zone(dir: string, name: string, energy: string): Record<string, string> {
  return {
    [`${POWERCAP}/${dir}/name`]: `${name}\n`,
    [`${POWERCAP}/${dir}/energy_uj`]: `${energy}\n`,
    [`${POWERCAP}/${dir}/max_energy_range_uj`]: "262143328850\n",
  };
}

describe("rapl collector", () => {
  it("matches node_exporter's output for the fixture host (path label relative to its sysfs root)", async () => {
    expect(RAPL_FAMILIES).toEqual(["node_rapl_core_joules_total", "node_rapl_package_joules_total"]);
    const parsed = toParsed(await collectOnce(collector));
    expect([...(parsed.get("node_rapl_core_joules_total")?.samples.keys() ?? [])]).toEqual([
      `node_rapl_core_joules_total{index="0",path="${FIXTURE_ROOT}/sys/class/powercap/intel-rapl:0:0"}`,
    ]);
    expect(diffFamilies(relativized(parsed), RAPL_FAMILIES)).toEqual([]);
  });

  it("indexes zones by their -N suffix, else by how often the name came before; names are sanitized", async () => {
    const tree = hostTree({
      "sys/class/powercap/intel-rapl/enabled": "1\n",
      ...zone("intel-rapl:0", "package-0", "1000000"),
      ...zone("intel-rapl:0:0", "dram", "2500000"),
      ...zone("intel-rapl:1", "package-1", "3000000"),
      ...zone("intel-rapl:1:0", "dram", "4000000"),
      ...zone("intel-rapl-mmio:0", "psys.x", "5000000"),
    });
    const out = await scrapeTree(collector, tree);
    const p = tree.sys("class/powercap");
    expect(valuesOf(out, "node_rapl_package_joules_total")).toEqual(
      new Map([
        [`0,${p}/intel-rapl:0`, 1],
        [`1,${p}/intel-rapl:1`, 3],
      ]),
    );
    expect(valuesOf(out, "node_rapl_dram_joules_total")).toEqual(
      new Map([
        [`0,${p}/intel-rapl:0:0`, 2.5],
        [`1,${p}/intel-rapl:1:0`, 4],
      ]),
    );
    expect(out.families.get("node_rapl_psys_x_joules_total")?.desc.help).toBe("Current RAPL psys.x value in joules");
    expect(out.families.get("node_rapl_dram_joules_total")?.desc.type).toBe("counter");

    const labelled = await scrapeTree(collector, tree, ["--collector.rapl.enable-zone-label"]);
    expect([...labelled.families.keys()]).toEqual(["node_rapl_joules_total"]);
    expect(valuesOf(labelled, "node_rapl_joules_total").get(`1,${p}/intel-rapl:1:0,dram`)).toBe(4);
    expect(labelled.families.get("node_rapl_joules_total")?.desc.help).toBe("Current RAPL value in joules");
  });

  it("emits nothing when /sys/class/powercap does not exist or a zone's max_energy_range_uj is missing", async () => {
    expect((await scrapeTree(collector, hostTree({}))).families.size).toBe(0);
    const tree = hostTree({ ...zone("intel-rapl:0", "package-0", "1") });
    fs.rmSync(tree.sys("class/powercap/intel-rapl:0/max_energy_range_uj"));
    expect((await scrapeTree(collector, tree)).families.size).toBe(0);
  });

  it("fails on a malformed value or a missing energy_uj, keeping the zones read before it", async () => {
    const files = { ...zone("intel-rapl:0", "package-0", "1000000"), ...zone("intel-rapl:1", "package-1", "lots") };
    const instance = collector.create({ paths: hostTree(files), config: e2eConfig().metrics, logger: silentLogger });
    const out = new FamilyCollector();
    expect(() => instance.update(out, { signal: new AbortController().signal })).toThrow(
      /intel-rapl:1\/energy_uj: expected an unsigned integer/,
    );
    expect(valuesOf(out, "node_rapl_package_joules_total").size).toBe(1);

    const noEnergy = zone("intel-rapl:0", "core", "1");
    delete noEnergy[`${POWERCAP}/intel-rapl:0/energy_uj`];
    await expect(scrapeTree(collector, hostTree(noEnergy))).rejects.toThrow(/energy_uj: ENOENT/);
    await expect(
      scrapeTree(collector, hostTree({ ...zone("intel-rapl:0", "core", "1"), [`${POWERCAP}/intel-rapl:0/max_energy_range_uj`]: "-1\n" })),
    ).rejects.toThrow(/max_energy_range_uj: expected an unsigned integer/);
  });
});

describe("rapl parsers", () => {
  it("splits the zone index off the name as procfs's getIndexAndName does", () => {
    const usages = new Map<string, number>();
    expect(raplZoneName("package-0\n", usages)).toEqual({ name: "package", index: 0 });
    expect(raplZoneName("core", usages)).toEqual({ name: "core", index: 0 });
    expect(raplZoneName("core", usages)).toEqual({ name: "core", index: 1 });
    expect(raplZoneName("package-7", usages)).toEqual({ name: "package", index: 7 });
    expect(raplZoneName("package", usages)).toEqual({ name: "package", index: 8 });
    expect(raplZoneName("a-b-1", usages)).toEqual({ name: "a-b-1", index: 0 });
    expect(raplZoneName("x-y", usages)).toEqual({ name: "x-y", index: 0 });
    expect(sanitizeMetricName("psys.x")).toBe("psys_x");
    expect(sanitizeMetricName("a_-_b")).toBe("a_b");
    expect(sanitizeMetricName("dram")).toBe("dram");
    expect(parseRaplMicrojoules("240422366267\n")).toBe(240422366267);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseRaplMicrojoules, "118821284256\n");
    checkParserOnBadInput((text) => raplZoneName(text, new Map()), "package-0\n");
    checkParserOnBadInput(sanitizeMetricName, "package-0\n");
  });
});
