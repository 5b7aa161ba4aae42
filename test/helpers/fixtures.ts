import path from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { loadConfig } from "../../agent/config/load.js";
import type { AgentConfig } from "../../agent/config-schema.js";
import { HostPaths } from "../../agent/host/paths.js";
import type { CollectorDefinition } from "../../agent/metrics/collector.js";
import { FamilyCollector } from "../../agent/metrics/model.js";
import fs from "node:fs";
import { parseExposition, type ParsedFamily } from "./exposition-parse.js";

export const FIXTURE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/node_exporter");

/** The flags node_exporter's end-to-end test used to produce e2e-output.txt (see its README). */
export const E2E_FLAGS = [
  `--path.procfs=${FIXTURE_ROOT}/proc`,
  `--path.sysfs=${FIXTURE_ROOT}/sys`,
  `--path.rootfs=${FIXTURE_ROOT}`,
  `--path.udev.data=${FIXTURE_ROOT}/udev/data`,
  `--collector.textfile.directory=${FIXTURE_ROOT}/textfile/two_metric_files/`,
  "--collector.arp.device-exclude=nope",
  "--collector.netdev.device-include=lo",
  "--collector.netclass.ignored-devices=(dmz|int)",
  "--collector.netclass.ignore-invalid-speed",
  "--collector.hwmon.chip-include=(applesmc|asus_nb_wmi|coretemp|hwmon4|ieee80211|nct6779)",
  "--collector.stat.softirq",
  "--collector.cpu.info",
  "--collector.cpu.info.flags-include=^(aes|avx.?|constant_tsc)$",
  "--collector.cpu.info.bugs-include=^(cpu_meltdown|spectre_.*|mds)$",
  "--collector.meminfo_numa",
  "--collector.zoneinfo",
  "--collector.buddyinfo",
  "--collector.slabinfo",
  "--collector.ksmd",
  "--collector.kernel_hung",
  "--collector.bcache.priorityStats",
  "--no-collector.arp.netlink",
  "--no-collector.selinux",
  "--collector.mountstats",
  "--collector.processes",
  "--collector.cgroups",
  "--collector.drbd",
  "--collector.lnstat",
  "--collector.xfrm",
  "--collector.softirqs",
  "--collector.interrupts",
  "--collector.qdisc",
  "--collector.qdisc.device-include=(wlan0|eth0)",
  `--collector.qdisc.fixtures=${FIXTURE_ROOT}/qdisc/`,
  "--collector.wifi",
  `--collector.wifi.fixtures=${FIXTURE_ROOT}/wifi/`,
  "--collector.pcidevice",
  "--collector.sysctl",
  "--collector.sysctl.include-info=kernel.seccomp.actions_avail",
  "--collector.sysctl.include=fs.file-nr",
  "--collector.sysctl.include=fs.file-nr:total,current,max",
  "--collector.sysctl.include=kernel.threads-max",
  "--collector.cpu_vulnerabilities",
  "--no-collector.filesystem",
  "--no-collector.uname",
  "--no-collector.timex",
];

export function e2eConfig(extraFlags: string[] = []): AgentConfig {
  return loadConfig([...E2E_FLAGS, ...extraFlags], {}).config;
}

export function e2ePaths(config: AgentConfig = e2eConfig()): HostPaths {
  return new HostPaths(config.paths);
}

export const silentLogger = pino({ level: "silent" });

/** Runs one collector once against the fixture tree and returns what it emitted. */
export async function collectOnce(def: CollectorDefinition, config: AgentConfig = e2eConfig()): Promise<FamilyCollector> {
  const collector = def.create({ paths: new HostPaths(config.paths), config: config.metrics, logger: silentLogger });
  const out = new FamilyCollector();
  try {
    await collector.update(out, { signal: new AbortController().signal });
  } finally {
    await collector.close?.();
  }
  return out;
}

let expectedCache: Map<string, ParsedFamily> | undefined;

/** node_exporter's exposition for the fixture tree (e2e-output.txt), parsed. */
export function expectedFamilies(): Map<string, ParsedFamily> {
  expectedCache ??= parseExposition(fs.readFileSync(path.join(FIXTURE_ROOT, "e2e-output.txt"), "utf8"));
  return expectedCache;
}

/** Renders FamilyCollector content into the same shape as parseExposition gives, for comparison. */
export function toParsed(out: FamilyCollector): Map<string, ParsedFamily> {
  const result = new Map<string, ParsedFamily>();
  for (const fam of out.families.values()) {
    const samples = new Map<string, number>();
    for (const s of fam.samples) {
      const desc = s.desc ?? fam.desc;
      const labels: Record<string, string> = {};
      desc.labelNames.forEach((n, i) => (labels[n] = s.labelValues[i]));
      const keys = Object.keys(labels).sort();
      const name = fam.desc.name + (desc.sampleSuffix ?? "");
      samples.set(`${name}{${keys.map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",")}}`, s.value);
    }
    result.set(fam.desc.name, { name: fam.desc.name, type: fam.desc.type, help: fam.desc.help, samples });
  }
  return result;
}

/**
 * Asserts that `actual` holds exactly node_exporter's series for the given families (same
 * labels, type and value; none extra, none missing). Returns a list of differences (empty = same).
 */
export function diffFamilies(actual: Map<string, ParsedFamily>, familyNames: string[]): string[] {
  const expected = expectedFamilies();
  const problems: string[] = [];
  for (const name of familyNames) {
    const exp = expected.get(name);
    const act = actual.get(name);
    if (!exp) {
      problems.push(`${name}: not in e2e-output.txt`);
      continue;
    }
    if (!act) {
      problems.push(`${name}: missing`);
      continue;
    }
    if (exp.type !== act.type) problems.push(`${name}: type ${act.type}, expected ${exp.type}`);
    if (exp.help !== act.help) problems.push(`${name}: help ${JSON.stringify(act.help)}, expected ${JSON.stringify(exp.help)}`);
    for (const [key, value] of exp.samples) {
      if (!act.samples.has(key)) problems.push(`missing series ${key}`);
      else if (!sameValue(act.samples.get(key)!, value)) problems.push(`${key}: value ${act.samples.get(key)}, expected ${value}`);
    }
    for (const key of act.samples.keys()) if (!exp.samples.has(key)) problems.push(`extra series ${key}`);
  }
  for (const name of actual.keys()) if (!familyNames.includes(name)) problems.push(`extra family ${name}`);
  return problems;
}

export function sameValue(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  // e2e-output.txt prints Go's shortest float form (e.g. 1.631329e+06): compare to ~1e-9 relative.
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}
