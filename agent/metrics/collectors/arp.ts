import { readTextIfExists } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { DeviceFilter } from "../device-filter.js";
import { gauge } from "../model.js";
import { parseIntAutoBase } from "../parsers/auto-base-int.js";
import { splitFields, splitLines } from "../parsers/text.js";

/**
 * node_exporter's arp collector on its /proc/net/arp path (--no-collector.arp.netlink): entries per
 * device. The netlink path's node_arp_states needs rtnetlink, which Node cannot speak, so it is
 * not emitted (the /proc path of node_exporter does not emit it either).
 */

const entriesDesc = gauge("node_arp_entries", "ARP entries by device", ["device"]);

/** Columns of a data line: IP address, HW type, Flags, HW address, Mask, Device. */
const DATA_COLUMNS = 6;
/** "IP address       HW type     Flags       HW address            Mask     Device" */
const HEADER_COLUMNS = 9;

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

/**
 * Counts /proc/net/arp entries per device. As in procfs, the header and blank lines are skipped
 * and a line of any other width, or with unparsable flags, makes the file unusable. The hardware
 * address is not validated: procfs's net.ParseMAC rejects the 9-byte prefix the kernel prints for
 * 20-byte (InfiniBand) addresses, which would fail the whole collector where netlink counts them.
 */
export function parseArpEntries(text: string, source = "/proc/net/arp"): Map<string, number> {
  const counts = new Map<string, number>();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const fields = splitFields(lines[i]);
    if (fields.length === 0 || fields.length === HEADER_COLUMNS) continue;
    if (fields.length !== DATA_COLUMNS) {
      throw new CollectorError(`${source}: line ${i + 1}: ${fields.length} columns, expected ${DATA_COLUMNS}: ${quote(lines[i])}`);
    }
    // strconv.ParseUint(flags, 0, 8): no sign, at most 255.
    const flags = /^[0-9]/.test(fields[2]) ? parseIntAutoBase(fields[2]) : NaN;
    if (!(flags >= 0 && flags <= 255)) throw new CollectorError(`${source}: line ${i + 1}: flags ${quote(fields[2])} are not a byte`);
    const device = fields[5];
    counts.set(device, (counts.get(device) ?? 0) + 1);
  }
  return counts;
}

export const collector: CollectorDefinition = {
  name: "arp",
  defaultEnabled: true,
  create({ paths, config }) {
    const options = config.collectors.arp;
    const filter = new DeviceFilter(options.deviceExclude, options.deviceInclude);
    const arpFile = paths.proc("net", "arp");
    return {
      name: "arp",
      update(out) {
        // Absent without IPv4.
        const text = readTextIfExists(arpFile);
        if (text === undefined) return;
        for (const [device, count] of parseArpEntries(text, arpFile)) {
          if (!filter.ignored(device)) out.add(entriesDesc, count, device);
        }
      },
    };
  },
};
