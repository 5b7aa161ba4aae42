import { CollectorError, type CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { counter, gauge, type MetricDesc } from "../model.js";
import { parseInt64 } from "../parsers/numbers.js";
import { splitFields } from "../parsers/text.js";
import { goTrimSpace } from "../sysfs-go-text.js";

/**
 * node_exporter's zoneinfo collector (collector/zoneinfo_linux.go with procfs's Zoneinfo): the
 * per-zone page counts of /proc/zoneinfo, labelled with node and zone. Only the fields procfs
 * knows are read, and each is emitted only for the zones where it appears; the per-node stats
 * printed before a node's first zone count for that zone, as in node_exporter. No series when
 * the file does not exist. A known field with a value that is not an integer fails the
 * collector (procfs would leave that one field out).
 */

const LABELS = ["node", "zone"];
const g = (name: string, help: string) => gauge(`node_zoneinfo_${name}`, help, LABELS);
const c = (name: string, help: string) => counter(`node_zoneinfo_${name}`, help, LABELS);

/** procfs's Zoneinfo fields in struct order: the key in /proc/zoneinfo and node_exporter's family. */
const FIELDS: ReadonlyArray<readonly [key: string, desc: MetricDesc]> = [
  ["nr_free_pages", g("nr_free_pages", "Total number of free pages in the zone")],
  ["min", g("min_pages", "Zone watermark pages_min")],
  ["low", g("low_pages", "Zone watermark pages_low")],
  ["high", g("high_pages", "Zone watermark pages_high")],
  ["scanned", g("scanned_pages", "Pages scanned since last reclaim")],
  ["spanned", g("spanned_pages", "Total pages spanned by the zone, including holes")],
  ["present", g("present_pages", "Physical pages existing within the zone")],
  ["managed", g("managed_pages", "Present pages managed by the buddy system")],
  ["nr_active_anon", g("nr_active_anon_pages", "Number of anonymous pages recently more used")],
  ["nr_inactive_anon", g("nr_inactive_anon_pages", "Number of anonymous pages recently less used")],
  ["nr_isolated_anon", g("nr_isolated_anon_pages", "Temporary isolated pages from anon lru")],
  ["nr_anon_pages", g("nr_anon_pages", "Number of anonymous pages currently used by the system")],
  [
    "nr_anon_transparent_hugepages",
    g("nr_anon_transparent_hugepages", "Number of anonymous transparent huge pages currently used by the system"),
  ],
  ["nr_active_file", g("nr_active_file_pages", "Number of active pages with file-backing")],
  ["nr_inactive_file", g("nr_inactive_file_pages", "Number of inactive pages with file-backing")],
  ["nr_isolated_file", g("nr_isolated_file_pages", "Temporary isolated pages from file lru")],
  ["nr_file_pages", g("nr_file_pages", "Number of file pages")],
  ["nr_slab_reclaimable", g("nr_slab_reclaimable_pages", "Number of reclaimable slab pages")],
  ["nr_slab_unreclaimable", g("nr_slab_unreclaimable_pages", "Number of unreclaimable slab pages")],
  ["nr_mlock_stack", g("nr_mlock_stack_pages", "mlock()ed pages found and moved off LRU")],
  ["nr_kernel_stack", g("nr_kernel_stacks", "Number of kernel stacks")],
  ["nr_mapped", g("nr_mapped_pages", "Number of mapped pages")],
  ["nr_dirty", g("nr_dirty_pages", "Number of dirty pages")],
  ["nr_writeback", g("nr_writeback_pages", "Number of writeback pages")],
  ["nr_unevictable", g("nr_unevictable_pages", "Number of unevictable pages")],
  ["nr_shmem", g("nr_shmem_pages", "Number of shmem pages (included tmpfs/GEM pages)")],
  ["nr_dirtied", c("nr_dirtied_total", "Page dirtyings since bootup")],
  ["nr_written", c("nr_written_total", "Page writings since bootup")],
  ["numa_hit", c("numa_hit_total", "Allocated in intended node")],
  ["numa_miss", c("numa_miss_total", "Allocated in non intended node")],
  ["numa_foreign", c("numa_foreign_total", "Was intended here, hit elsewhere")],
  ["numa_interleave", c("numa_interleave_total", "Interleaver preferred this zone")],
  ["numa_local", c("numa_local_total", "Allocation from local node")],
  ["numa_other", c("numa_other_total", "Allocation from other node")],
];
const FIELD_INDEX: ReadonlyMap<string, number> = new Map(FIELDS.map(([key], i) => [key, i]));

/** protection_<i> families, made as the arrays grow (node_exporter creates them on first use too). */
const protectionDescs: MetricDesc[] = [];
function protectionDesc(i: number): MetricDesc {
  return (protectionDescs[i] ??= g(`protection_${i}`, `Protection array ${i}. field`));
}

export interface Zoneinfo {
  readonly node: string;
  readonly zone: string;
  /** Values by FIELDS index; undefined where the field did not appear. */
  readonly values: Array<number | undefined>;
  readonly protection: number[] | undefined;
}

/** RE2's `(\d+), zone\s+(\w+)` (ASCII classes, \s without \v), unanchored. */
const NODE_ZONE = /([0-9]+), zone[\t\n\f\r ]+([0-9A-Za-z_]+)/;

/** procfs's util.ValueParser.PInt64: base 16 after a "0x" prefix, else base 10 (strconv.ParseInt). */
export function parseZoneinfoInt(text: string): number {
  if (!text.startsWith("0x")) return parseInt64(text);
  const digits = text.slice(2);
  if (!/^[+-]?[0-9a-fA-F]+$/.test(digits)) return NaN;
  const negative = digits.startsWith("-");
  const big = BigInt("0x" + digits.replace(/^[+-]/, ""));
  const signed = negative ? -big : big;
  return signed > 0x7fffffffffffffffn || signed < -0x8000000000000000n ? NaN : Number(signed);
}

/**
 * procfs's parseZoneinfo: the file split at each "\nNode", one zone per part (a part without a
 * "N, zone NAME" line keeps empty labels, as in procfs); in each part, lines "key value" for
 * the known keys (the last one wins) and "protection: (a, b, ...)".
 */
export function parseZoneinfo(text: string): Zoneinfo[] {
  const zones: Zoneinfo[] = [];
  for (const block of text.split("\nNode")) {
    let node = "";
    let zone = "";
    const values: Array<number | undefined> = new Array<number | undefined>(FIELDS.length).fill(undefined);
    let protection: number[] | undefined;
    for (const line of block.split("\n")) {
      const nodeZone = NODE_ZONE.exec(line);
      if (nodeZone !== null) {
        node = nodeZone[1];
        zone = nodeZone[2];
        continue;
      }
      const trimmed = goTrimSpace(line);
      if (trimmed.startsWith("per-node stats")) continue;
      const parts = splitFields(trimmed);
      if (parts.length < 2) continue;
      if (parts[0] === "protection:") {
        protection = parseProtection(line);
        continue;
      }
      const index = FIELD_INDEX.get(parts[0]);
      if (index === undefined) continue;
      const value = parseZoneinfoInt(parts[1]);
      if (Number.isNaN(value)) {
        throw new CollectorError(`node ${node}, zone ${zone}: ${parts[0]} ${JSON.stringify(parts[1].slice(0, 40))} is not an integer`);
      }
      values[index] = value;
    }
    zones.push({ node, zone, values, protection });
  }
  return zones;
}

/** "protection: (0, 2039, 31932)": the text after the first colon, its first "(" and ")" dropped, split at ", ". */
function parseProtection(line: string): number[] {
  const afterColon = line.split(":")[1];
  const list = goTrimSpace(afterColon.replace("(", "").replace(")", ""));
  return list.split(", ").map((item) => {
    const value = parseInt64(item);
    if (Number.isNaN(value)) throw new CollectorError(`protection ${JSON.stringify(item.slice(0, 40))} is not an integer`);
    return value;
  });
}

export const collector: CollectorDefinition = {
  name: "zoneinfo",
  defaultEnabled: false,
  create({ paths }) {
    const file = paths.proc("zoneinfo");
    return {
      name: "zoneinfo",
      update(out) {
        const text = readHostFile(file);
        if (text === undefined) return;
        let zones: Zoneinfo[];
        try {
          zones = parseZoneinfo(text);
        } catch (err) {
          throw new CollectorError(`${file}: ${(err as Error).message}`, { cause: err });
        }
        for (const { node, zone, values, protection } of zones) {
          values.forEach((value, i) => {
            if (value !== undefined) out.add(FIELDS[i][1], value, node, zone);
          });
          protection?.forEach((value, i) => out.add(protectionDesc(i), value, node, zone));
        }
      },
    };
  },
};
