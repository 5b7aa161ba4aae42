import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import { listDir } from "../../host/read.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { readSysAttribute } from "../host-file.js";
import { gauge, type MetricSink } from "../model.js";
import { abbreviationAt, parsePosixTz, tzifFooter, type PosixTz } from "../parsers/posix-tz.js";
import { splitFields } from "../parsers/text.js";

/**
 * node_exporter's time collector (collector/time.go, time_linux.go): the wall clock, the time
 * zone offset, and the kernel's clock sources from /sys/devices/system/clocksource.
 */

const timeSeconds = gauge("node_time_seconds", "System time in seconds since epoch (1970).");
const zoneOffsetSeconds = gauge("node_time_zone_offset_seconds", "System time zone offset in seconds.", ["time_zone"]);
const clocksourceAvailable = gauge(
  "node_time_clocksource_available_info",
  "Available clocksources read from '/sys/devices/system/clocksource'.",
  ["device", "clocksource"],
);
const clocksourceCurrent = gauge("node_time_clocksource_current_info", "Current clocksource read from '/sys/devices/system/clocksource'.", [
  "device",
  "clocksource",
]);

const ZONEINFO_DIRS = ["/usr/share/zoneinfo/", "/usr/share/lib/zoneinfo/", "/usr/lib/locale/TZ/", "/etc/zoneinfo/"];

/**
 * The zone rule of this process's local time, found as Go finds time.Local: $TZ ("" is UTC) or
 * /etc/localtime. This is the agent's own zone, like node_exporter's, not a host file: Node's
 * Date uses the same source, so the offset and the name agree.
 */
export function loadLocalZone(env: NodeJS.ProcessEnv = process.env): PosixTz | "UTC" | undefined {
  const tz = env.TZ;
  let candidates = ["/etc/localtime"];
  if (tz !== undefined) {
    const name = tz.startsWith(":") ? tz.slice(1) : tz;
    if (name === "" || name === "UTC") return "UTC";
    candidates = path.isAbsolute(name) ? [name] : ZONEINFO_DIRS.map((dir) => dir + name);
  }
  for (const file of candidates) {
    try {
      const rule = tzifFooter(fs.readFileSync(file));
      if (rule !== undefined) return parsePosixTz(rule);
    } catch {
      // try the next location
    }
  }
  return undefined;
}

/** Go's zone name for the current offset; falls back to the Intl short name ("GMT+1") without zone data. */
export function zoneName(zone: PosixTz | "UTC" | undefined, offsetSeconds: number, now: Date): string {
  if (zone === "UTC") return "UTC";
  if (zone !== undefined) return abbreviationAt(zone, offsetSeconds);
  const parts = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(now);
  return parts.find((p) => p.type === "timeZoneName")?.value ?? "UTC";
}

export interface Clocksource {
  /** The clocksourceN directory's position in sorted order, node_exporter's "device" label. */
  device: string;
  available: string[];
  current: string;
}

/** Reads every clocksourceN directory; CollectorError when one lacks its attributes. */
export function readClocksources(dir: string): Clocksource[] {
  const names = listDir(dir).filter((n) => /^clocksource[0-9]/.test(n));
  return names.map((name, i) => {
    const available = readSysAttribute(path.join(dir, name, "available_clocksource"));
    const current = readSysAttribute(path.join(dir, name, "current_clocksource"));
    if (available === undefined || current === undefined) {
      throw new CollectorError(`${path.join(dir, name)}: cannot read available_clocksource or current_clocksource`);
    }
    return { device: String(i), available: splitFields(available), current };
  });
}

class TimeCollector implements Collector {
  readonly name = "time";
  private readonly zone: PosixTz | "UTC" | undefined;

  constructor(
    private readonly paths: HostPaths,
    logger: Logger,
  ) {
    this.zone = loadLocalZone();
    if (this.zone === undefined) logger.debug("no zoneinfo rule for the local time zone; using the Intl zone name");
  }

  update(out: MetricSink): void {
    const now = new Date();
    const offsetSeconds = -now.getTimezoneOffset() * 60;
    out.add(timeSeconds, now.getTime() / 1000);
    out.add(zoneOffsetSeconds, offsetSeconds, zoneName(this.zone, offsetSeconds, now));
    for (const source of readClocksources(this.paths.sys("devices", "system", "clocksource"))) {
      for (const name of source.available) out.add(clocksourceAvailable, 1, source.device, name);
      out.add(clocksourceCurrent, 1, source.device, source.current);
    }
  }
}

export const collector: CollectorDefinition = {
  name: "time",
  defaultEnabled: true,
  create({ paths, logger }) {
    return new TimeCollector(paths, logger);
  },
};
