import fs from "node:fs";
import { readdirSync } from "../../host/missing-paths.js";
import path from "node:path";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { errorCode } from "../host-file.js";
import { counter, type MetricDesc, type MetricSink } from "../model.js";
import { sanitizeMetricName } from "../parsers/metric-name.js";
import { parseUint } from "../parsers/numbers.js";
import { goTrimSpace } from "../sysfs-go-text.js";

/**
 * node_exporter's rapl collector (collector/rapl_linux.go with procfs's sysfs.GetRaplZones):
 * the energy counter of every /sys/class/powercap zone that has a name file, in joules, as
 * node_rapl_<zone>_joules_total{index,path} (or, with --collector.rapl.enable-zone-label, one
 * node_rapl_joules_total{index,path,rapl_zone}). `path` is the zone directory under the sysfs
 * root as configured. No series when the class directory is missing or an energy counter is not
 * readable (only root may read energy_uj since Linux 5.10).
 */

const zoneLabelDesc = counter("node_rapl_joules_total", "Current RAPL value in joules", ["index", "path", "rapl_zone"]);
const INDEX_PATH = ["index", "path"];

export interface RaplZone {
  readonly name: string;
  readonly index: number;
  readonly path: string;
}

/**
 * procfs's getIndexAndName: "package-0" is zone "package" with index 0; a name without such a
 * suffix gets the number of earlier zones of that name as its index. Updates `usages`.
 */
export function raplZoneName(nameFileText: string, usages: Map<string, number>): { name: string; index: number } {
  let name = goTrimSpace(nameFileText);
  let index: number | undefined;
  const parts = name.split("-");
  if (parts.length === 2 && /^[+-]?\d+$/.test(parts[1])) {
    const big = BigInt(parts[1]);
    if (big <= 9223372036854775807n && big >= -9223372036854775808n) {
      index = Number(big);
      name = parts[0];
    }
  }
  index ??= usages.get(name) ?? 0;
  usages.set(name, index + 1);
  return { name, index };
}

/** An energy_uj or max_energy_range_uj value (util.ReadUintFromFile's parse); CollectorError when it is not a uint64. */
export function parseRaplMicrojoules(text: string, what = "energy_uj"): number {
  const trimmed = goTrimSpace(text);
  const value = parseUint(trimmed);
  if (Number.isNaN(value)) throw new CollectorError(`${what}: expected an unsigned integer, got ${JSON.stringify(trimmed.slice(0, 40))}`);
  return value;
}

const isPermission = (err: unknown) => errorCode(err) === "EACCES" || errorCode(err) === "EPERM";

/** Thrown for node_exporter's ErrNoData cases (missing or forbidden powercap files). */
class NoData extends Error {}

/**
 * A whole uint64 file as util.ReadUintFromFile reads it. A permission error is no data; so is a
 * missing file while the zones are listed (node_exporter checks GetRaplZones' error for
 * ErrNotExist, not that of a zone's energy_uj).
 */
function readUintFile(file: string, missingIsNoData: boolean): number {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if (isPermission(err) || (missingIsNoData && errorCode(err) === "ENOENT")) throw new NoData(file);
    throw new CollectorError(`${file}: ${errorCode(err) ?? String(err)}`, { cause: err });
  }
  return parseRaplMicrojoules(text, file);
}

/** procfs's GetRaplZones: every entry of class/powercap with a readable name file (its max_energy_range_uj must parse). */
function raplZones(dir: string): RaplZone[] {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch (err) {
    const code = errorCode(err);
    if (code === "ENOENT" || isPermission(err)) throw new NoData(dir);
    throw new CollectorError(`unable to read class/powercap: ${code ?? String(err)}`, { cause: err });
  }
  const zones: RaplZone[] = [];
  const usages = new Map<string, number>();
  for (const entry of entries) {
    const zoneDir = path.join(dir, entry);
    let nameText: string;
    try {
      nameText = fs.readFileSync(path.join(zoneDir, "name"), "utf8");
    } catch {
      continue;
    }
    const { name, index } = raplZoneName(nameText, usages);
    readUintFile(path.join(zoneDir, "max_energy_range_uj"), true);
    zones.push({ name, index, path: zoneDir });
  }
  return zones;
}

function collectRapl(dir: string, zoneLabel: boolean, out: MetricSink): void {
  const descs = new Map<string, MetricDesc>();
  for (const zone of raplZones(dir)) {
    const joules = readUintFile(path.join(zone.path, "energy_uj"), false) / 1000000.0;
    const index = String(zone.index);
    if (zoneLabel) {
      out.add(zoneLabelDesc, joules, index, zone.path, zone.name);
      continue;
    }
    let desc = descs.get(zone.name);
    if (desc === undefined) {
      desc = counter(`node_rapl_${sanitizeMetricName(zone.name)}_joules_total`, `Current RAPL ${zone.name} value in joules`, INDEX_PATH);
      descs.set(zone.name, desc);
    }
    out.add(desc, joules, index, zone.path);
  }
}

export const collector: CollectorDefinition = {
  name: "rapl",
  defaultEnabled: true,
  create({ paths, config }) {
    const zoneLabel = config.collectors.rapl.enableZoneLabel;
    return {
      name: "rapl",
      update(out) {
        try {
          // Like node_exporter, zones read before a failing one keep their series.
          collectRapl(paths.sys("class/powercap"), zoneLabel, out);
        } catch (err) {
          if (!(err instanceof NoData)) throw err;
        }
      },
    };
  },
};
