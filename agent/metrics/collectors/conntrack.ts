import { readTextIfExists } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { gauge } from "../model.js";
import { parseUint } from "../parsers/numbers.js";
import { parseHex, quoteExcerpt, splitFields, splitLines } from "../parsers/text.js";

/**
 * node_exporter's conntrack collector: table usage from /proc/sys/net/netfilter and the per-CPU
 * statistics of /proc/net/stat/nf_conntrack summed over CPUs.
 */

const entriesDesc = gauge("node_nf_conntrack_entries", "Number of currently allocated flow entries for connection tracking.");
const limitDesc = gauge("node_nf_conntrack_entries_limit", "Maximum size of connection tracking table.");

/** Columns of /proc/net/stat/nf_conntrack that node_exporter reports, with their metric. */
const STAT_COLUMNS = [
  { column: 2, desc: gauge("node_nf_conntrack_stat_found", "Number of searched entries which were successful.") },
  { column: 4, desc: gauge("node_nf_conntrack_stat_invalid", "Number of packets seen which can not be tracked.") },
  { column: 5, desc: gauge("node_nf_conntrack_stat_ignore", "Number of packets seen which are already connected to a conntrack entry.") },
  { column: 8, desc: gauge("node_nf_conntrack_stat_insert", "Number of entries inserted into the list.") },
  {
    column: 9,
    desc: gauge("node_nf_conntrack_stat_insert_failed", "Number of entries for which list insertion was attempted but failed."),
  },
  { column: 10, desc: gauge("node_nf_conntrack_stat_drop", "Number of packets dropped due to conntrack failure.") },
  {
    column: 11,
    desc: gauge(
      "node_nf_conntrack_stat_early_drop",
      "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
    ),
  },
  // Absent (16 columns) before Linux 2.6.35; procfs then reports 0.
  {
    column: 16,
    desc: gauge(
      "node_nf_conntrack_stat_search_restart",
      "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
    ),
  },
] as const;

/** The summed counters, in STAT_COLUMNS order. */
export type ConntrackStatTotals = number[];

function quote(text: string): string {
  return quoteExcerpt(text, 80);
}

/**
 * Parses /proc/net/stat/nf_conntrack: a header line, then one line of 16 or 17 hex counters per
 * CPU; returns the reported counters summed over CPUs. As in procfs, a line of another width or
 * with a non-hex field makes the file unusable (CollectorError); blank lines are skipped.
 */
export function parseConntrackStat(text: string, source = "/proc/net/stat/nf_conntrack"): ConntrackStatTotals {
  const totals = new Array<number>(STAT_COLUMNS.length).fill(0);
  const lines = splitLines(text);
  for (let i = 1; i < lines.length; i++) {
    const fields = splitFields(lines[i]);
    if (fields.length === 0) continue;
    if (fields.length !== 16 && fields.length !== 17) {
      throw new CollectorError(`${source}: line ${i + 1}: ${fields.length} columns, expected 16 or 17: ${quote(lines[i])}`);
    }
    const values = fields.map(parseHex);
    const bad = values.findIndex(Number.isNaN);
    if (bad >= 0) throw new CollectorError(`${source}: line ${i + 1}: column ${bad + 1} is not a hex counter: ${quote(fields[bad])}`);
    STAT_COLUMNS.forEach(({ column }, k) => (totals[k] += values[column] ?? 0));
  }
  return totals;
}

/** A one-number file such as nf_conntrack_count (strconv.ParseUint of the trimmed text); undefined if absent. */
function readUintFile(filePath: string): number | undefined {
  const text = readTextIfExists(filePath, 4096);
  if (text === undefined) return undefined;
  const value = parseUint(text.trim());
  if (Number.isNaN(value)) throw new CollectorError(`${filePath}: expected an unsigned integer, got ${quote(text)}`);
  return value;
}

export const collector: CollectorDefinition = {
  name: "conntrack",
  defaultEnabled: true,
  create({ paths }) {
    const countFile = paths.proc("sys", "net", "netfilter", "nf_conntrack_count");
    const maxFile = paths.proc("sys", "net", "netfilter", "nf_conntrack_max");
    const statFile = paths.proc("net", "stat", "nf_conntrack");
    return {
      name: "conntrack",
      update(out) {
        // The sysctls are absent while the nf_conntrack module is not loaded; node_exporter then
        // stops at the first missing one, keeping what it already reported.
        const count = readUintFile(countFile);
        if (count === undefined) return;
        out.add(entriesDesc, count);
        const limit = readUintFile(maxFile);
        if (limit === undefined) return;
        out.add(limitDesc, limit);
        // Only on kernels built with CONFIG_NF_CONNTRACK_PROCFS.
        const stat = readTextIfExists(statFile);
        if (stat === undefined) return;
        const totals = parseConntrackStat(stat, statFile);
        STAT_COLUMNS.forEach(({ desc }, k) => out.add(desc, totals[k]));
      },
    };
  },
};
