/**
 * Every collector name node_exporter 1.12 knows on Linux. `--no-collector.<name>` for one that
 * nodetap lacks is accepted (there is nothing to disable), so charts written for node_exporter
 * keep working; enabling one that nodetap lacks is an error rather than a silent no-op.
 */
export const NODE_EXPORTER_COLLECTORS = new Set([
  "arp", "bcache", "bonding", "btrfs", "buddyinfo", "cgroups", "conntrack", "cpu", "cpufreq", "cpu_vulnerabilities",
  "diskstats", "dmi", "drbd", "drm", "edac", "entropy", "ethtool", "fibrechannel", "filefd", "filesystem", "hwmon",
  "infiniband", "interrupts", "ipvs", "kernel_hung", "ksmd", "lnstat", "loadavg", "logind", "mdadm", "meminfo",
  "meminfo_numa", "mountstats", "netclass", "netdev", "netstat", "network_route", "nfs", "nfsd", "nvme", "os",
  "pcidevice", "perf", "powersupplyclass", "pressure", "processes", "qdisc", "rapl", "runit", "schedstat", "selinux",
  "slabinfo", "sockstat", "softirqs", "softnet", "stat", "supervisord", "swap", "sysctl", "systemd", "tapestats",
  "textfile", "thermal_zone", "time", "timex", "udp_queues", "uname", "vmstat", "watchdog", "wifi", "xfrm", "xfs", "zfs",
  "zoneinfo",
]);
