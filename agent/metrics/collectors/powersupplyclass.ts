import path from "node:path";
import { compileGoRegex } from "../../config/values.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { gauge, type MetricDesc, type MetricSink } from "../model.js";
import { parseIntAutoBase } from "../parsers/auto-base-int.js";
import { isNotSupported, listDir, readClassAttribute, readError } from "../sysfs-class.js";

/**
 * node_exporter's powersupplyclass collector (collector/powersupplyclass_linux.go over procfs's
 * sysfs.PowerSupplyClass): a gauge per numeric attribute of each /sys/class/power_supply entry
 * (micro-units scaled to base units, deci-degrees to degrees) and node_power_supply_info with the
 * non-empty text attributes as labels, so its label set differs between supplies.
 *
 * As in procfs, every regular file of a supply is read: a missing file, or a read the driver
 * refuses with EOPNOTSUPP or ENODEV, is skipped; any other read error, or a numeric attribute
 * that is not an integer, fails the collector. A missing class directory, or a supply that
 * disappears while it is read, is "no data". Supplies matching
 * --collector.powersupply.ignored-supplies are read (their errors count) but not reported.
 */

/** Numeric attributes node_exporter exports: [sysfs file, metric name suffix, divisor]. */
const EXPORTED: ReadonlyArray<readonly [string, string, number]> = [
  ["authentic", "authentic", 1],
  ["calibrate", "calibrate", 1],
  ["capacity", "capacity", 1],
  ["capacity_alert_max", "capacity_alert_max", 1],
  ["capacity_alert_min", "capacity_alert_min", 1],
  ["cycle_count", "cyclecount", 1],
  ["online", "online", 1],
  ["present", "present", 1],
  ["time_to_empty_now", "time_to_empty_seconds", 1],
  ["time_to_full_now", "time_to_full_seconds", 1],
  // Micro-amperes, micro-volts, micro-watt-hours, micro-ampere-hours and micro-watts.
  ["current_boot", "current_boot", 1e6],
  ["current_max", "current_max", 1e6],
  ["current_now", "current_ampere", 1e6],
  ["energy_empty", "energy_empty", 1e6],
  ["energy_empty_design", "energy_empty_design", 1e6],
  ["energy_full", "energy_full", 1e6],
  ["energy_full_design", "energy_full_design", 1e6],
  ["energy_now", "energy_watthour", 1e6],
  ["voltage_boot", "voltage_boot", 1e6],
  ["voltage_max", "voltage_max", 1e6],
  ["voltage_max_design", "voltage_max_design", 1e6],
  ["voltage_min", "voltage_min", 1e6],
  ["voltage_min_design", "voltage_min_design", 1e6],
  ["voltage_now", "voltage_volt", 1e6],
  ["voltage_ocv", "voltage_ocv", 1e6],
  ["charge_control_limit", "charge_control_limit", 1e6],
  ["charge_control_limit_max", "charge_control_limit_max", 1e6],
  ["charge_counter", "charge_counter", 1e6],
  ["charge_empty", "charge_empty", 1e6],
  ["charge_empty_design", "charge_empty_design", 1e6],
  ["charge_full", "charge_full", 1e6],
  ["charge_full_design", "charge_full_design", 1e6],
  ["charge_now", "charge_ampere", 1e6],
  ["charge_term_current", "charge_term_current", 1e6],
  ["constant_charge_current", "constant_charge_current", 1e6],
  ["constant_charge_current_max", "constant_charge_current_max", 1e6],
  ["constant_charge_voltage", "constant_charge_voltage", 1e6],
  ["constant_charge_voltage_max", "constant_charge_voltage_max", 1e6],
  ["precharge_current", "precharge_current", 1e6],
  ["input_current_limit", "input_current_limit", 1e6],
  ["power_now", "power_watt", 1e6],
  // Tenths of a degree Celsius.
  ["temp", "temp_celsius", 10],
  ["temp_alert_max", "temp_alert_max_celsius", 10],
  ["temp_alert_min", "temp_alert_min_celsius", 10],
  ["temp_ambient", "temp_ambient_celsius", 10],
  ["temp_ambient_max", "temp_ambient_max_celsius", 10],
  ["temp_ambient_min", "temp_ambient_min_celsius", 10],
  ["temp_max", "temp_max_celsius", 10],
  ["temp_min", "temp_min_celsius", 10],
];

/** Numeric attributes procfs parses (so a bad value fails the collector) that node_exporter does not export. */
const PARSED_ONLY = ["charge_avg", "current_avg", "energy_avg", "power_avg", "time_to_empty_avg", "time_to_full_avg", "voltage_avg"];

const NUMERIC_FILES: ReadonlySet<string> = new Set([...EXPORTED.map(([file]) => file), ...PARSED_ONLY]);

/** Text attributes and their info label (the same name; power_supply is the directory name). */
const TEXT_FILES: ReadonlySet<string> = new Set([
  "capacity_level",
  "charge_type",
  "health",
  "manufacturer",
  "model_name",
  "scope",
  "serial_number",
  "status",
  "technology",
  "type",
  "usb_type",
]);

const INFO_NAME = "node_power_supply_info";
const INFO_HELP = "info of /sys/class/power_supply/<power_supply>.";

type Family =
  { readonly kind: "numeric"; readonly file: string; readonly desc: MetricDesc; readonly divisor: number } | { readonly kind: "info" };

/** Every family, in the order node_exporter prints them (sorted by name). */
const FAMILIES: readonly Family[] = [
  ...EXPORTED.map(([file, metric, divisor]): Family => {
    const name = `node_power_supply_${metric}`;
    return {
      kind: "numeric",
      file,
      divisor,
      desc: gauge(name, `${metric} value of /sys/class/power_supply/<power_supply>.`, ["power_supply"]),
    };
  }),
  { kind: "info" } as const,
].sort((a, b) => {
  const [x, y] = [a.kind === "info" ? INFO_NAME : a.desc.name, b.kind === "info" ? INFO_NAME : b.desc.name];
  return x < y ? -1 : x > y ? 1 : 0;
});

export interface PowerSupply {
  readonly name: string;
  /** Numeric attributes as procfs's int64 values. */
  readonly numbers: ReadonlyMap<string, number>;
  /** Text attributes as read (trimmed); empty ones are left out of the info labels. */
  readonly texts: ReadonlyMap<string, string>;
}

/**
 * A supply from its attribute files (name -> trimmed text): numeric attributes parsed like
 * procfs (Go's strconv.ParseInt(text, 0, 64)), a bad one a CollectorError; other files ignored.
 */
export function parsePowerSupply(name: string, files: ReadonlyMap<string, string>): PowerSupply {
  const numbers = new Map<string, number>();
  const texts = new Map<string, string>();
  for (const [file, text] of files) {
    if (TEXT_FILES.has(file)) {
      texts.set(file, text);
    } else if (NUMERIC_FILES.has(file)) {
      const value = parseIntAutoBase(text);
      if (Number.isNaN(value))
        throw new CollectorError(`power supply ${name}: ${file}: expected an integer, got ${JSON.stringify(text.slice(0, 40))}`);
      numbers.set(file, value);
    }
  }
  return { name, numbers, texts };
}

/** The info series' labels (sorted names, as node_exporter prints them) and their values. */
export function powerSupplyInfoLabels(supply: PowerSupply): Array<[string, string]> {
  const labels: Array<[string, string]> = [["power_supply", supply.name]];
  for (const [file, text] of supply.texts) if (text !== "") labels.push([file, text]);
  return labels.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The read errors procfs skips an attribute for: a missing file, and a read(2) failing with
 * EOPNOTSUPP or ENODEV (it matches their Go error text, which only the read's bare errno has).
 */
export function skipsReadError(errno: string, during: "open" | "read"): boolean {
  return errno === "ENOENT" || (during === "read" && (isNotSupported(errno) || errno === "ENODEV"));
}

/** procfs's "not exist" that node_exporter reports as no data; internal to this module. */
class NoData extends Error {}

function readSupply(classDir: string, name: string): PowerSupply {
  const dir = path.join(classDir, name);
  const listing = listDir(dir);
  if (listing.errno !== undefined) {
    if (listing.errno === "ENOENT") throw new NoData();
    throw readError(dir, listing.errno);
  }
  const files = new Map<string, string>();
  for (const entry of listing.entries) {
    if (!entry.isFile()) continue;
    const file = path.join(dir, entry.name);
    const read = readClassAttribute(file);
    if (read.errno === undefined) {
      files.set(entry.name, read.text);
      continue;
    }
    if (!skipsReadError(read.errno, read.during)) throw readError(file, read.errno, read.during);
  }
  return parsePowerSupply(name, files);
}

/** Every supply of /sys/class/power_supply, sorted; undefined where node_exporter reports no data. */
export function readPowerSupplyClass(classDir: string): PowerSupply[] | undefined {
  const listing = listDir(classDir);
  if (listing.errno !== undefined) {
    if (listing.errno === "ENOENT") return undefined;
    throw readError(classDir, listing.errno);
  }
  try {
    return listing.entries.map((entry) => readSupply(classDir, entry.name));
  } catch (err) {
    if (err instanceof NoData) return undefined;
    throw err;
  }
}

/** node_power_supply_info descriptors by label set (at most one per combination of text attributes). */
const infoDescs = new Map<string, MetricDesc>();

export function emitPowerSupplies(out: MetricSink, supplies: readonly PowerSupply[]): void {
  for (const family of FAMILIES) {
    for (const supply of supplies) {
      if (family.kind === "numeric") {
        const value = supply.numbers.get(family.file);
        if (value !== undefined) out.add(family.desc, value / family.divisor, supply.name);
        continue;
      }
      const labels = powerSupplyInfoLabels(supply);
      const names = labels.map(([n]) => n);
      const key = names.join(",");
      let desc = infoDescs.get(key);
      if (desc === undefined) {
        desc = gauge(INFO_NAME, INFO_HELP, names);
        infoDescs.set(key, desc);
      }
      out.add(desc, 1, ...labels.map(([, v]) => v));
    }
  }
}

export const collector: CollectorDefinition = {
  name: "powersupplyclass",
  defaultEnabled: true,
  create({ paths, config }) {
    const ignored = compileGoRegex(config.collectors.powersupplyclass.ignoredSupplies);
    const classDir = paths.sys("class", "power_supply");
    return {
      name: "powersupplyclass",
      update(out) {
        const supplies = readPowerSupplyClass(classDir);
        if (supplies !== undefined)
          emitPowerSupplies(
            out,
            supplies.filter((s) => !ignored.test(s.name)),
          );
      },
    };
  },
};
