import { CollectorError, type CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { counter, gauge, type MetricDesc } from "../model.js";
import { parseInt64, parseUint } from "../parsers/numbers.js";
import { goTrimSpace } from "../sysfs-go-text.js";

/**
 * node_exporter's ksmd collector (collector/ksmd_linux.go): the Kernel Samepage Merging daemon's
 * files under /sys/kernel/mm/ksm, one family each, sleep_millisecs as seconds. A file that does
 * not exist is left out (older kernels lack general_profit), so a kernel without KSM gives no
 * series; any other read error or a malformed value fails the collector.
 *
 * One deliberate difference: node_exporter reads general_profit as a uint64 too, so the whole
 * collector fails whenever KSM costs more than it saves (the kernel prints a negative number
 * there). nodetap reads that one file as an int64 and reports the negative value.
 */

interface KsmdFile {
  readonly file: string;
  readonly desc: MetricDesc;
  readonly signed?: boolean;
  readonly divisor?: number;
}

// Help texts are node_exporter's (from the kernel's admin-guide/mm/ksm documentation); its order.
const FILES: readonly KsmdFile[] = [
  { file: "full_scans", desc: counter("node_ksmd_full_scans_total", "How many times all mergeable areas have been scanned.") },
  {
    file: "general_profit",
    desc: gauge(
      "node_ksmd_general_profit_bytes",
      "How effective is KSM. ksm_saved_pages * sizeof(page) - (all_rmap_items) * sizeof(rmap_item)",
    ),
    signed: true,
  },
  {
    file: "merge_across_nodes",
    desc: gauge("node_ksmd_merge_across_nodes", "Specifies if pages from different NUMA nodes can be merged."),
  },
  { file: "pages_shared", desc: gauge("node_ksmd_pages_shared", "How many shared pages are being used.") },
  { file: "pages_sharing", desc: gauge("node_ksmd_pages_sharing", "How many more sites are sharing them i.e. how much saved.") },
  { file: "pages_to_scan", desc: gauge("node_ksmd_pages_to_scan", "How many pages to scan before ksmd goes to sleep.") },
  { file: "pages_unshared", desc: gauge("node_ksmd_pages_unshared", "How many pages unique but repeatedly checked for merging.") },
  { file: "pages_volatile", desc: gauge("node_ksmd_pages_volatile", "How many pages changing too fast to be placed in a tree.") },
  { file: "run", desc: gauge("node_ksmd_run", "The status of ksmd. stopped = 0, running = 1") },
  {
    file: "sleep_millisecs",
    desc: gauge("node_ksmd_sleep_seconds", "How many seconds ksmd should sleep before next scan."),
    divisor: 1000,
  },
];

/** The names of the files read, in node_exporter's order. */
export const KSMD_FILES: readonly string[] = FILES.map((f) => f.file);

/**
 * A KSM file's value: strconv.ParseUint(strings.TrimSpace(text), 10, 64) as node_exporter's
 * readUintFromFile does, or ParseInt for a signed file; CollectorError otherwise.
 */
export function parseKsmdValue(text: string, signed = false): number {
  const trimmed = goTrimSpace(text);
  const value = signed ? parseInt64(trimmed) : parseUint(trimmed);
  if (Number.isNaN(value)) {
    throw new CollectorError(`expected ${signed ? "an integer" : "an unsigned integer"}, got ${JSON.stringify(trimmed.slice(0, 40))}`);
  }
  return value;
}

export const collector: CollectorDefinition = {
  name: "ksmd",
  defaultEnabled: false,
  create({ paths }) {
    return {
      name: "ksmd",
      update(out) {
        // Everything is read and parsed before anything is emitted: a failure emits nothing.
        const values: Array<[MetricDesc, number]> = [];
        for (const { file, desc, signed, divisor } of FILES) {
          const path = paths.sys("kernel/mm/ksm", file);
          const text = readHostFile(path, 4096);
          if (text === undefined) continue;
          try {
            const value = parseKsmdValue(text, signed);
            values.push([desc, divisor === undefined ? value : value / divisor]);
          } catch (err) {
            throw new CollectorError(`${path}: ${(err as Error).message}`, { cause: err });
          }
        }
        for (const [desc, value] of values) out.add(desc, value);
      },
    };
  },
};
