import type { Logger } from "pino";
import { DeviceFilter } from "./device-filter.js";

/**
 * Builds the filter for a pair of node_exporter's mutually exclusive --*-exclude / --*-include
 * options. node_exporter drops its default exclude when only the include is set; when both
 * are set explicitly it refuses to start, where nodetap applies both and says so once.
 */
export function excludeIncludeFilter(exclude: string, include: string, defaultExclude: string, what: string, logger: Logger): DeviceFilter {
  if (include !== "" && exclude === defaultExclude) return new DeviceFilter("", include);
  if (include !== "" && exclude !== "") {
    logger.warn(
      { exclude, include },
      `${what}: both exclude and include patterns are set (node_exporter treats them as mutually exclusive); applying both`,
    );
  }
  return new DeviceFilter(exclude, include);
}
