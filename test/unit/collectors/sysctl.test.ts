import { describe, expect, it } from "vitest";
import type { HostPaths } from "../../../agent/host/paths.js";
import { collector, parseSysctlOption, sysctlFields, sysctlInts, sysctlSamples } from "../../../agent/metrics/collectors/sysctl.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { collectOnce, diffFamilies, e2eConfig, expectedFamilies, silentLogger, toParsed } from "../../helpers/fixtures.js";
import { hostTree, useHostTrees, valuesOf } from "../../helpers/host-tree.js";

useHostTrees();

const SYSCTL_FAMILIES = [...expectedFamilies().keys()].filter((name) => name.startsWith("node_sysctl_"));
/** One scrape of `paths` with only these sysctls configured (repeated flags would add to the E2E ones). */
async function scrapeSysctls(paths: HostPaths, include: string[], includeInfo: string[] = []): Promise<FamilyCollector> {
  const metrics = e2eConfig().metrics;
  const config = { ...metrics, collectors: { ...metrics.collectors, sysctl: { enabled: true, include, includeInfo } } };
  const out = new FamilyCollector();
  await collector.create({ paths, config, logger: silentLogger }).update(out, { signal: new AbortController().signal });
  return out;
}

describe("sysctl collector", () => {
  it("matches node_exporter's output for the e2e run's sysctls (indexed, keyed, single and info)", async () => {
    expect(SYSCTL_FAMILIES).toHaveLength(6);
    expect(diffFamilies(toParsed(await collectOnce(collector)), SYSCTL_FAMILIES)).toEqual([]);
  });

  it("fails naming the file when a configured sysctl does not exist, after the series of the sysctls before it", async () => {
    const tree = hostTree({ "proc/sys/kernel/pid_max": "4194304\n" });
    const metrics = e2eConfig().metrics;
    const config = {
      ...metrics,
      collectors: { ...metrics.collectors, sysctl: { enabled: true, include: ["kernel.pid_max", "vm.nope"], includeInfo: [] } },
    };
    const c = collector.create({ paths: tree, config, logger: silentLogger });
    const out = new FamilyCollector();
    expect(() => c.update(out, { signal: new AbortController().signal })).toThrow(
      /error obtaining sysctl info: .*proc\/sys\/vm\/nope: ENOENT/,
    );
    expect(valuesOf(out, "node_sysctl_kernel_pid_max")).toEqual(new Map([["", 4194304]]));
  });

  it("reads numbers with Go's base prefixes, text as info, and fails on malformed values", async () => {
    const tree = hostTree({
      "proc/sys/net/core/somaxconn": "0x1000\n",
      "proc/sys/net/ipv4/ip_local_port_range": "32768\t60999\n",
      "proc/sys/kernel/core_pattern": "|/usr/lib/systemd/systemd-coredump %P %u\n",
      "proc/sys/vm/bad": "12 x\n",
    });
    const out = await scrapeSysctls(tree, ["net.core.somaxconn", "net.ipv4.ip_local_port_range:low,high"], ["kernel.core_pattern"]);
    expect(valuesOf(out, "node_sysctl_net_core_somaxconn")).toEqual(new Map([["", 4096]]));
    expect(valuesOf(out, "node_sysctl_net_ipv4_ip_local_port_range_low")).toEqual(new Map([["", 32768]]));
    expect(valuesOf(out, "node_sysctl_net_ipv4_ip_local_port_range_high")).toEqual(new Map([["", 60999]]));
    expect(out.families.get("node_sysctl_net_ipv4_ip_local_port_range_high")?.desc.help).toBe(
      "sysctl net.ipv4.ip_local_port_range, field 1",
    );
    expect([...valuesOf(out, "node_sysctl_info").keys()]).toEqual([
      "kernel.core_pattern,|/usr/lib/systemd/systemd-coredump,0",
      "kernel.core_pattern,%P,1",
      "kernel.core_pattern,%u,2",
    ]);
    await expect(scrapeSysctls(tree, ["vm.bad"])).rejects.toThrow(/field 1 in sysctl vm.bad is not a valid int: "x"/);
  });

  it("reads at most 128 bytes, as procfs's SysReadFile", async () => {
    const tree = hostTree({ "proc/sys/kernel/long": `${"1 ".repeat(64)}2 3\n` });
    const out = await scrapeSysctls(tree, ["kernel.long"]);
    expect(valuesOf(out, "node_sysctl_kernel_long").size).toBe(64);
  });

  it("leaves out a sysctl asked for twice and refuses invalid metric names", async () => {
    const tree = hostTree({ "proc/sys/kernel/threads-max": "7801\n" });
    const twice = await scrapeSysctls(tree, ["kernel.threads-max", "kernel.threads-max"]);
    expect(twice.families.get("node_sysctl_kernel_threads_max")?.samples).toHaveLength(1);
    const range = hostTree({ "proc/sys/net/ipv4/ip_local_port_range": "1 2\n" });
    await expect(scrapeSysctls(range, ["net.ipv4.ip_local_port_range:lo-w,high"])).rejects.toThrow(/not a valid metric name/);
  });
});

describe("sysctl parsers", () => {
  it("split options and values as node_exporter and procfs do", () => {
    expect(parseSysctlOption("fs.file-nr:total,current,max", true)).toEqual({
      name: "fs.file-nr",
      numeric: true,
      keys: ["total", "current", "max"],
    });
    expect(parseSysctlOption("a.b:c:d", false)).toEqual({ name: "a.b", numeric: false, keys: ["c:d"] });
    expect(sysctlFields(" a\u00a0b\tc \n")).toEqual(["a", "b", "c"]);
    expect(sysctlInts("x", "010 0b11 -5")).toEqual([8, 3, -5]);
  });

  it("check value counts against the option", () => {
    expect(() => sysctlSamples({ name: "a", numeric: true }, "\n")).toThrow(/sysctl a has no values/);
    expect(() => sysctlSamples({ name: "a", numeric: true, keys: ["x"] }, "1")).toThrow(/has only one value/);
    expect(() => sysctlSamples({ name: "a", numeric: true, keys: ["x"] }, "1 2")).toThrow(/has 2 keys but only 1 defined/);
    expect(() => sysctlSamples({ name: "a", numeric: false, keys: ["x", "y"] }, "1 2")).toThrow(
      /mapped sysctl string values not supported/,
    );
    expect(sysctlSamples({ name: "a", numeric: false }, "on").map((s) => s.labels)).toEqual([["a", "on", "0"]]);
  });

  it("never throw anything but CollectorError on bad input", () => {
    checkParserOnBadInput((text) => sysctlSamples({ name: "fs.file-nr", numeric: true }, text), "1024\t0\t1631329\n");
    checkParserOnBadInput(
      (text) => sysctlSamples({ name: "fs.file-nr", numeric: true, keys: ["a", "b", "c"] }, text),
      "1024\t0\t1631329\n",
    );
  });
});
