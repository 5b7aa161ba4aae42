/**
 * Which node_exporter collector emits a metric family: the one place that maps the families of
 * test/fixtures/node_exporter/e2e-output.txt (and of a live node_exporter) to collector names.
 *
 * How it was derived: from node_exporter's collector sources (v1.12 line, the fixture's commit),
 * where each collector builds its descriptors with
 * `prometheus.BuildFQName(namespace, <subsystem>, <name>)` in `collector/<name>_linux.go`. Most
 * collectors own one subsystem prefix (node_<subsystem>_...). The cases where a prefix is shared,
 * checked against the sources:
 * - `node_cpu_*`: cpu_linux.go emits seconds_total, guest_seconds_total, info, flag_info,
 *   bug_info, core_throttles_total, package_throttles_total, isolated, online (1.9+) and
 *   frequency_hertz{package,core,cpu} ("CPU frequency in hertz from /proc/cpuinfo.", emitted by
 *   updateInfo with --collector.cpu.info while the cpufreq collector is enabled);
 *   cpufreq_linux.go emits frequency_{min,max}_hertz and scaling_*; cpu_vulnerabilities_linux.go
 *   emits vulnerabilities_info.
 * - `node_network_*`: netdev (netdev_linux.go/netdev_common.go) emits the
 *   `receive_*_total`/`transmit_*_total` counters (and address_info with
 *   --collector.netdev.address-info); everything else (info, up, mtu_bytes, speed_bytes, carrier*,
 *   flags, iface_*, transmit_queue_length, ...) is netclass_linux.go.
 * - `node_memory_numa_*` is meminfo_numa; every other `node_memory_*` is meminfo.
 * - stat_linux.go emits unprefixed names: node_boot_time_seconds, node_context_switches_total,
 *   node_forks_total, node_intr_total, node_procs_{blocked,running}, node_softirqs_total
 *   (--collector.stat.softirq); node_softirqs_functions_total is the softirqs collector.
 * - thermal_zone_linux.go also emits node_cooling_device_{cur,max}_state.
 * - loadavg emits node_load1/5/15; os_release.go node_os_info/node_os_version; uname
 *   node_uname_info.
 * - textfile emits node_textfile_* plus whatever the *.prom files hold: in e2e-output.txt the
 *   files of textfile/two_metric_files/ (testmetric1_1 ... testmetric2_2).
 * - Not from any collector: go_*, process_*, promhttp_*, node_exporter_build_info and
 *   node_scrape_collector_{duration_seconds,success} (the exporter itself; "exporter" below).
 *
 * collectorOf() must give exactly one answer for every family of e2e-output.txt; the fixture
 * conformance test checks that, so the table cannot silently rot.
 */

type Rule = [collector: string, pattern: RegExp];

const RULES: Rule[] = [
  ["exporter", /^(go_|process_|promhttp_)|^node_exporter_build_info$|^node_scrape_collector_(duration_seconds|success)$/],
  ["arp", /^node_arp_/],
  ["bcache", /^node_bcache_/],
  ["bcachefs", /^node_bcachefs_/],
  ["bonding", /^node_bonding_/],
  ["btrfs", /^node_btrfs_/],
  ["buddyinfo", /^node_buddyinfo_/],
  ["cgroups", /^node_cgroups_/],
  ["conntrack", /^node_nf_conntrack_/],
  [
    "cpu",
    /^node_cpu_(seconds_total|guest_seconds_total|info|flag_info|bug_info|core_throttles_total|package_throttles_total|isolated|online|frequency_hertz)$/,
  ],
  ["cpu_vulnerabilities", /^node_cpu_vulnerabilities_info$/],
  ["cpufreq", /^node_cpu_(frequency_(min|max)_hertz|scaling_.+)$/],
  ["diskstats", /^node_disk_/],
  ["dmi", /^node_dmi_info$/],
  ["dmmultipath", /^node_dmmultipath_/],
  ["drbd", /^node_drbd_/],
  ["edac", /^node_edac_/],
  ["entropy", /^node_entropy_/],
  ["fibrechannel", /^node_fibrechannel_/],
  ["filefd", /^node_filefd_/],
  ["filesystem", /^node_filesystem_/],
  ["hwmon", /^node_hwmon_/],
  ["infiniband", /^node_infiniband_/],
  ["interrupts", /^node_interrupts_total$/],
  ["ipvs", /^node_ipvs_/],
  ["kernel_hung", /^node_kernel_hung_/],
  ["ksmd", /^node_ksmd_/],
  ["lnstat", /^node_lnstat_/],
  ["loadavg", /^node_load(1|5|15)$/],
  ["mdadm", /^node_md_/],
  ["meminfo_numa", /^node_memory_numa_/],
  ["meminfo", /^node_memory_(?!numa_)/],
  ["mountstats", /^node_mountstats_/],
  ["netdev", /^node_network_((receive|transmit)_[a-z]+_total|address_info)$/],
  ["netclass", /^node_network_(?!(receive|transmit)_[a-z]+_total$|address_info$)/],
  ["netstat", /^node_netstat_/],
  ["nfs", /^node_nfs_/],
  ["nfsd", /^node_nfsd_/],
  ["nvme", /^node_nvme_/],
  ["os", /^node_os_(info|version)$/],
  ["pcidevice", /^node_pcidevice_/],
  ["powersupplyclass", /^node_power_supply_/],
  ["pressure", /^node_pressure_/],
  ["processes", /^node_processes_/],
  ["qdisc", /^node_qdisc_/],
  ["rapl", /^node_rapl_/],
  ["schedstat", /^node_schedstat_/],
  ["selinux", /^node_selinux_/],
  ["slabinfo", /^node_slabinfo_/],
  ["sockstat", /^node_sockstat_/],
  ["softirqs", /^node_softirqs_functions_total$/],
  ["softnet", /^node_softnet_/],
  ["stat", /^node_(boot_time_seconds|context_switches_total|forks_total|intr_total|procs_(blocked|running)|softirqs_total)$/],
  ["sysctl", /^node_sysctl_/],
  ["systemd", /^node_systemd_/],
  ["tapestats", /^node_tape_/],
  ["textfile", /^node_textfile_|^testmetric\d+_\d+$/],
  ["thermal_zone", /^node_(thermal_zone|cooling_device)_/],
  ["time", /^node_time_/],
  ["timex", /^node_timex_/],
  ["udp_queues", /^node_udp_queues$/],
  ["uname", /^node_uname_info$/],
  ["vmstat", /^node_vmstat_/],
  ["watchdog", /^node_watchdog_/],
  ["wifi", /^node_wifi_/],
  ["xfrm", /^node_xfrm_/],
  ["xfs", /^node_xfs_/],
  ["zfs", /^node_zfs_/],
  ["zoneinfo", /^node_zoneinfo_/],
];

/** Every collector that claims `family` (a correct table gives exactly one). */
export function collectorsClaiming(family: string): string[] {
  return RULES.filter(([, re]) => re.test(family)).map(([c]) => c);
}

/** The collector that emits `family`, or undefined when none or several rules match. */
export function collectorOf(family: string): string | undefined {
  const c = collectorsClaiming(family);
  return c.length === 1 ? c[0] : undefined;
}

/** The families among `names` that the given collectors emit. */
export function familiesOf(collectors: readonly string[], names: Iterable<string>): string[] {
  const wanted = new Set(collectors);
  return [...names].filter((n) => {
    const c = collectorOf(n);
    return c !== undefined && wanted.has(c);
  });
}

/**
 * The collectors the fixture conformance check covers: every nodetap collector that was enabled
 * when node_exporter produced e2e-output.txt (filesystem and uname were disabled there).
 */
export const E2E_REQUIRED_COLLECTORS = [
  "cpu",
  "stat",
  "meminfo",
  "loadavg",
  "diskstats",
  "netdev",
  "netclass",
  "netstat",
  "sockstat",
  "vmstat",
  "filefd",
  "os",
  "time",
  "pressure",
  "hwmon",
  "thermal_zone",
  "conntrack",
  "entropy",
  "textfile",
  "schedstat",
  "softnet",
  "udp_queues",
  "mdadm",
  "bonding",
  "arp",
  "infiniband",
  "nfs",
  "nfsd",
  "nvme",
  "fibrechannel",
  "tapestats",
  "powersupplyclass",
  "cpufreq",
  "dmi",
  "edac",
  "rapl",
  "watchdog",
  "xfs",
  "btrfs",
  "meminfo_numa",
  "zoneinfo",
  "buddyinfo",
  "slabinfo",
  "ksmd",
  "kernel_hung",
  "bcache",
  "bcachefs",
  "mountstats",
  "processes",
  "cgroups",
  "drbd",
  "lnstat",
  "xfrm",
  "ipvs",
  "softirqs",
  "interrupts",
  "zfs",
  "qdisc",
  "wifi",
  "pcidevice",
  "sysctl",
  "cpu_vulnerabilities",
  "dmmultipath",
] as const;

/**
 * Families whose values (and for some, labels) vary run to run; the fixture README lists them as
 * left out of node_exporter's own comparison: their sample lines are absent from e2e-output.txt,
 * only HELP/TYPE remain. Checked for presence (family, type, label names) only.
 */
export const E2E_VARYING =
  /^(go_|node_exporter_build_info|node_scrape_collector_duration_seconds|process_|node_textfile_mtime_seconds|node_time_(zone|seconds)|node_network_(receive|transmit)_(bytes|packets)_total)/;
