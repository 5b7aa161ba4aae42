import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import {
  collector,
  governorStates,
  parseCpufreqReads,
  parseCpufreqValue,
  parseCpuRange,
} from "../../../agent/metrics/collectors/cpufreq.js";
import type { AttributeRead } from "../../../agent/metrics/sysfs-attribute.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { collectOnce, diffFamilies, e2eConfig, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { hostTree, scrapeTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const CPUFREQ_FAMILIES = [
  "node_cpu_scaling_frequency_hertz",
  "node_cpu_scaling_frequency_max_hertz",
  "node_cpu_scaling_frequency_min_hertz",
  "node_cpu_scaling_governor",
];

/** A cpufreq directory with every attribute procfs requires; `extra` adds or replaces files. */
function cpufreqFiles(cpu: number, extra: Record<string, string> = {}): Record<string, string> {
  const files: Record<string, string> = {
    scaling_available_governors: "performance powersave\n",
    scaling_driver: "intel_pstate\n",
    scaling_governor: "powersave\n",
    related_cpus: `${cpu}\n`,
    scaling_setspeed: "<unsupported>\n",
    scaling_cur_freq: "1200000\n",
    scaling_min_freq: "800000\n",
    scaling_max_freq: "3000000\n",
    ...extra,
  };
  return Object.fromEntries(Object.entries(files).map(([name, text]) => [`sys/devices/system/cpu/cpu${cpu}/cpufreq/${name}`, text]));
}

const NO_CPU_INFO = ["--no-collector.cpu.info", "--collector.cpu.info.flags-include=", "--collector.cpu.info.bugs-include="];

describe("cpufreq collector", () => {
  it("matches node_exporter's output for the fixture host", async () => {
    expect(diffFamilies(toParsed(await collectOnce(collector)), CPUFREQ_FAMILIES)).toEqual([]);
  });

  it("exports cpuinfo_* frequencies in hertz, node_cpu_frequency_hertz only while the cpu collector does not report it from /proc/cpuinfo", async () => {
    const tree = hostTree({
      "sys/devices/system/cpu/offline": "\n",
      ...cpufreqFiles(0, {
        cpuinfo_cur_freq: "2000000\n",
        cpuinfo_avg_freq: "1900000\n",
        cpuinfo_min_freq: "400000\n",
        cpuinfo_max_freq: "4000000\n",
      }),
    });
    const plain = await scrapeTree(collector, tree, NO_CPU_INFO);
    expect(valuesOf(plain, "node_cpu_frequency_hertz")).toEqual(new Map([["0", 2e9]]));
    expect(valuesOf(plain, "node_cpu_frequency_avg_hertz")).toEqual(new Map([["0", 1.9e9]]));
    expect(valuesOf(plain, "node_cpu_frequency_min_hertz")).toEqual(new Map([["0", 4e8]]));
    expect(valuesOf(plain, "node_cpu_frequency_max_hertz")).toEqual(new Map([["0", 4e9]]));
    expect(plain.families.get("node_cpu_frequency_hertz")?.desc.help).toBe("Current CPU thread frequency in hertz.");
    // With --collector.cpu.info (the E2E flags) the cpu collector owns node_cpu_frequency_hertz.
    const withInfo = await scrapeTree(collector, tree);
    expect(withInfo.families.has("node_cpu_frequency_hertz")).toBe(false);
    expect(valuesOf(withInfo, "node_cpu_frequency_max_hertz")).toEqual(new Map([["0", 4e9]]));
    // ... but not when the cpu collector is off.
    const noCpu = await scrapeTree(collector, tree, ["--no-collector.cpu"]);
    expect(valuesOf(noCpu, "node_cpu_frequency_hertz")).toEqual(new Map([["0", 2e9]]));
  });

  it("leaves out offline CPUs and CPUs without a cpufreq directory", async () => {
    const tree = hostTree({
      "sys/devices/system/cpu/offline": "1,3-4\n",
      ...cpufreqFiles(0),
      ...cpufreqFiles(1),
      ...cpufreqFiles(2, { scaling_governor: "performance\n" }),
      "sys/devices/system/cpu/cpu5/online": "1\n",
      "sys/devices/system/cpu/cpufreq/policy0/scaling_cur_freq": "1\n",
    });
    const out = await scrapeTree(collector, tree);
    expect(valuesOf(out, "node_cpu_scaling_frequency_hertz")).toEqual(
      new Map([
        ["0", 1.2e9],
        ["2", 1.2e9],
      ]),
    );
    expect(valuesOf(out, "node_cpu_scaling_governor")).toEqual(
      new Map([
        ["0,performance", 0],
        ["0,powersave", 1],
        ["2,performance", 1],
        ["2,powersave", 0],
      ]),
    );
  });

  it("reads kept attribute files anew each scrape, and follows a CPU's cpufreq link to another policy", () => {
    const paths = hostTree({
      "sys/devices/system/cpu/offline": "\n",
      ...cpufreqFiles(0),
      ...Object.fromEntries(
        Object.entries({ ...cpufreqFiles(1), ...cpufreqFiles(1, { scaling_cur_freq: "2400000\n" }) }).map(([file, text]) => [
          file.replace("cpu1/cpufreq", "cpufreq/policy9"),
          text,
        ]),
      ),
    });
    const cpu = paths.sys("devices/system/cpu");
    fs.mkdirSync(`${cpu}/cpu1`);
    fs.symlinkSync(`${cpu}/cpu0/cpufreq`, `${cpu}/cpu1/cpufreq`); // cpu1 shares cpu0's policy
    const instance = collector.create({ paths, config: e2eConfig().metrics, logger: silentLogger });
    const scrape = () => {
      const sink = new FamilyCollector();
      void instance.update(sink, { signal: new AbortController().signal });
      return valuesOf(sink, "node_cpu_scaling_frequency_hertz");
    };
    try {
      expect(scrape()).toEqual(
        new Map([
          ["0", 1.2e9],
          ["1", 1.2e9],
        ]),
      );
      fs.writeFileSync(`${cpu}/cpu0/cpufreq/scaling_cur_freq`, "1800000\n");
      expect(scrape()).toEqual(
        new Map([
          ["0", 1.8e9],
          ["1", 1.8e9],
        ]),
      );
      fs.unlinkSync(`${cpu}/cpu1/cpufreq`);
      fs.symlinkSync(`${cpu}/cpufreq/policy9`, `${cpu}/cpu1/cpufreq`);
      expect(scrape()).toEqual(
        new Map([
          ["0", 1.8e9],
          ["1", 2.4e9],
        ]),
      );
    } finally {
      void instance.close?.();
    }
  });

  it("fails, emitting nothing, on a malformed value, a missing text attribute or a missing offline file", async () => {
    const bad = hostTree({
      "sys/devices/system/cpu/offline": "\n",
      ...cpufreqFiles(0),
      ...cpufreqFiles(1, { scaling_max_freq: "3 GHz\n" }),
    });
    const sink = new FamilyCollector();
    const instance = collector.create({ paths: bad, config: e2eConfig().metrics, logger: silentLogger });
    expect(() => instance.update(sink, { signal: new AbortController().signal })).toThrow(
      /cpu1\/cpufreq\/scaling_max_freq: expected an unsigned integer/,
    );
    expect(sink.families.size).toBe(0);

    const files = cpufreqFiles(0);
    delete files["sys/devices/system/cpu/cpu0/cpufreq/scaling_driver"];
    await expect(scrapeTree(collector, hostTree({ "sys/devices/system/cpu/offline": "\n", ...files }))).rejects.toThrow(
      /scaling_driver: ENOENT/,
    );
    await expect(scrapeTree(collector, hostTree(cpufreqFiles(0)))).rejects.toThrow(/offline: ENOENT/);
    // No CPUs at all: procfs's "could not find any cpufreq files".
    await expect(scrapeTree(collector, hostTree({ "sys/devices/system/cpu/offline": "\n" }))).rejects.toThrow(/could not find any cpufreq/);
  });
});

describe("cpufreq parsers", () => {
  const ok = (text: string): AttributeRead => ({ text });
  const missing: AttributeRead = { errno: "ENOENT", during: "open" };
  const reads = (over: Partial<Record<string, AttributeRead>> = {}) =>
    ({
      cpuinfo_cur_freq: missing,
      cpuinfo_avg_freq: missing,
      cpuinfo_max_freq: missing,
      cpuinfo_min_freq: missing,
      cpuinfo_transition_latency: ok("0\n"),
      scaling_cur_freq: ok("1000\n"),
      scaling_max_freq: ok("2000\n"),
      scaling_min_freq: ok("500\n"),
      scaling_available_governors: ok("a b\n"),
      scaling_driver: ok("d\n"),
      scaling_governor: ok("b\n"),
      related_cpus: ok("0\n"),
      scaling_setspeed: ok("x\n"),
      ...over,
    }) as Parameters<typeof parseCpufreqReads>[1];

  it("skips numeric attributes that are missing or not permitted, fails on other read errors", () => {
    const stats = parseCpufreqReads("3", reads({ cpuinfo_cur_freq: { errno: "EACCES", during: "open" } }));
    expect([...stats.khz]).toEqual([
      ["cpuinfo_transition_latency", 0],
      ["scaling_cur_freq", 1000],
      ["scaling_max_freq", 2000],
      ["scaling_min_freq", 500],
    ]);
    expect(stats.governor).toBe("b");
    expect(() => parseCpufreqReads("3", reads({ scaling_cur_freq: { errno: "EIO", during: "read" } }))).toThrow(CollectorError);
    expect(() => parseCpufreqReads("3", reads({ related_cpus: { errno: "EACCES", during: "open" } }))).toThrow(/related_cpus/);
    // A malformed attribute node_exporter does not export still fails it, as in procfs.
    expect(() => parseCpufreqReads("3", reads({ cpuinfo_transition_latency: ok("-1\n") }))).toThrow(/transition_latency/);
  });

  it("parses values and CPU ranges as Go does", () => {
    expect(parseCpufreqValue(" 800000\n")).toBe(800000);
    expect(() => parseCpufreqValue("+800000")).toThrow(CollectorError);
    expect(() => parseCpufreqValue("\ufeff800000")).toThrow(CollectorError);
    expect(parseCpuRange("0-2,5\n")).toEqual([0, 1, 2, 5]);
    expect(parseCpuRange("65537")).toEqual([1]);
    expect(() => parseCpuRange("1-2-3")).toThrow(/invalid cpu range/);
    expect(() => parseCpuRange("x")).toThrow(CollectorError);
    expect(governorStates("conservative ondemand", "ondemand")).toEqual([
      ["conservative", 0],
      ["ondemand", 1],
    ]);
    expect(governorStates("", "performance")).toEqual([["", 0]]);
  });

  it("never throws anything but CollectorError on bad input", () => {
    checkParserOnBadInput(parseCpufreqValue, "3700000\n");
    checkParserOnBadInput(parseCpuRange, "0-3,8,10-11\n");
    checkParserOnBadInput((text) => governorStates(text, "powersave"), "performance powersave\n");
  });
});
