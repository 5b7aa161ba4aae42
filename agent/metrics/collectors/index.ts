import type { CollectorDefinition } from "../collector.js";
import { collector as arp } from "./arp.js";
import { collector as bcache } from "./bcache.js";
import { collector as bcachefs } from "./bcachefs.js";
import { collector as bonding } from "./bonding.js";
import { collector as btrfs } from "./btrfs.js";
import { collector as buddyinfo } from "./buddyinfo.js";
import { collector as cgroups } from "./cgroups.js";
import { collector as conntrack } from "./conntrack.js";
import { collector as cpuVulnerabilities } from "./cpu-vulnerabilities.js";
import { collector as cpu } from "./cpu.js";
import { collector as cpufreq } from "./cpufreq.js";
import { collector as diskstats } from "./diskstats.js";
import { collector as dmi } from "./dmi.js";
import { collector as dmmultipath } from "./dmmultipath.js";
import { collector as drbd } from "./drbd.js";
import { collector as edac } from "./edac.js";
import { collector as entropy } from "./entropy.js";
import { collector as fibrechannel } from "./fibrechannel.js";
import { collector as filefd } from "./filefd.js";
import { collector as filesystem } from "./filesystem.js";
import { collector as gpu } from "./gpu/collector.js";
import { collector as hwmon } from "./hwmon.js";
import { collector as infiniband } from "./infiniband.js";
import { collector as interrupts } from "./interrupts.js";
import { collector as ipvs } from "./ipvs.js";
import { collector as kernelHung } from "./kernel-hung.js";
import { collector as ksmd } from "./ksmd.js";
import { collector as lnstat } from "./lnstat.js";
import { collector as loadavg } from "./loadavg.js";
import { collector as mdadm } from "./mdadm.js";
import { collector as meminfoNuma } from "./meminfo-numa.js";
import { collector as meminfo } from "./meminfo.js";
import { collector as mountstats } from "./mountstats.js";
import { collector as netclass } from "./netclass.js";
import { collector as netdev } from "./netdev.js";
import { collector as netstat } from "./netstat.js";
import { collector as nfs } from "./nfs.js";
import { collector as nfsd } from "./nfsd.js";
import { collector as nvme } from "./nvme.js";
import { collector as os } from "./os.js";
import { collector as pcidevice } from "./pcidevice.js";
import { collector as powersupplyclass } from "./powersupplyclass.js";
import { collector as pressure } from "./pressure.js";
import { collector as processes } from "./processes.js";
import { collector as qdisc } from "./qdisc.js";
import { collector as rapl } from "./rapl.js";
import { collector as schedstat } from "./schedstat.js";
import { collector as selinux } from "./selinux.js";
import { collector as slabinfo } from "./slabinfo.js";
import { collector as sockstat } from "./sockstat.js";
import { collector as softirqs } from "./softirqs.js";
import { collector as softnet } from "./softnet.js";
import { collector as stat } from "./stat.js";
import { collector as sysctl } from "./sysctl.js";
import { collector as tapestats } from "./tapestats.js";
import { collector as textfile } from "./textfile.js";
import { collector as thermalZone } from "./thermal-zone.js";
import { collector as time } from "./time.js";
import { collector as timex } from "./timex.js";
import { collector as udpQueues } from "./udp-queues.js";
import { collector as uname } from "./uname.js";
import { collector as vmstat } from "./vmstat.js";
import { collector as watchdog } from "./watchdog.js";
import { collector as wifi } from "./wifi.js";
import { collector as xfrm } from "./xfrm.js";
import { collector as xfs } from "./xfs.js";
import { collector as zfs } from "./zfs.js";
import { collector as zoneinfo } from "./zoneinfo.js";

/** Every collector nodetap has, by node_exporter name. */
export const COLLECTORS: readonly CollectorDefinition[] = [
  arp,
  bcache,
  bcachefs,
  bonding,
  btrfs,
  buddyinfo,
  cgroups,
  conntrack,
  cpu,
  cpufreq,
  cpuVulnerabilities,
  diskstats,
  dmi,
  dmmultipath,
  drbd,
  edac,
  entropy,
  fibrechannel,
  filefd,
  filesystem,
  gpu,
  hwmon,
  infiniband,
  interrupts,
  ipvs,
  kernelHung,
  ksmd,
  lnstat,
  loadavg,
  mdadm,
  meminfo,
  meminfoNuma,
  mountstats,
  netclass,
  netdev,
  netstat,
  nfs,
  nfsd,
  nvme,
  os,
  pcidevice,
  powersupplyclass,
  pressure,
  processes,
  qdisc,
  rapl,
  schedstat,
  selinux,
  slabinfo,
  sockstat,
  softirqs,
  softnet,
  stat,
  sysctl,
  tapestats,
  textfile,
  thermalZone,
  time,
  timex,
  udpQueues,
  uname,
  vmstat,
  watchdog,
  wifi,
  xfrm,
  xfs,
  zfs,
  zoneinfo,
];
