import fs from "node:fs";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { errorCode } from "../host-file.js";
import { gauge, type MetricDesc } from "../model.js";
import { parseIntAutoBase } from "../parsers/auto-base-int.js";
import { readSysfsAttribute, type AttributeRead } from "../sysfs-attribute.js";
import { goTrimSpace } from "../sysfs-go-text.js";

/**
 * node_exporter's watchdog collector (collector/watchdog.go with procfs's sysfs.WatchdogClass):
 * the numeric attributes of each /sys/class/watchdog/<device> that exist, and one
 * node_watchdog_info series per device with its text attributes ("" when absent). No series when
 * the class directory is missing or a permission error hides an attribute (node_exporter's
 * ErrNoData); a malformed number or another read error fails the collector.
 */

const NAME = ["name"];
const help = (file: string) => `Value of /sys/class/watchdog/<watchdog>/${file}`;
const infoDesc = gauge("node_watchdog_info", "Info of /sys/class/watchdog/<watchdog>", [
  "name",
  "options",
  "identity",
  "state",
  "status",
  "pretimeout_governor",
]);

/** The numeric attributes in node_exporter's emission order, with their family. */
const NUMERIC: ReadonlyArray<[file: NumericFile, desc: MetricDesc]> = [
  ["bootstatus", gauge("node_watchdog_bootstatus", help("bootstatus"), NAME)],
  ["fw_version", gauge("node_watchdog_fw_version", help("fw_version"), NAME)],
  ["nowayout", gauge("node_watchdog_nowayout", help("nowayout"), NAME)],
  ["timeleft", gauge("node_watchdog_timeleft_seconds", help("timeleft"), NAME)],
  ["timeout", gauge("node_watchdog_timeout_seconds", help("timeout"), NAME)],
  ["pretimeout", gauge("node_watchdog_pretimeout_seconds", help("pretimeout"), NAME)],
  ["access_cs0", gauge("node_watchdog_access_cs0", help("access_cs0"), NAME)],
];

type NumericFile = "bootstatus" | "fw_version" | "nowayout" | "timeleft" | "timeout" | "pretimeout" | "access_cs0";
type TextFile = "options" | "identity" | "state" | "status" | "pretimeout_governor";
/** The attributes procfs reads, in its order. */
export const WATCHDOG_FILES = [
  "bootstatus",
  "options",
  "fw_version",
  "identity",
  "nowayout",
  "state",
  "status",
  "timeleft",
  "timeout",
  "pretimeout",
  "pretimeout_governor",
  "access_cs0",
] as const;
const TEXT_FILES: ReadonlySet<string> = new Set<TextFile>(["options", "identity", "state", "status", "pretimeout_governor"]);

export interface Watchdog {
  readonly name: string;
  readonly numbers: ReadonlyMap<NumericFile, number>;
  readonly texts: ReadonlyMap<TextFile, string>;
}

/** A numeric attribute: strconv.ParseInt(trimmed, 0, 64) (so 0x.. and 0.. octal are read too); CollectorError otherwise. */
export function parseWatchdogNumber(text: string, what = "watchdog attribute"): number {
  const trimmed = goTrimSpace(text);
  const value = parseIntAutoBase(trimmed);
  if (Number.isNaN(value)) throw new CollectorError(`${what}: expected an integer, got ${JSON.stringify(trimmed.slice(0, 40))}`);
  return value;
}

/** Thrown when a permission error hides an attribute: node_exporter then reports no data at all. */
class NoData extends Error {}

/** procfs's parseWatchdog on one device's reads (absent attributes are left out). */
export function parseWatchdogReads(name: string, reads: Readonly<Record<(typeof WATCHDOG_FILES)[number], AttributeRead>>): Watchdog {
  const numbers = new Map<NumericFile, number>();
  const texts = new Map<TextFile, string>();
  for (const file of WATCHDOG_FILES) {
    const read = reads[file];
    if (read.errno !== undefined) {
      if (read.errno === "ENOENT") continue;
      if (read.errno === "EACCES" || read.errno === "EPERM") throw new NoData(`${name}/${file}: ${read.errno}`);
      throw new CollectorError(`failed to read file ${name}/${file}: ${read.errno}`);
    }
    if (TEXT_FILES.has(file)) texts.set(file as TextFile, goTrimSpace(read.text));
    else numbers.set(file as NumericFile, parseWatchdogNumber(read.text, `${name}/${file}`));
  }
  return { name, numbers, texts };
}

/** Every entry of the class directory, read; undefined for node_exporter's ErrNoData. */
function readWatchdogClass(dir: string): Watchdog[] | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (err) {
    const code = errorCode(err) ?? String(err);
    if (code === "ENOENT" || code === "EACCES" || code === "EPERM") return undefined;
    throw new CollectorError(`failed to list watchdog devices at ${dir}: ${code}`, { cause: err });
  }
  try {
    return names.map((name) => {
      const reads = Object.fromEntries(WATCHDOG_FILES.map((f) => [f, readSysfsAttribute(`${dir}/${name}/${f}`)])) as Record<
        (typeof WATCHDOG_FILES)[number],
        AttributeRead
      >;
      return parseWatchdogReads(name, reads);
    });
  } catch (err) {
    if (err instanceof NoData) return undefined;
    throw err;
  }
}

export const collector: CollectorDefinition = {
  name: "watchdog",
  defaultEnabled: true,
  create({ paths }) {
    return {
      name: "watchdog",
      update(out) {
        for (const wd of readWatchdogClass(paths.sys("class/watchdog")) ?? []) {
          for (const [file, desc] of NUMERIC) {
            const value = wd.numbers.get(file);
            if (value !== undefined) out.add(desc, value, wd.name);
          }
          const text = (file: TextFile) => wd.texts.get(file) ?? "";
          out.add(infoDesc, 1, wd.name, text("options"), text("identity"), text("state"), text("status"), text("pretimeout_governor"));
        }
      },
    };
  },
};
