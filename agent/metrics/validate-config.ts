import path from "node:path";
import type { ConfigChecker } from "../config/checker.js";
import type { MetricsConfig } from "../config/sections/metrics.js";
import { IPVS_BACKEND_LABELS, parseIpvsLabels } from "./collectors/ipvs.js";

/** Collector options whose values the schema's types cannot check, as the collectors read them at start. */
export function validateMetricsConfig(metrics: MetricsConfig, check: ConfigChecker): void {
  for (const dir of metrics.collectors.filesystem.mainThreadStatfsDirs) {
    if (!path.isAbsolute(dir) || path.normalize(dir) !== dir || (dir.endsWith("/") && dir !== "/"))
      check.add(
        "error",
        "metrics.collectors.filesystem.mainThreadStatfsDirs",
        `${JSON.stringify(dir)} is not an absolute, normalized path (like /var/lib/kubelet/pods)`,
      );
  }
  const ipvs = metrics.collectors.ipvs;
  if (ipvs.enabled) {
    try {
      parseIpvsLabels(ipvs.backendLabels);
    } catch (err) {
      check.add(
        "error",
        "metrics.collectors.ipvs.backendLabels",
        `${(err as Error).message}; allowed: a comma-separated list of ${IPVS_BACKEND_LABELS.join(", ")}, or empty for none`,
      );
    }
  }
}
