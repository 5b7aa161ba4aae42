import { Gauge, type Registry } from "prom-client";
import { keptProcfsDescriptorCount } from "../host/kept-procfs-files.js";
import { keptAttributeDescriptorCount } from "./kept-attribute-dirs.js";

/** nodetap_host_files_kept_open{fs}: the procfs and sysfs files the collectors keep open between scrapes. */
export function registerKeptFilesGauge(registry: Registry): void {
  new Gauge({
    name: "nodetap_host_files_kept_open",
    help: "Host pseudo-files kept open between scrapes and read from offset 0, by filesystem (procfs at most 64, sysfs at most 1024 or a quarter of the open-files limit; past it files are opened per scrape).",
    labelNames: ["fs"],
    registers: [registry],
    collect() {
      this.set({ fs: "procfs" }, keptProcfsDescriptorCount());
      this.set({ fs: "sysfs" }, keptAttributeDescriptorCount());
    },
  });
}
