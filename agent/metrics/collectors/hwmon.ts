import fs from "node:fs";
import { readdirSync } from "../../host/missing-paths.js";
import path from "node:path";
import { isMissing } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { DeviceFilter } from "../device-filter.js";
import { counter, gauge, type MetricDesc } from "../model.js";
import { parseGoFloat } from "../parsers/go-float.js";
import { KeptAttributeDirectories } from "../kept-attribute-dirs.js";

/**
 * node_exporter's hwmon collector: every chip under /sys/class/hwmon (and its device/ directory),
 * named after its device path, each sensor file `<type><n>_<item>` turned into
 * node_hwmon_<type>_<item>_<unit> with node_exporter's unit conversions. Chips that share a device
 * get the chip's name (or hwmonX) appended, as node_exporter 1.12 does.
 */

const chipNamesDesc = gauge("node_hwmon_chip_names", "Annotation metric for human-readable chip names", ["chip", "chip_name"]);
const sensorLabelDesc = gauge("node_hwmon_sensor_label", "Label for given chip and sensor", ["chip", "sensor", "label"]);
const CHIP_SENSOR = ["chip", "sensor"];

const SENSOR_TYPES = new Set([
  "vrm",
  "beep_enable",
  "update_interval",
  "in",
  "cpu",
  "fan",
  "pwm",
  "temp",
  "curr",
  "power",
  "energy",
  "humidity",
  "intrusion",
  "freq",
]);

/** node_exporter's cleanMetricName: lower case, every character outside [a-z0-9:_] becomes `_`, outer `_` trimmed. */
export function cleanMetricName(name: string): string {
  let out = "";
  for (const ch of name) {
    const code = ch.charCodeAt(0);
    let lower: number;
    if (code < 0x80) lower = code >= 0x41 && code <= 0x5a ? code + 0x20 : code;
    else lower = ch.toLowerCase().charCodeAt(0); // Go lowers rune by rune; only an ASCII result survives
    const keep = (lower >= 0x61 && lower <= 0x7a) || (lower >= 0x30 && lower <= 0x39) || lower === 0x3a || lower === 0x5f;
    out += keep ? String.fromCharCode(lower) : "_";
  }
  let start = 0;
  let end = out.length;
  while (start < end && out.charCodeAt(start) === 0x5f) start++;
  while (end > start && out.charCodeAt(end - 1) === 0x5f) end--;
  return out.slice(start, end);
}

export interface SensorFilename {
  readonly type: string;
  /** The sensor key node_exporter uses: type plus the number without leading zeros (0 when absent). */
  readonly sensor: string;
  readonly property: string;
}

/**
 * node_exporter's explodeSensorFilename, i.e. `^([^0-9]+)([0-9]*)?(_(.+))?$` with Go's
 * leftmost-first preference: the longest non-digit prefix is the type, unless only a shorter
 * one ending before an `_` lets the rest match. undefined when it does not match.
 */
export function explodeSensorFilename(filename: string): SensorFilename | undefined {
  const n = filename.length;
  let typeEnd = 0;
  while (typeEnd < n && !isDigit(filename.charCodeAt(typeEnd))) typeEnd++;
  if (typeEnd === 0) return undefined;
  let idEnd = typeEnd;
  while (idEnd < n && isDigit(filename.charCodeAt(idEnd))) idEnd++;
  if (idEnd === n || (filename.charCodeAt(idEnd) === 0x5f && idEnd + 1 < n && !filename.includes("\n", idEnd))) {
    // strconv.Itoa(strconv.Atoi(id)): no leading zeros, 0 when absent, no match past int64.
    let digitsStart = typeEnd;
    while (digitsStart < idEnd - 1 && filename.charCodeAt(digitsStart) === 0x30) digitsStart++;
    const number = idEnd === typeEnd ? "0" : filename.slice(digitsStart, idEnd);
    if (number.length > 19 || (number.length === 19 && number > "9223372036854775807")) return undefined;
    const type = filename.slice(0, typeEnd);
    return { type, sensor: type + number, property: idEnd === n ? "" : filename.slice(idEnd + 1) };
  }
  // Backtracking: a shorter type ending right before an `_`, with no number.
  for (let k = typeEnd - 1; k >= 1; k--) {
    if (filename.charCodeAt(k) === 0x5f && k + 1 < n && !filename.includes("\n", k)) {
      const type = filename.slice(0, k);
      return { type, sensor: type + "0", property: filename.slice(k + 1) };
    }
  }
  return undefined;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

export interface SensorSample {
  readonly name: string;
  readonly help: string;
  readonly counter?: boolean;
  readonly value: number;
  /** Replaces the sensor label (freq sensors are labelled by their cleaned label text). */
  readonly sensor?: string;
}

/**
 * The samples node_exporter derives from one sensor's files (property -> trimmed content; ""
 * is the bare `<type><n>` file). Values that strconv.ParseFloat rejects are skipped.
 */
export function sensorSamples(sensorType: string, values: ReadonlyMap<string, string>): SensorSample[] {
  const samples: SensorSample[] = [];
  const bare = values.get("");
  if (sensorType === "beep_enable") {
    return [{ name: "node_hwmon_beep_enabled", help: "Hardware beep enabled", value: bare === "1" ? 1 : 0 }];
  }
  if (sensorType === "vrm" || sensorType === "update_interval") {
    const parsed = bare === undefined ? undefined : parseGoFloat(bare);
    if (parsed === undefined) return [];
    if (sensorType === "vrm") return [{ name: "node_hwmon_voltage_regulator_version", help: "Hardware voltage regulator", value: parsed }];
    return [{ name: "node_hwmon_update_interval_seconds", help: "Hardware monitor update interval", value: parsed * 0.001 }];
  }
  const prefix = "node_hwmon_" + sensorType;
  for (const [property, text] of values) {
    if (property === "label") continue;
    let element = property;
    let name = prefix;
    if (element === "input") {
      if (bare !== undefined) name += "_input";
    } else if (element !== "") {
      name += "_" + cleanMetricName(element);
    }
    const value = parseGoFloat(text);
    if (value === undefined) continue;
    const add = (n: string, help: string, v: number, extra?: Partial<SensorSample>): void => {
      samples.push({ name: n, help, value: v, ...extra });
    };

    if (element === "fault" || element === "alarm") add(name, `Hardware sensor ${element} status (${sensorType})`, value);
    else if (element === "beep") add(name + "_enabled", "Hardware monitor sensor has beeping enabled", value);
    else if (sensorType === "in" || sensorType === "cpu") add(name + "_volts", `Hardware monitor for voltage (${element})`, value * 0.001);
    else if (sensorType === "temp" && element !== "type") {
      if (element === "") element = "input";
      add(name + "_celsius", `Hardware monitor for temperature (${element})`, value * 0.001);
    } else if (sensorType === "curr") add(name + "_amps", `Hardware monitor for current (${element})`, value * 0.001);
    else if (sensorType === "energy")
      add(name + "_joule_total", `Hardware monitor for joules used so far (${element})`, value / 1000000.0, { counter: true });
    else if (sensorType === "power" && element === "accuracy")
      add(name, "Hardware monitor power meter accuracy, as a ratio", value / 1000000.0);
    else if (
      sensorType === "power" &&
      (element === "average_interval" || element === "average_interval_min" || element === "average_interval_max")
    ) {
      add(name + "_seconds", `Hardware monitor power usage update interval (${element})`, value * 0.001);
    } else if (sensorType === "power") add(name + "_watt", `Hardware monitor for power usage in watts (${element})`, value / 1000000.0);
    else if (sensorType === "humidity") {
      add(
        name,
        `Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a percentage) (${element})`,
        value / 1000000.0,
      );
    } else if (sensorType === "fan" && (element === "input" || element === "min" || element === "max" || element === "target")) {
      add(name + "_rpm", `Hardware monitor for fan revolutions per minute (${element})`, value);
    } else if (sensorType === "freq" && element === "input") {
      const label = values.get("label");
      if (label !== undefined)
        add(name + "_freq_mhz", "Hardware monitor for GPU frequency in MHz", value / 1000000.0, { sensor: cleanMetricName(label) });
    } else add(name, `Hardware monitor ${sensorType} element ${element}`, value);
  }
  return samples;
}

/** A chip name from its resolved device path: `<parent dir>_<device dir>`, both cleaned. */
export function chipNameFromDevicePath(devicePath: string): string | undefined {
  const trimmed = devicePath.replace(/\/+$/, "");
  const devName = cleanMetricName(path.basename(trimmed));
  const devType = cleanMetricName(path.basename(path.dirname(trimmed)));
  if (devType !== "" && devName !== "") return `${devType}_${devName}`;
  return devName !== "" ? devName : undefined;
}

export interface ChipCandidate {
  /** Name from the device path, else the name file, else the hwmonX directory. */
  readonly base: string;
  /** The cleaned `name` file, when there is one. */
  readonly chipName: string | undefined;
  /** The hwmonX entry name. */
  readonly entry: string;
}

/**
 * node_exporter 1.12's collision rule: chips whose base names are unique keep them; chips sharing
 * a base name get `_<name file>` appended when that tells them apart, else `_<hwmonX>`.
 */
export function disambiguateChipNames(chips: readonly ChipCandidate[]): string[] {
  const baseCount = new Map<string, number>();
  const nameCount = new Map<string, number>();
  for (const c of chips) {
    baseCount.set(c.base, (baseCount.get(c.base) ?? 0) + 1);
    if (c.chipName !== undefined) nameCount.set(`${c.base}\u0000${c.chipName}`, (nameCount.get(`${c.base}\u0000${c.chipName}`) ?? 0) + 1);
  }
  return chips.map((c) => {
    if (baseCount.get(c.base)! === 1) return c.base;
    if (c.chipName !== undefined && nameCount.get(`${c.base}\u0000${c.chipName}`) === 1) return `${c.base}_${c.chipName}`;
    return `${c.base}_${cleanMetricName(c.entry)}`;
  });
}

/** sensor (e.g. temp1) -> its type and property -> file content without surrounding newlines. */
type SensorData = Map<string, { readonly type: string; readonly values: Map<string, string> }>;

/**
 * Adds the sensor files of a chip directory to `data` (later files of a sensor overwrite earlier
 * ones). The directory is listed on every scrape (drivers such as coretemp add sensors to it when
 * a CPU comes online); the files are read through descriptors kept while it is the same directory.
 */
function collectSensorData(dir: string, data: SensorData, kept: KeptAttributeDirectories): void {
  const sensorFiles: Array<{ file: string; parts: SensorFilename }> = [];
  for (const file of fs.readdirSync(dir).sort()) {
    const parts = explodeSensorFilename(file);
    if (parts !== undefined && SENSOR_TYPES.has(parts.type)) sensorFiles.push({ file, parts });
  }
  // Listed anew every scrape; descriptors of files no longer listed are closed.
  kept.filesOf(dir, () => sensorFiles.map((s) => s.file), { settle: false });
  for (const { file, parts } of sensorFiles) {
    const read = kept.read(dir, file, 128);
    if (read.errno !== undefined) continue;
    let sensor = data.get(parts.sensor);
    if (sensor === undefined) {
      sensor = { type: parts.type, values: new Map() };
      data.set(parts.sensor, sensor);
    }
    sensor.values.set(parts.property, trimNewlines(read.text));
  }
}

function trimNewlines(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) === 0x0a) start++;
  while (end > start && text.charCodeAt(end - 1) === 0x0a) end--;
  return text.slice(start, end);
}

function readNameFile(dir: string): string | undefined {
  try {
    return fs.readFileSync(`${dir}/name`, "utf8");
  } catch {
    return undefined;
  }
}

export const collector: CollectorDefinition = {
  name: "hwmon",
  defaultEnabled: true,
  create({ paths, config }) {
    const options = config.collectors.hwmon;
    const chipFilter = new DeviceFilter(options.chipExclude, options.chipInclude);
    const sensorFilter = new DeviceFilter(options.sensorExclude, options.sensorInclude);
    const descs = new Map<string, MetricDesc>();
    const descFor = (s: SensorSample): MetricDesc => {
      const key = `${s.name}\u0000${s.help}`;
      let desc = descs.get(key);
      if (desc === undefined) {
        desc = s.counter ? counter(s.name, s.help, CHIP_SENSOR) : gauge(s.name, s.help, CHIP_SENSOR);
        descs.set(key, desc);
      }
      return desc;
    };

    const kept = new KeptAttributeDirectories();
    return {
      name: "hwmon",
      update(out) {
        kept.beginRound();
        try {
          const classDir = paths.sys("class/hwmon");
          let entries: string[];
          try {
            entries = readdirSync(classDir).sort();
          } catch (err) {
            if (isMissing(err)) return; // no hwmon on this host
            throw new CollectorError(`${classDir}: ${(err as Error).message}`);
          }
          const problems: string[] = [];
          const chips: Array<ChipCandidate & { dir: string }> = [];
          for (const entry of entries) {
            const dir = `${classDir}/${entry}`;
            try {
              if (!fs.statSync(dir).isDirectory()) continue;
            } catch {
              continue; // a dangling link
            }
            const nameText = readNameFile(dir);
            const chipName = nameText === undefined || nameText === "" ? undefined : cleanMetricName(nameText) || undefined;
            const base = baseChipName(dir, chipName);
            if (base === undefined) {
              problems.push(`could not derive a monitoring name for ${dir}`);
              continue;
            }
            chips.push({ base, chipName, entry, dir });
          }
          const names = disambiguateChipNames(chips);
          chips.forEach((chip, i) => {
            const chipLabel = names[i];
            if (chipFilter.ignored(chipLabel)) return;
            const data: SensorData = new Map();
            try {
              collectSensorData(chip.dir, data, kept);
              if (fs.existsSync(`${chip.dir}/device`)) collectSensorData(`${chip.dir}/device`, data, kept);
            } catch (err) {
              problems.push(`${chip.dir}: ${(err as Error).message}`);
              return;
            }
            if (chip.chipName !== undefined) out.add(chipNamesDesc, 1, chipLabel, chip.chipName);
            for (const [sensor, { type, values }] of data) {
              if (sensorFilter.ignored(`${chipLabel};${sensor}`)) continue;
              const label = values.get("label");
              if (label !== undefined) out.add(sensorLabelDesc, 1, chipLabel, sensor, label);
              for (const sample of sensorSamples(type, values)) out.add(descFor(sample), sample.value, chipLabel, sample.sensor ?? sensor);
            }
          });
          if (problems.length > 0) throw new CollectorError(problems.join("; "));
        } finally {
          kept.endRound();
        }
      },
      close() {
        kept.closeAll();
      },
    };
  },
};

/** node_exporter's hwmonName: device path, else the name file, else the real directory's name. */
function baseChipName(dir: string, chipName: string | undefined): string | undefined {
  try {
    const fromDevice = chipNameFromDevicePath(fs.realpathSync(`${dir}/device`));
    if (fromDevice !== undefined) return fromDevice;
  } catch {
    // no device link: fall back to the name file
  }
  if (chipName !== undefined) return chipName;
  try {
    return cleanMetricName(path.basename(fs.realpathSync(dir))) || undefined;
  } catch {
    return undefined;
  }
}
