import os from "node:os";
import type { HostPaths } from "../../host/paths.js";
import type { Collector, CollectorDefinition } from "../collector.js";
import { readSysAttribute } from "../host-file.js";
import { gauge, type MetricSink } from "../model.js";

/**
 * node_exporter's uname collector (collector/uname_linux.go): the uname(2) fields. Node's os
 * module makes the same system calls (no subprocess); the NIS domain name, which it lacks, is
 * read from /proc/sys/kernel/domainname, which holds the same UTS-namespace value.
 */

const info = gauge("node_uname_info", "Labeled system information as provided by the uname system call.", [
  "sysname",
  "release",
  "version",
  "machine",
  "nodename",
  "domainname",
]);

export interface Uname {
  sysname: string;
  release: string;
  version: string;
  machine: string;
  nodename: string;
  domainname: string;
}

/** Reads the uname fields; the domain name is "" when /proc/sys/kernel/domainname is unreadable. */
export function readUname(paths: HostPaths): Uname {
  return {
    sysname: os.type(),
    release: os.release(),
    version: os.version(),
    machine: os.machine(),
    nodename: os.hostname(),
    domainname: readSysAttribute(paths.proc("sys", "kernel", "domainname")) ?? "",
  };
}

class UnameCollector implements Collector {
  readonly name = "uname";

  constructor(private readonly paths: HostPaths) {}

  update(out: MetricSink): void {
    const u = readUname(this.paths);
    out.add(info, 1, u.sysname, u.release, u.version, u.machine, u.nodename, u.domainname);
  }
}

export const collector: CollectorDefinition = {
  name: "uname",
  defaultEnabled: true,
  create({ paths }) {
    return new UnameCollector(paths);
  },
};
