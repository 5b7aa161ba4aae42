import { CollectorError, type CollectorDefinition } from "../collector.js";
import { DeviceFilter } from "../device-filter.js";
import { readHostFile } from "../host-file.js";
import { gauge } from "../model.js";
import { parseInt64 } from "../parsers/numbers.js";
import { splitLines } from "../parsers/text.js";

/**
 * node_exporter's slabinfo collector (collector/slabinfo_linux.go with procfs's SlabInfo): five
 * figures per kernel slab cache from /proc/slabinfo (version 2.1), filtered by name with
 * --collector.slabinfo.slabs-include / slabs-exclude. /proc/slabinfo is readable by root only:
 * without permission the collector fails, as node_exporter's does; without the file it emits
 * nothing. A line that is not a 2.1 slab entry fails the collector.
 */

const LABELS = ["slab"];
const activeObjects = gauge("node_slabinfo_active_objects", "The number of objects that are currently active (i.e., in use).", LABELS);
const objects = gauge(
  "node_slabinfo_objects",
  "The total number of allocated objects (i.e., objects that are both in use and not in use).",
  LABELS,
);
const objectSize = gauge("node_slabinfo_object_size_bytes", "The size of objects in this slab, in bytes.", LABELS);
const objectsPerSlab = gauge("node_slabinfo_objects_per_slab", "The number of objects stored in each slab.", LABELS);
const pagesPerSlab = gauge("node_slabinfo_pages_per_slab", "The number of pages allocated for each slab.", LABELS);

export interface Slab {
  readonly name: string;
  readonly activeObjects: number;
  readonly objects: number;
  readonly objectSize: number;
  readonly objectsPerSlab: number;
  readonly pagesPerSlab: number;
}

/** RE2's \s (no \v), which procfs collapses to single spaces before splitting. */
const RE2_SPACES = /[\t\n\f\r ]+/g;
/** The columns procfs parses (strconv.ParseInt each): the five emitted, the tunables and slabdata. */
const NUMERIC_COLUMNS = [1, 2, 3, 4, 5, 8, 9, 10, 13, 14, 15];

/**
 * procfs's parseSlabInfo21: every line but the version line ("slabinfo -") and the header
 * ("# name") is "name active num size perslab pages : tunables l b s : slabdata a n s", 16
 * space-separated columns, each numeric one an int64.
 */
export function parseSlabinfo(text: string): Slab[] {
  const slabs: Slab[] = [];
  for (const line of splitLines(text)) {
    if (line.includes("slabinfo -") || line.includes("# name")) continue;
    const columns = line.replace(RE2_SPACES, " ").split(" ");
    if (columns.length !== 16) throw new CollectorError(`unable to read line ${JSON.stringify(line.slice(0, 120))}`);
    const values: number[] = [];
    for (const i of NUMERIC_COLUMNS) {
      const value = parseInt64(columns[i]);
      if (Number.isNaN(value)) {
        throw new CollectorError(
          `slab ${JSON.stringify(columns[0].slice(0, 60))}: column ${i + 1} ${JSON.stringify(columns[i].slice(0, 40))} is not an integer`,
        );
      }
      values.push(value);
    }
    slabs.push({
      name: columns[0],
      activeObjects: values[0],
      objects: values[1],
      objectSize: values[2],
      objectsPerSlab: values[3],
      pagesPerSlab: values[4],
    });
  }
  return slabs;
}

export const collector: CollectorDefinition = {
  name: "slabinfo",
  defaultEnabled: false,
  create({ paths, config }) {
    const options = config.collectors.slabinfo;
    // node_exporter's newDeviceFilter(exclude, include): both apply, include defaults to ".*".
    const filter = new DeviceFilter(options.slabsExclude, options.slabsInclude);
    const file = paths.proc("slabinfo");
    return {
      name: "slabinfo",
      update(out) {
        const text = readHostFile(file);
        if (text === undefined) return;
        let slabs: Slab[];
        try {
          slabs = parseSlabinfo(text);
        } catch (err) {
          throw new CollectorError(`${file}: ${(err as Error).message}`, { cause: err });
        }
        for (const slab of slabs) {
          if (filter.ignored(slab.name)) continue;
          out.add(activeObjects, slab.activeObjects, slab.name);
          out.add(objects, slab.objects, slab.name);
          out.add(objectSize, slab.objectSize, slab.name);
          out.add(objectsPerSlab, slab.objectsPerSlab, slab.name);
          out.add(pagesPerSlab, slab.pagesPerSlab, slab.name);
        }
      },
    };
  },
};
