import fs from "node:fs";
import path from "node:path";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { readRequiredHostFile } from "../host-file.js";
import { counter, gauge, type MetricDesc } from "../model.js";
import { parseGoFloat } from "../parsers/go-float.js";
import { splitFields, splitLines } from "../parsers/text.js";

/**
 * node_exporter's meminfo_numa collector (collector/meminfo_numa_linux.go): for each NUMA node
 * directory /sys/devices/system/node/node<N>, every field of its meminfo as a gauge
 * node_memory_numa_<field> (kB values in bytes, "Active(anon)" named Active_anon) and every
 * line of its numastat as a counter node_memory_numa_<name>_total. The meminfo series take
 * their node label from the file ("Node 0 MemTotal: ..."), the numastat ones from the directory
 * name, as node_exporter does. No node directories (no NUMA in sysfs): no series. A node
 * directory without both files, or a malformed line, fails the collector.
 */

export interface NumaValue {
  readonly name: string;
  readonly node: string;
  readonly value: number;
}

const PARENTHESIZED = /\((.*)\)/g;

/** node_exporter's parseMemInfoNuma: "Node <n> <Field>: <value> [kB]" lines. */
export function parseMeminfoNuma(text: string): NumaValue[] {
  const values: NumaValue[] = [];
  for (const line of splitLines(text)) {
    const parts = splitFields(line);
    if (parts.length === 0) continue;
    // node_exporter indexes parts[3] before checking the count (a short line panics there).
    if (parts.length < 4) throw new CollectorError(`invalid line in meminfo: ${JSON.stringify(line.slice(0, 80))}`);
    let value = parseGoFloat(parts[3]);
    if (value === undefined) throw new CollectorError(`invalid value in meminfo: ${JSON.stringify(parts[3].slice(0, 40))}`);
    if (parts.length === 5 && parts[4] === "kB") value *= 1024;
    else if (parts.length !== 4) throw new CollectorError(`invalid line in meminfo: ${JSON.stringify(line.slice(0, 80))}`);
    // strings.TrimRight(name, ":"), then Active(anon) -> Active_anon.
    const name = parts[2].replace(/:+$/, "").replace(PARENTHESIZED, "_$1");
    values.push({ name, node: parts[1], value });
  }
  return values;
}

/** node_exporter's parseMemInfoNumaStat: "<name> <value>" lines, named <name>_total. */
export function parseNumastat(text: string, node: string): NumaValue[] {
  const values: NumaValue[] = [];
  for (const line of splitLines(text)) {
    const parts = splitFields(line);
    if (parts.length === 0) continue;
    if (parts.length !== 2) throw new CollectorError(`line scan did not return 2 fields: ${JSON.stringify(line.slice(0, 80))}`);
    const value = parseGoFloat(parts[1]);
    if (value === undefined) throw new CollectorError(`invalid value in numastat: ${JSON.stringify(parts[1].slice(0, 40))}`);
    values.push({ name: `${parts[0]}_total`, node, value });
  }
  return values;
}

/** filepath.Glob("node[0-9]*") in the node directory: sorted names, nothing on any error. */
function nodeDirectories(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((name) => /^node[0-9]/.test(name))
      .sort();
  } catch {
    return [];
  }
}

function parseFile<T>(file: string, parse: (text: string) => T): T {
  const text = readRequiredHostFile(file);
  try {
    return parse(text);
  } catch (err) {
    throw new CollectorError(`${file}: ${(err as Error).message}`, { cause: err });
  }
}

export const collector: CollectorDefinition = {
  name: "meminfo_numa",
  defaultEnabled: false,
  create({ paths }) {
    const gauges = new Map<string, MetricDesc>();
    const counters = new Map<string, MetricDesc>();
    const descOf = (cache: Map<string, MetricDesc>, make: typeof gauge, name: string): MetricDesc => {
      let desc = cache.get(name);
      if (desc === undefined) {
        desc = make(`node_memory_numa_${name}`, `Memory information field ${name}.`, ["node"]);
        cache.set(name, desc);
      }
      return desc;
    };
    return {
      name: "meminfo_numa",
      update(out) {
        const root = paths.sys("devices/system/node");
        // Everything is read before anything is emitted: a failure on one node emits nothing.
        const values: Array<[MetricDesc, NumaValue]> = [];
        for (const name of nodeDirectories(root)) {
          const dir = path.join(root, name);
          for (const v of parseFile(path.join(dir, "meminfo"), parseMeminfoNuma)) values.push([descOf(gauges, gauge, v.name), v]);
          const node = /^node([0-9]*)/.exec(name)![1];
          for (const v of parseFile(path.join(dir, "numastat"), (text) => parseNumastat(text, node))) {
            values.push([descOf(counters, counter, v.name), v]);
          }
        }
        for (const [desc, v] of values) out.add(desc, v.value, v.node);
      },
    };
  },
};
