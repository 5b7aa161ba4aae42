import { CollectorError, type CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { gauge } from "../model.js";
import { parseGoFloat } from "../parsers/go-float.js";
import { splitFields, splitLines } from "../parsers/text.js";

/**
 * node_exporter's buddyinfo collector (collector/buddyinfo.go with procfs's BuddyInfo): the free
 * block counts of /proc/buddyinfo, one series per node, zone and block order ("size", 2^size
 * pages). No series when the file does not exist; a malformed line fails the collector.
 */

const blocksDesc = gauge("node_buddyinfo_blocks", "Count of free blocks according to size.", ["node", "zone", "size"]);

export interface BuddyInfo {
  readonly node: string;
  readonly zone: string;
  readonly sizes: readonly number[];
}

/**
 * procfs's parseBuddyInfo: "Node 0, zone DMA 1 0 1 ..." lines; the node and zone lose one
 * trailing comma; every line must have the same number of counts (strconv.ParseFloat each).
 */
export function parseBuddyinfo(text: string): BuddyInfo[] {
  const entries: BuddyInfo[] = [];
  let buckets = -1;
  for (const line of splitLines(text)) {
    const parts = splitFields(line);
    if (parts.length < 4) throw new CollectorError(`invalid number of fields in line ${JSON.stringify(line.slice(0, 80))}`);
    const node = parts[1].endsWith(",") ? parts[1].slice(0, -1) : parts[1];
    const zone = parts[3].endsWith(",") ? parts[3].slice(0, -1) : parts[3];
    const counts = parts.slice(4);
    if (buckets === -1) buckets = counts.length;
    else if (buckets !== counts.length) {
      throw new CollectorError(`mismatch in number of buddyinfo buckets, previous count ${buckets}, new count ${counts.length}`);
    }
    const sizes = counts.map((c) => {
      const value = parseGoFloat(c);
      if (value === undefined)
        throw new CollectorError(`invalid value ${JSON.stringify(c.slice(0, 40))} in line for node ${node}, zone ${zone}`);
      return value;
    });
    entries.push({ node, zone, sizes });
  }
  return entries;
}

export const collector: CollectorDefinition = {
  name: "buddyinfo",
  defaultEnabled: false,
  create({ paths }) {
    const file = paths.proc("buddyinfo");
    return {
      name: "buddyinfo",
      update(out) {
        const text = readHostFile(file);
        if (text === undefined) return;
        let entries: BuddyInfo[];
        try {
          entries = parseBuddyinfo(text);
        } catch (err) {
          throw new CollectorError(`${file}: ${(err as Error).message}`, { cause: err });
        }
        for (const { node, zone, sizes } of entries) {
          sizes.forEach((value, size) => out.add(blocksDesc, value, node, zone, String(size)));
        }
      },
    };
  },
};
