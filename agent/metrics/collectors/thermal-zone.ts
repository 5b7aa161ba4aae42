import fs from "node:fs";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { gauge } from "../model.js";
import { parseInt64, parseUint } from "../parsers/numbers.js";
import { readSysfsAttribute, type AttributeRead } from "../sysfs-attribute.js";

/**
 * node_exporter's thermal_zone collector: /sys/class/thermal/thermal_zone* temperatures and
 * cooling_device* throttle states, with procfs's rules for which read errors skip a device and
 * which fail the collector.
 */

const zoneTemp = gauge("node_thermal_zone_temp", "Zone temperature in Celsius", ["zone", "type"]);
const coolingCurState = gauge("node_cooling_device_cur_state", "Current throttle state of the cooling device", ["name", "type"]);
const coolingMaxState = gauge("node_cooling_device_max_state", "Maximum throttle state of the cooling device", ["name", "type"]);

export interface ThermalZone {
  readonly type: string;
  /** Degrees Celsius (the file has millidegrees). */
  readonly celsius: number;
}

export interface CoolingDevice {
  readonly type: string;
  readonly curState: number;
  readonly maxState: number;
}

/** The attributes of a thermal_zone directory that procfs reads (mode and passive are optional). */
export interface ThermalZoneReads {
  readonly type: AttributeRead;
  readonly policy: AttributeRead;
  readonly temp: AttributeRead;
  readonly mode: AttributeRead;
  readonly passive: AttributeRead;
}

export interface CoolingDeviceReads {
  readonly type: AttributeRead;
  readonly max_state: AttributeRead;
  readonly cur_state: AttributeRead;
}

const OPTIONAL_ABSENT = new Set(["ENOENT", "EACCES", "EPERM"]);
/** Read errors procfs takes as "this zone has no value now" rather than a failure. */
const SKIPPED_READ_ERRORS = new Set(["ENODATA", "EAGAIN", "EINVAL"]);
const SKIP = Symbol("skip");
const UNSUPPORTED = new Set(["EOPNOTSUPP", "ENOTSUP"]);

/**
 * procfs's parseClassThermalZone and the error filter around it: undefined when the zone is
 * skipped (unreadable attribute), CollectorError when procfs fails the whole collector (a read
 * error other than ENODATA/EAGAIN/EINVAL, or a temp/passive that is not a number).
 */
export function parseThermalZone(zone: string, reads: ThermalZoneReads): ThermalZone | undefined {
  const fatal = (attribute: string, problem: string): never => {
    throw new CollectorError(`thermal zone ${zone}: ${attribute}: ${problem}`);
  };
  /** The trimmed text; undefined for an absent optional attribute; SKIP when the zone is skipped. */
  const value = (attribute: keyof ThermalZoneReads, optional: boolean): string | undefined | typeof SKIP => {
    const read = reads[attribute];
    if (read.errno === undefined) return read.text.trim();
    if (optional && read.during === "open" && OPTIONAL_ABSENT.has(read.errno)) return undefined;
    if (read.during === "open" || SKIPPED_READ_ERRORS.has(read.errno)) return SKIP;
    return fatal(attribute, read.errno);
  };
  const type = value("type", false);
  if (type === SKIP) return undefined;
  if (value("policy", false) === SKIP) return undefined;
  const temp = value("temp", false);
  if (temp === SKIP) return undefined;
  const millidegrees = parseInt64(temp!);
  if (Number.isNaN(millidegrees)) fatal("temp", `expected an integer, got ${JSON.stringify(temp)}`);
  if (value("mode", true) === SKIP) return undefined;
  const passive = value("passive", true);
  if (passive === SKIP) return undefined;
  if (passive !== undefined && Number.isNaN(parseUint(passive)))
    fatal("passive", `expected an unsigned integer, got ${JSON.stringify(passive)}`);
  return { type: type!, celsius: millidegrees / 1000 };
}

/**
 * procfs's parseCoolingDeviceStats with its canIgnoreError: undefined when the device is skipped
 * (missing, permission, EINVAL, EOPNOTSUPP), CollectorError otherwise (including a state that is
 * not an integer; cur_state may be -1).
 */
export function parseCoolingDevice(device: string, reads: CoolingDeviceReads): CoolingDevice | undefined {
  /** The trimmed text, or SKIP; procfs reads (and parses) the attributes in this order and stops at the first error. */
  const value = (attribute: keyof CoolingDeviceReads): string | typeof SKIP => {
    const read = reads[attribute];
    if (read.errno === undefined) return read.text.trim();
    const ignorable = OPTIONAL_ABSENT.has(read.errno) || read.errno === "EINVAL" || (read.during === "read" && UNSUPPORTED.has(read.errno));
    if (ignorable) return SKIP;
    throw new CollectorError(`cooling device ${device}: ${attribute}: ${read.errno}`);
  };
  const state = (attribute: "max_state" | "cur_state"): number | typeof SKIP => {
    const text = value(attribute);
    if (text === SKIP) return SKIP;
    const parsed = parseInt64(text);
    if (Number.isNaN(parsed))
      throw new CollectorError(`cooling device ${device}: ${attribute}: expected an integer, got ${JSON.stringify(text)}`);
    return parsed;
  };
  const type = value("type");
  if (type === SKIP) return undefined;
  const maxState = state("max_state");
  if (maxState === SKIP) return undefined;
  const curState = state("cur_state");
  if (curState === SKIP) return undefined;
  return { type, curState, maxState };
}

/** The entries of /sys/class/thermal; none when it cannot be listed (filepath.Glob ignores I/O errors). */
function listClassThermal(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Entries named prefix + digit + anything, as filepath.Glob("prefix[0-9]*") lists them. */
function numberedEntries(names: string[], prefix: string): string[] {
  return names.filter(
    (n) => n.startsWith(prefix) && n.length > prefix.length && n.charCodeAt(prefix.length) >= 0x30 && n.charCodeAt(prefix.length) <= 0x39,
  );
}

export const collector: CollectorDefinition = {
  name: "thermal_zone",
  defaultEnabled: true,
  create({ paths }) {
    return {
      name: "thermal_zone",
      update(out) {
        const entries = listClassThermal(paths.sys("class/thermal"));
        const zones: Array<[string, ThermalZone]> = [];
        for (const entry of numberedEntries(entries, "thermal_zone")) {
          const dir = paths.sys("class/thermal", entry);
          const read = (attribute: string): AttributeRead => readSysfsAttribute(`${dir}/${attribute}`);
          const zone = parseThermalZone(entry, {
            type: read("type"),
            policy: read("policy"),
            temp: read("temp"),
            mode: read("mode"),
            passive: read("passive"),
          });
          if (zone !== undefined) zones.push([entry.slice("thermal_zone".length), zone]);
        }
        // As in node_exporter, zones are emitted only once all of them were read without a fatal error.
        for (const [name, zone] of zones) out.add(zoneTemp, zone.celsius, name, zone.type);

        const devices: Array<[string, CoolingDevice]> = [];
        for (const entry of numberedEntries(entries, "cooling_device")) {
          const dir = paths.sys("class/thermal", entry);
          const read = (attribute: string): AttributeRead => readSysfsAttribute(`${dir}/${attribute}`);
          const device = parseCoolingDevice(entry, { type: read("type"), max_state: read("max_state"), cur_state: read("cur_state") });
          if (device !== undefined) devices.push([entry.slice("cooling_device".length), device]);
        }
        for (const [name, device] of devices) {
          out.add(coolingCurState, device.curState, name, device.type);
          out.add(coolingMaxState, device.maxState, name, device.type);
        }
      },
    };
  },
};
