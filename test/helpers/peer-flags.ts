/**
 * Flags that make Debian's node_exporter 1.5.0 and nodetap look at the same devices on a live
 * host, shared by the live comparison test and the benchmark.
 */
import { metricsSchema } from "../../agent/config/sections/metrics.js";

const defaults = metricsSchema.collectors;

/**
 * Given to both: node_exporter 1.12's defaults (nodetap's). node_exporter 1.8.0 added zram to the
 * diskstats default exclude ("[CHANGE] diskstats: Ignore zram devices on linux systems #2898");
 * Debian's 1.5.0 build excludes /run, /mnt and /media from filesystems by default (its startup log
 * prints the "Parsed flag" values; upstream's default has been 1.12's since 1.3.0, "[CHANGE]
 * Exclude filesystems under /run/credentials #2157"), and 1.5 lacks erofs in its fs-types default.
 */
export const SAME_FILTERS = [
  `--collector.diskstats.device-exclude=${defaults.diskstats.deviceExclude.default}`,
  `--collector.filesystem.mount-points-exclude=${defaults.filesystem.mountPointsExclude.default}`,
  `--collector.filesystem.fs-types-exclude=${defaults.filesystem.fsTypesExclude.default}`,
];

/**
 * For node_exporter only: Debian's 1.5.0 build excludes lo from netdev by default ("Parsed flag
 * --collector.netdev.device-exclude flag=^lo$"); 1.12 and nodetap exclude nothing. An empty
 * regexp turns 1.5's filter off.
 */
export const NODE_EXPORTER_ONLY = ["--collector.netdev.device-exclude="];
