import { f, type Infer } from "../schema.js";

/** Enable switch for a collector, settable with node_exporter's --collector.<name> / --no-collector.<name>. */
function enabled(name: string, defaultOn: boolean, what: string) {
  return f.bool(defaultOn, `Enable the ${name} collector (${what}).`, { flags: [`collector.${name}`] });
}

// Defaults are node_exporter 1.12's, so a chart that passes node_exporter's flags gets the same output.
export const metricsSchema = {
  collectorTimeout: f.duration(10, "Per-collector time limit in a scrape; a collector past it reports success 0 for that scrape.", {
    flags: ["collector.timeout"],
    min: 0.001,
  }),
  disableDefaults: f.bool(false, "Turn off every collector not explicitly enabled (node_exporter's --collector.disable-defaults).", {
    flags: ["collector.disable-defaults"],
  }),
  disableExporterMetrics: f.bool(
    false,
    "Leave out the process_*/nodejs_* runtime metrics and nodetap_build_info (like node_exporter's --web.disable-exporter-metrics).",
    {
      flags: ["web.disable-exporter-metrics"],
    },
  ),
  collectors: {
    arp: {
      enabled: enabled("arp", true, "ARP table entries per device, over rtnetlink or from /proc/net/arp"),
      deviceInclude: f.regex("", "Regexp of arp devices to include (mutually exclusive with deviceExclude).", {
        flags: ["collector.arp.device-include"],
      }),
      deviceExclude: f.regex("", "Regexp of arp devices to exclude (mutually exclusive with deviceInclude).", {
        flags: ["collector.arp.device-exclude"],
      }),
      netlink: f.bool(
        true,
        "Read the neighbour table over rtnetlink (through the neigh.node native addon), which adds node_arp_states; false reads /proc/net/arp. Without the addon /proc/net/arp is read and no states are served.",
        { flags: ["collector.arp.netlink"] },
      ),
    },
    bcache: {
      enabled: enabled("bcache", true, "bcache statistics from /sys/fs/bcache"),
      priorityStats: f.bool(false, "Expose expensive priority stats.", { flags: ["collector.bcache.priorityStats"] }),
    },
    bcachefs: { enabled: enabled("bcachefs", true, "bcachefs statistics from /sys/fs/bcachefs") },
    bonding: { enabled: enabled("bonding", true, "bonding interface slaves from /sys/class/net/*/bonding") },
    btrfs: { enabled: enabled("btrfs", true, "Btrfs filesystem statistics from /sys/fs/btrfs") },
    buddyinfo: { enabled: enabled("buddyinfo", false, "free memory block counts per order from /proc/buddyinfo") },
    cgroups: { enabled: enabled("cgroups", false, "cgroup controller summary from /proc/cgroups") },
    conntrack: { enabled: enabled("conntrack", true, "netfilter conntrack table usage") },
    cpu: {
      enabled: enabled("cpu", true, "CPU time per mode from /proc/stat"),
      guest: f.bool(true, "Enable node_cpu_guest_seconds_total.", { flags: ["collector.cpu.guest"] }),
      info: f.bool(false, "Enable node_cpu_info and the flags/bugs info metrics from /proc/cpuinfo.", { flags: ["collector.cpu.info"] }),
      infoFlagsInclude: f.regex("", "Regexp of /proc/cpuinfo flags to expose as node_cpu_flag_info (needs info).", {
        flags: ["collector.cpu.info.flags-include"],
      }),
      infoBugsInclude: f.regex("", "Regexp of /proc/cpuinfo bugs to expose as node_cpu_bug_info (needs info).", {
        flags: ["collector.cpu.info.bugs-include"],
      }),
    },
    cpufreq: { enabled: enabled("cpufreq", true, "CPU frequency scaling from /sys/devices/system/cpu/cpu*/cpufreq") },
    cpuVulnerabilities: {
      enabled: enabled(
        "cpu_vulnerabilities",
        false,
        "CPU vulnerability and mitigation states from /sys/devices/system/cpu/vulnerabilities",
      ),
    },
    diskstats: {
      enabled: enabled("diskstats", true, "block device I/O from /proc/diskstats, plus udev-derived node_disk_info"),
      deviceExclude: f.regex("^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$", "Regexp of diskstats devices to exclude.", {
        flags: ["collector.diskstats.device-exclude"],
      }),
      deviceInclude: f.regex("", "Regexp of diskstats devices to include (mutually exclusive with deviceExclude when set).", {
        flags: ["collector.diskstats.device-include"],
      }),
    },
    dmi: { enabled: enabled("dmi", true, "DMI/SMBIOS hardware identification from /sys/class/dmi/id") },
    dmmultipath: { enabled: enabled("dmmultipath", true, "device-mapper multipath devices and their path states from /sys/block/dm-*") },
    drbd: { enabled: enabled("drbd", false, "DRBD device statistics from /proc/drbd") },
    edac: { enabled: enabled("edac", true, "memory error counts from /sys/devices/system/edac") },
    entropy: { enabled: enabled("entropy", true, "available entropy from /proc/sys/kernel/random") },
    fibrechannel: { enabled: enabled("fibrechannel", true, "Fibre Channel host information and statistics from /sys/class/fc_host") },
    filefd: { enabled: enabled("filefd", true, "file descriptor usage from /proc/sys/fs/file-nr") },
    filesystem: {
      enabled: enabled("filesystem", true, "size and free space of mounted filesystems"),
      mountPointsExclude: f.regex(
        "^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)",
        "Regexp of mount points to exclude.",
        { flags: ["collector.filesystem.mount-points-exclude", "collector.filesystem.ignored-mount-points"] },
      ),
      mountPointsInclude: f.regex("", "Regexp of mount points to include (mutually exclusive with mountPointsExclude when set).", {
        flags: ["collector.filesystem.mount-points-include"],
      }),
      fsTypesExclude: f.regex(
        "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$",
        "Regexp of filesystem types to exclude.",
        { flags: ["collector.filesystem.fs-types-exclude", "collector.filesystem.ignored-fs-types"] },
      ),
      fsTypesInclude: f.regex("", "Regexp of filesystem types to include (mutually exclusive with fsTypesExclude when set).", {
        flags: ["collector.filesystem.fs-types-include"],
      }),
      mountTimeout: f.duration(
        5,
        "How long to wait for a mount's statfs before marking it stuck (device_error 1) and not asking it again until it answers.",
        {
          flags: ["collector.filesystem.mount-timeout"],
          min: 0.001,
        },
      ),
      mainThreadStatfsDirs: f.stringList(
        ["/var/lib/kubelet/pods"],
        "Host directories under which tmpfs and ramfs mounts (kubelet's secret, projected and memory emptyDir volumes) are stat'ed on the main thread instead of the thread pool, which saves a pool round trip per mount. Applies only to a directory that non-root users cannot enter (checked, with its parents, every minute; POSIX ACLs are not read, so on nodes where an ACL lets a non-root user into it, turn this off) and to mounts reached through local filesystems only. An empty list (in the config file) turns it off.",
        { flags: ["collector.filesystem.main-thread-statfs-dir"] },
      ),
      statWorkers: f.int(
        4,
        "Most statfs calls run at the same time, in Node's thread pool; never more than half the pool (UV_THREADPOOL_SIZE, default 4), so hung mounts leave the rest to the log pipeline.",
        {
          flags: ["collector.filesystem.stat-workers"],
          min: 1,
          max: 64,
        },
      ),
    },
    gpu: {
      enabled: enabled(
        "gpu",
        true,
        "NVIDIA GPU metrics with dcgm-exporter's names through NVML; turns itself off, with one log line, on nodes without an NVIDIA driver",
      ),
      nvmlLibrary: f.string(
        "",
        "The NVIDIA driver's NVML library to load; empty means libnvidia-ml.so.1 through the dynamic linker (the NVIDIA container runtime puts it there), then the copies under the host root (/usr/lib/x86_64-linux-gnu, /usr/lib64, /run/nvidia/driver, ...).",
        { flags: ["collector.gpu.nvml-library"] },
      ),
      nativeAddon: f.string(
        "",
        "Path of the nvml.node native addon; empty means nvml.node next to the executable, then build/native/nvml.node in nodetap's package (npm run build:native).",
        { flags: ["collector.gpu.native-addon"] },
      ),
      timeout: f.duration(
        5,
        "Time limit for NVML's answers in a scrape; a GPU past it reports success 0, and no new NVML call starts until the stuck one returns.",
        {
          flags: ["collector.gpu.timeout"],
          min: 0.01,
        },
      ),
      podResourcesSocket: f.string(
        "/var/lib/kubelet/pod-resources/kubelet.sock",
        "The kubelet's pod-resources gRPC socket (a path on the host, read under the host root), for the pod, namespace and container labels of GPUs a pod holds; empty turns pod labels off.",
        { flags: ["collector.gpu.pod-resources-socket"] },
      ),
      podResourcesTimeout: f.duration(
        1,
        "Time limit for the kubelet's pod-resources answer; past it GPU series go without pod labels for that scrape.",
        {
          flags: ["collector.gpu.pod-resources-timeout"],
          min: 0.01,
        },
      ),
    },
    hwmon: {
      enabled: enabled("hwmon", true, "hardware sensors from /sys/class/hwmon"),
      chipInclude: f.regex("", "Regexp of hwmon chip to include.", { flags: ["collector.hwmon.chip-include"] }),
      chipExclude: f.regex("", "Regexp of hwmon chip to exclude.", { flags: ["collector.hwmon.chip-exclude"] }),
      sensorInclude: f.regex("", "Regexp of hwmon sensor (chip;sensor) to include.", { flags: ["collector.hwmon.sensor-include"] }),
      sensorExclude: f.regex("", "Regexp of hwmon sensor (chip;sensor) to exclude.", { flags: ["collector.hwmon.sensor-exclude"] }),
    },
    infiniband: { enabled: enabled("infiniband", true, "InfiniBand port state and counters from /sys/class/infiniband") },
    interrupts: {
      enabled: enabled("interrupts", false, "interrupt counts per IRQ and CPU from /proc/interrupts"),
      nameInclude: f.regex("", "Regexp of interrupts name to include (matched against <type>;<info>;<devices>).", {
        flags: ["collector.interrupts.name-include"],
      }),
      nameExclude: f.regex("", "Regexp of interrupts name to exclude (matched against <type>;<info>;<devices>).", {
        flags: ["collector.interrupts.name-exclude"],
      }),
      includeZeros: f.bool(true, "Include interrupts that have a zero value.", { flags: ["collector.interrupts.include-zeros"] }),
    },
    ipvs: {
      enabled: enabled("ipvs", true, "IPVS totals and real server connections from /proc/net/ip_vs_stats and /proc/net/ip_vs"),
      backendLabels: f.string(
        "local_address,local_port,remote_address,remote_port,proto,local_mark",
        "Comma separated list for IPVS backend stats labels (of local_address, local_port, remote_address, remote_port, proto, local_mark; backends with the same values are summed; empty for none).",
        { flags: ["collector.ipvs.backend-labels"] },
      ),
    },
    kernelHung: { enabled: enabled("kernel_hung", true, "hung tasks detected since boot from /proc/sys/kernel/hung_task_detect_count") },
    ksmd: { enabled: enabled("ksmd", false, "Kernel Samepage Merging statistics from /sys/kernel/mm/ksm") },
    lnstat: { enabled: enabled("lnstat", false, "network cache statistics per CPU from /proc/net/stat/*") },
    loadavg: { enabled: enabled("loadavg", true, "load averages from /proc/loadavg") },
    mdadm: { enabled: enabled("mdadm", true, "software RAID state from /proc/mdstat") },
    meminfo: { enabled: enabled("meminfo", true, "memory statistics from /proc/meminfo") },
    meminfoNuma: {
      enabled: enabled("meminfo_numa", false, "per-NUMA-node memory statistics from /sys/devices/system/node/node*/{meminfo,numastat}"),
    },
    mountstats: { enabled: enabled("mountstats", false, "NFS client statistics per mount from /proc/self/mountstats") },
    netclass: {
      enabled: enabled("netclass", true, "network interface attributes from /sys/class/net"),
      ignoredDevices: f.regex("^$", "Regexp of net devices to ignore for netclass collector.", {
        flags: ["collector.netclass.ignored-devices"],
      }),
      ignoreInvalidSpeed: f.bool(false, "Ignore devices where the speed is invalid (the speed metric is left out).", {
        flags: ["collector.netclass.ignore-invalid-speed"],
      }),
    },
    netdev: {
      enabled: enabled("netdev", true, "network interface counters from /proc/net/dev"),
      deviceInclude: f.regex("", "Regexp of net devices to include (mutually exclusive with deviceExclude).", {
        flags: ["collector.netdev.device-include", "collector.netdev.device-whitelist"],
      }),
      deviceExclude: f.regex("", "Regexp of net devices to exclude (mutually exclusive with deviceInclude).", {
        flags: ["collector.netdev.device-exclude", "collector.netdev.device-blacklist"],
      }),
      addressInfo: f.bool(false, "Collect address-info for every device (node_network_address_info).", {
        flags: ["collector.netdev.address-info"],
      }),
      enableDetailedMetrics: f.bool(false, "Use the detailed per-error-kind metrics instead of the summed ones.", {
        flags: ["collector.netdev.enable-detailed-metrics"],
      }),
    },
    netstat: {
      enabled: enabled("netstat", true, "network statistics from /proc/net/{netstat,snmp,snmp6}"),
      fields: f.regex(
        "^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$",
        "Regexp of fields to return for netstat collector.",
        { flags: ["collector.netstat.fields"] },
      ),
    },
    nfs: { enabled: enabled("nfs", true, "NFS client RPC statistics from /proc/net/rpc/nfs") },
    nfsd: { enabled: enabled("nfsd", true, "NFS server statistics from /proc/net/rpc/nfsd") },
    nvme: { enabled: enabled("nvme", true, "NVMe controller and namespace information from /sys/class/nvme") },
    os: { enabled: enabled("os", true, "OS release information from /etc/os-release") },
    pcidevice: {
      enabled: enabled("pcidevice", false, "PCI device identity, link speed and width, power state and SR-IOV from /sys/bus/pci/devices"),
      names: f.bool(
        false,
        "Enable PCI device name resolution (requires pci.ids file): adds vendor_name, device_name, subsystem_vendor_name, subsystem_device_name and class_name labels to node_pcidevice_info.",
        { flags: ["collector.pcidevice.names"] },
      ),
      idsFile: f.string(
        "",
        "Path to pci.ids file to use for PCI device identification; empty tries /usr/share/misc/pci.ids and /usr/share/hwdata/pci.ids on the host (under the host root), then in nodetap's own filesystem.",
        { flags: ["collector.pcidevice.idsfile"] },
      ),
    },
    powersupplyclass: {
      enabled: enabled("powersupplyclass", true, "batteries and power supplies from /sys/class/power_supply"),
      ignoredSupplies: f.regex("^$", "Regexp of power supplies to ignore for powersupplyclass collector.", {
        flags: ["collector.powersupply.ignored-supplies"],
      }),
    },
    pressure: { enabled: enabled("pressure", true, "pressure stall information from /proc/pressure") },
    processes: { enabled: enabled("processes", false, "process and thread counts by state, and PID/thread limits, from /proc") },
    qdisc: {
      enabled: enabled(
        "qdisc",
        false,
        "root queuing discipline statistics per network device; node_exporter reads them over rtnetlink (TC), which nodetap does not read yet, so only the recorded answers of the fixtures option are served",
      ),
      fixtures: f.string(
        "",
        "Directory of node_exporter's recorded qdisc answers (results.json), for end-to-end tests. Empty means the live host, whose qdisc statistics need rtnetlink (TC) messages that nodetap does not read yet: the collector then emits nothing and says so once in the log.",
        { flags: ["collector.qdisc.fixtures"] },
      ),
      deviceInclude: f.regex("", "Regexp of qdisc devices to include (mutually exclusive with deviceExclude).", {
        flags: ["collector.qdisc.device-include", "collector.qdisk.device-include"],
      }),
      deviceExclude: f.regex("", "Regexp of qdisc devices to exclude (mutually exclusive with deviceInclude).", {
        flags: ["collector.qdisc.device-exclude", "collector.qdisk.device-exclude"],
      }),
    },
    rapl: {
      enabled: enabled("rapl", true, "RAPL energy counters from /sys/class/powercap"),
      enableZoneLabel: f.bool(false, "One node_rapl_joules_total family with a rapl_zone label instead of a family per zone.", {
        flags: ["collector.rapl.enable-zone-label"],
      }),
    },
    schedstat: { enabled: enabled("schedstat", true, "scheduler statistics from /proc/schedstat") },
    selinux: { enabled: enabled("selinux", true, "SELinux status from selinuxfs and /etc/selinux/config") },
    slabinfo: {
      enabled: enabled("slabinfo", false, "kernel slab cache statistics from /proc/slabinfo (readable by root only)"),
      slabsInclude: f.regex(".*", "Regexp of slabs to include in slabinfo collector.", { flags: ["collector.slabinfo.slabs-include"] }),
      slabsExclude: f.regex("", "Regexp of slabs to exclude in slabinfo collector.", { flags: ["collector.slabinfo.slabs-exclude"] }),
    },
    sockstat: { enabled: enabled("sockstat", true, "socket statistics from /proc/net/sockstat{,6}") },
    softirqs: { enabled: enabled("softirqs", false, "softirq counts per vector and CPU from /proc/softirqs") },
    softnet: { enabled: enabled("softnet", true, "softnet statistics from /proc/net/softnet_stat") },
    stat: {
      enabled: enabled("stat", true, "kernel statistics from /proc/stat"),
      softirq: f.bool(false, "Export softirq calls per vector (node_softirqs_total).", { flags: ["collector.stat.softirq"] }),
    },
    sysctl: {
      enabled: enabled("sysctl", false, "values of chosen sysctls from /proc/sys"),
      include: f.stringList(
        [],
        'Select sysctl metrics to include: "name" (node_sysctl_<name>, one series per value with an index label when there are several) or "name:key1,key2,..." (one node_sysctl_<name>_<key> per value). The flag may be repeated; in an environment variable items are separated by commas, so give the ":keys" form as a flag or in the config file.',
        { flags: ["collector.sysctl.include"] },
      ),
      includeInfo: f.stringList(
        [],
        "Select sysctl metrics to include as info metrics (node_sysctl_info, the value as a label). The flag may be repeated.",
        { flags: ["collector.sysctl.include-info"] },
      ),
    },
    tapestats: {
      enabled: enabled("tapestats", true, "SCSI tape drive statistics from /sys/class/scsi_tape"),
      ignoredDevices: f.regex("^$", "Regexp of devices to ignore for tapestats.", { flags: ["collector.tapestats.ignored-devices"] }),
    },
    textfile: {
      enabled: enabled("textfile", true, "metrics from *.prom files in a directory"),
      directory: f.stringList([], "Directories to read text files with metrics from (node_exporter accepts the flag more than once).", {
        flags: ["collector.textfile.directory"],
      }),
    },
    thermalZone: { enabled: enabled("thermal_zone", true, "thermal zone temperatures from /sys/class/thermal") },
    time: { enabled: enabled("time", true, "the current system time and clock sources") },
    timex: {
      enabled: enabled("timex", true, "the kernel clock's synchronisation state from adjtimex(2), through a native addon"),
      nativeAddon: f.string(
        "",
        "Path of the timex.node native addon the timex collector calls adjtimex(2) with; empty means timex.node next to the executable, then build/native/timex.node in nodetap's package (npm run build:native).",
        { flags: ["collector.timex.native-addon"] },
      ),
    },
    udpQueues: { enabled: enabled("udp_queues", true, "UDP queue lengths from /proc/net/udp{,6}") },
    uname: { enabled: enabled("uname", true, "system information as provided by uname") },
    vmstat: {
      enabled: enabled("vmstat", true, "virtual memory statistics from /proc/vmstat"),
      fields: f.regex("^(oom_kill|pgpg|pswp|pg.*fault).*", "Regexp of fields to return for vmstat collector.", {
        flags: ["collector.vmstat.fields"],
      }),
    },
    watchdog: { enabled: enabled("watchdog", true, "watchdog devices from /sys/class/watchdog") },
    wifi: {
      enabled: enabled(
        "wifi",
        false,
        "WiFi interface and station statistics; node_exporter reads them over nl80211 netlink, which nodetap does not read yet, so only the recorded answers of the fixtures option are served",
      ),
      fixtures: f.string(
        "",
        "Directory of node_exporter's recorded wifi answers (interfaces.json, <interface>/bss.json, <interface>/stationinfo.json), for end-to-end tests. Empty means the live host, whose WiFi statistics need nl80211 netlink messages that nodetap does not read yet: the collector then emits nothing and says so once in the log.",
        { flags: ["collector.wifi.fixtures"] },
      ),
    },
    xfrm: { enabled: enabled("xfrm", false, "IPsec transformation error counters from /proc/net/xfrm_stat") },
    xfs: { enabled: enabled("xfs", true, "XFS filesystem statistics from /sys/fs/xfs") },
    zfs: { enabled: enabled("zfs", true, "ZFS kstats (ARC, ZIL, pools, datasets) from /proc/spl/kstat/zfs") },
    zoneinfo: { enabled: enabled("zoneinfo", false, "per-zone memory statistics from /proc/zoneinfo") },
  },
};

export type MetricsConfig = Infer<typeof metricsSchema>;
export type CollectorsConfig = MetricsConfig["collectors"];
