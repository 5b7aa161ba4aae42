/**
 * nodetap next to the real node_exporter on this machine (Debian's prometheus-node-exporter,
 * 1.5.0), both with their default collectors, scraped at the same moment: the series sets for CPU,
 * network devices, disks and filesystems are the same, stable values are equal, every metric the
 * node-mixin's rules and alerts use that node_exporter exposes here is exposed by nodetap, and every
 * family node_exporter's collectors emit here is emitted by nodetap's collector of the same name.
 *
 * nodetap follows node_exporter 1.12; the peer here is 1.5.0. The differences between the two
 * that show on this kind of host are excluded where they apply, each citing node_exporter's
 * CHANGELOG (see VERSION_DIFFERENCES). Debian's package also changes some defaults: both get the
 * same filter flags (1.12's defaults, which are nodetap's; see peer-flags.ts) so that they look at
 * the same devices.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExposition, type ParsedFamily } from "../../helpers/exposition-parse.js";
import { startAgent, startNodeExporter, type AgentProcess, type PeerProcess, removeTempDirs } from "../../helpers/agent-process.js";
import { getJson, getText } from "../../helpers/http.js";
import { collectorOf } from "../../helpers/collector-families.js";
import { labelNamesOf, missingFrom, singleValue, withoutLabels } from "../../helpers/series.js";
import { FIXTURE_ROOT } from "../../helpers/fixtures.js";
import { NODE_EXPORTER_ONLY, SAME_FILTERS } from "../../helpers/peer-flags.js";
import { havePrograms } from "../../helpers/test-programs.js";

/**
 * node_exporter changes between 1.5.0 and 1.12 that show in the compared output, from its
 * CHANGELOG.md. Each is applied only where it says.
 */
const VERSION_DIFFERENCES = {
  /** 1.6.0: "[ENHANCEMENT] Add administrative state of Linux network interfaces #2515" (adminstate label on node_network_info). */
  networkInfoAdminstate: "adminstate",
  /** 1.9.0: "[ENHANCEMENT] diskstats: Add block device rotational #3022" (rotational label on node_disk_info). */
  diskInfoRotational: "rotational",
  /** 1.8.0: "[ENHANCEMENT] filesystem: surface device errors #2923" (device_error label on every node_filesystem_* series). */
  filesystemDeviceError: "device_error",
  /** 1.9.0: "[FEATURE] filesystem: Add `node_filesystem_mount_info` metric #2970". */
  filesystemMountInfo: "node_filesystem_mount_info",
  /**
   * 1.9.0: "[CHANGE] meminfo: Convert linux implementation to use procfs lib #3049". 1.5 exports
   * every /proc/meminfo line; 1.9+ only the fields of procfs's Meminfo struct that
   * collector/meminfo_linux.go copies (this list), so e.g. KReclaimable, SecPageTables, Hugetlb,
   * FileHugePages, FilePmdMapped and Balloon are no longer exported.
   */
  meminfoFields: new Set(
    (
      "Active Active_anon Active_file AnonHugePages AnonPages Bounce Buffers Cached CmaFree CmaTotal CommitLimit Committed_AS " +
      "DirectMap1G DirectMap2M DirectMap4k Dirty HardwareCorrupted Hugepagesize Inactive Inactive_anon Inactive_file KernelStack " +
      "Mapped MemAvailable MemFree MemTotal Mlocked NFS_Unstable PageTables Percpu SReclaimable SUnreclaim Shmem ShmemHugePages " +
      "ShmemPmdMapped Slab SwapCached SwapFree SwapTotal Unevictable VmallocChunk VmallocTotal VmallocUsed Writeback WritebackTmp"
    )
      .split(" ")
      .map((f) => `node_memory_${f}_bytes`)
      .concat(["node_memory_HugePages_Free", "node_memory_HugePages_Rsvd", "node_memory_HugePages_Surp", "node_memory_HugePages_Total"]),
  ),
};

/** Metric names used by the node-mixin's recording and alerting rules (selectors only, not recorded series). */
function mixinMetricNames(): string[] {
  const names = new Set<string>();
  for (const file of ["node_rules.yaml", "node_alerts.yaml"]) {
    const text = fs.readFileSync(path.join(FIXTURE_ROOT, "mixin", file), "utf8");
    for (const m of text.matchAll(/(?<![\w:])(node_[A-Za-z0-9_]+)(?=\s*\{)/g)) names.add(m[1]);
  }
  return [...names].sort();
}

function familiesWithPrefix(parsed: Map<string, ParsedFamily>, prefix: string): string[] {
  return [...parsed.keys()].filter((n) => n.startsWith(prefix)).sort();
}

afterAll(removeTempDirs);

describe.runIf(havePrograms("live comparison with node_exporter", "prometheus-node-exporter"))(
  "nodetap and node_exporter 1.5.0 on this host",
  () => {
    let agent: AgentProcess;
    let exporter: PeerProcess;
    let nt: Map<string, ParsedFamily>;
    let ne: Map<string, ParsedFamily>;
    let nodetapCollectors: string[];

    beforeAll(async () => {
      [agent, exporter] = await Promise.all([
        startAgent({ args: SAME_FILTERS }),
        startNodeExporter([...SAME_FILTERS, ...NODE_EXPORTER_ONLY]),
      ]);
      // A first scrape each (lazy initialisation), then the compared pair, taken together.
      await Promise.all([getText(`${agent.url}/metrics`), getText(`${exporter.url}/metrics`)]);
      const [a, b] = await Promise.all([getText(`${agent.url}/metrics`), getText(`${exporter.url}/metrics`)]);
      nt = parseExposition(a);
      ne = parseExposition(b);
      nodetapCollectors = (await getJson<{ collectors: Array<{ name: string }> }>(`${agent.url}/status`)).collectors.map((c) => c.name);
    });
    afterAll(async () => {
      await Promise.all([agent?.stop(), exporter?.stop()]);
    });

    it("is comparing against node_exporter 1.5.x", () => {
      const build = [...(ne.get("node_exporter_build_info")?.samples.keys() ?? [])][0] ?? "";
      expect(build).toMatch(/version="1\.5\./);
    });

    it("has node_exporter's CPU series (node_cpu_seconds_total, node_cpu_guest_seconds_total)", () => {
      for (const name of ["node_cpu_seconds_total", "node_cpu_guest_seconds_total"]) {
        const expected = [...(ne.get(name)?.samples.keys() ?? [])].sort();
        expect(expected.length, name).toBeGreaterThan(0);
        expect([...(nt.get(name)?.samples.keys() ?? [])].sort(), name).toEqual(expected);
        expect(nt.get(name)?.type).toBe("counter");
      }
    });

    const sameSeries = (prefix: string, dropLabels: Record<string, string[]>, skipFamilies: string[] = []) => {
      const problems: string[] = [];
      const families = new Set([...familiesWithPrefix(ne, prefix), ...familiesWithPrefix(nt, prefix)]);
      for (const name of [...families].sort()) {
        if (skipFamilies.includes(name)) continue;
        if (!ne.has(name)) {
          problems.push(`${name}: only nodetap has it`);
          continue;
        }
        if (!nt.has(name)) {
          problems.push(`${name}: missing (node_exporter has ${ne.get(name)!.samples.size} series)`);
          continue;
        }
        if (nt.get(name)!.type !== ne.get(name)!.type)
          problems.push(`${name}: type ${nt.get(name)!.type}, node_exporter ${ne.get(name)!.type}`);
        const drop = dropLabels[name] ?? dropLabels["*"] ?? [];
        const a = withoutLabels(nt.get(name), drop);
        const b = withoutLabels(ne.get(name), drop);
        for (const k of missingFrom(b.keys(), a)) problems.push(`missing ${k}`);
        for (const k of missingFrom(a.keys(), b)) problems.push(`extra ${k}`);
      }
      return problems;
    };

    it("has the same network device series (node_network_*)", () => {
      expect(familiesWithPrefix(ne, "node_network_").length).toBeGreaterThan(10);
      expect(sameSeries("node_network_", { node_network_info: [VERSION_DIFFERENCES.networkInfoAdminstate] })).toEqual([]);
      // The label 1.6 added is there.
      expect(labelNamesOf(nt.get("node_network_info"))).toContain("adminstate");
    });

    it("has the same disk series (node_disk_*)", () => {
      expect(familiesWithPrefix(ne, "node_disk_").length).toBeGreaterThan(5);
      expect(sameSeries("node_disk_", { node_disk_info: [VERSION_DIFFERENCES.diskInfoRotational] })).toEqual([]);
      expect(labelNamesOf(nt.get("node_disk_info"))).toContain("rotational");
    });

    it("has the same filesystem series (node_filesystem_*)", () => {
      expect(familiesWithPrefix(ne, "node_filesystem_").length).toBeGreaterThan(5);
      expect(
        sameSeries("node_filesystem_", { "*": [VERSION_DIFFERENCES.filesystemDeviceError] }, [VERSION_DIFFERENCES.filesystemMountInfo]),
      ).toEqual([]);
      expect(labelNamesOf(nt.get("node_filesystem_size_bytes"))).toEqual(["device", "device_error", "fstype", "mountpoint"]);
    });

    it("has the same values for stable metrics", () => {
      const problems: string[] = [];
      let compared = 0;
      /** Equal series and values; `optional` metrics are compared only where node_exporter has them on this host. */
      const sameValues = (name: string, drop: string[] = [], optional = false) => {
        const a = withoutLabels(nt.get(name), drop);
        const b = withoutLabels(ne.get(name), drop);
        if (b.size === 0) {
          if (!optional) problems.push(`${name}: node_exporter has no series here (cannot compare)`);
          return;
        }
        compared++;
        for (const [k, v] of b) {
          if (!a.has(k)) problems.push(`missing ${k}`);
          else if (a.get(k) !== v) problems.push(`${k}: nodetap ${a.get(k)}, node_exporter ${v}`);
        }
        for (const k of missingFrom(a.keys(), b)) problems.push(`extra ${k}`);
      };
      // Present on any Linux host.
      for (const name of [
        "node_memory_MemTotal_bytes",
        "node_memory_SwapTotal_bytes",
        "node_memory_VmallocTotal_bytes",
        "node_network_mtu_bytes",
      ]) {
        sameValues(name);
      }
      sameValues("node_network_info", [VERSION_DIFFERENCES.networkInfoAdminstate]);
      sameValues("node_filesystem_size_bytes", [VERSION_DIFFERENCES.filesystemDeviceError]);
      for (const name of ["node_uname_info", "node_os_info", "node_os_version", "node_filefd_maximum", "node_entropy_pool_size_bits"])
        sameValues(name);
      for (const name of ["node_time_clocksource_available_info", "node_time_clocksource_current_info", "node_time_zone_offset_seconds"]) {
        sameValues(name);
      }
      // Where this host has them.
      for (const name of ["node_memory_HugePages_Total", "node_memory_Hugepagesize_bytes", "node_nf_conntrack_entries_limit"])
        sameValues(name, [], true);
      for (const name of [
        "up",
        "flags",
        "iface_id",
        "iface_link",
        "iface_link_mode",
        "address_assign_type",
        "protocol_type",
        "net_dev_group",
        "transmit_queue_length",
        "carrier",
        "dormant",
        "device_id",
      ]) {
        sameValues(`node_network_${name}`, [], true);
      }
      for (const name of ["node_filesystem_files", "node_filesystem_readonly", "node_filesystem_device_error"]) {
        sameValues(name, [VERSION_DIFFERENCES.filesystemDeviceError], true);
      }
      sameValues("node_disk_info", [VERSION_DIFFERENCES.diskInfoRotational], true);
      expect(compared).toBeGreaterThanOrEqual(12);
      const boot = [singleValue(nt.get("node_boot_time_seconds")), singleValue(ne.get("node_boot_time_seconds"))];
      if (boot[0] === undefined || boot[1] === undefined || Math.abs(boot[0] - boot[1]) > 1)
        problems.push(`node_boot_time_seconds: nodetap ${boot[0]}, node_exporter ${boot[1]}`);
      const now = [singleValue(nt.get("node_time_seconds")), singleValue(ne.get("node_time_seconds"))];
      if (now[0] === undefined || now[1] === undefined || Math.abs(now[0] - now[1]) > 5)
        problems.push(`node_time_seconds: nodetap ${now[0]}, node_exporter ${now[1]}`);
      expect(problems).toEqual([]);
    });

    it("exposes every node-mixin metric that node_exporter exposes here", () => {
      const names = mixinMetricNames();
      expect(names).toContain("node_cpu_seconds_total");
      const exposedByPeer = names.filter((n) => ne.has(n) && ne.get(n)!.samples.size > 0);
      expect(exposedByPeer.length).toBeGreaterThan(10);
      expect(exposedByPeer.filter((n) => !nt.has(n) || nt.get(n)!.samples.size === 0)).toEqual([]);
    });

    it("emits every family that node_exporter's collector of the same name emits here", () => {
      const problems: string[] = [];
      for (const [name, fam] of ne) {
        const collector = collectorOf(name);
        if (collector === undefined || collector === "exporter" || !nodetapCollectors.includes(collector) || fam.samples.size === 0)
          continue;
        if (collector === "meminfo" && !VERSION_DIFFERENCES.meminfoFields.has(name)) continue;
        if (!nt.has(name)) problems.push(`${name} (${collector}): missing`);
        else if (nt.get(name)!.type !== fam.type)
          problems.push(`${name} (${collector}): type ${nt.get(name)!.type}, node_exporter ${fam.type}`);
      }
      expect(problems).toEqual([]);
    });

    it("succeeds wherever node_exporter's collector of the same name succeeds", () => {
      const success = (parsed: Map<string, ParsedFamily>) =>
        new Map([...(parsed.get("node_scrape_collector_success")?.samples ?? [])].map(([k, v]) => [/collector="([^"]+)"/.exec(k)![1], v]));
      const [a, b] = [success(nt), success(ne)];
      const failing = [...b].filter(([c, v]) => v === 1 && a.has(c) && a.get(c) !== 1).map(([c]) => c);
      expect(failing).toEqual([]);
    });
  },
);
