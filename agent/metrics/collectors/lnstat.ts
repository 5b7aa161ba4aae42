import fs from "node:fs";
import path from "node:path";
import { readText } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { errorCode } from "../host-file.js";
import { counter, type MetricDesc } from "../model.js";
import { goFields, goScanLines } from "../parsers/go-text.js";
import { parseHexUint64 } from "../parsers/numbers.js";
import { quoteExcerpt } from "../parsers/text.js";

/**
 * node_exporter's lnstat collector (collector/lnstat_linux.go with procfs's FS.NetStat): every
 * file of /proc/net/stat (arp_cache, ndisc_cache, nf_conntrack, rt_cache, ...) holds a line of
 * column names, then one line of hexadecimal counters per CPU. Each column becomes a counter
 * node_lnstat_<column>_total labelled with the file's name and the CPU's line number. No series
 * without /proc/net/stat; a counter that is not a hexadecimal uint64 fails the collector.
 */

const HELP = "linux network cache stats";
const LABELS = ["subsystem", "cpu"];
/** The characters client_golang's legacy metric-name check allows after the first one. */
const NAME_PART = /^[a-zA-Z0-9_:]+$/;

export interface LnstatFile {
  /** Column names of the header line, in file order. */
  readonly columns: readonly string[];
  /** One row of counters per CPU line, in the columns' order. */
  readonly rows: readonly (readonly number[])[];
}

/**
 * procfs's parseNetstat on one /proc/net/stat file: the first line names the columns, every
 * other line holds one hexadecimal counter per column (blank lines add nothing). Where procfs
 * would panic (more counters than columns) or number the CPUs of a column wrongly (a short
 * line, a repeated column name), this throws CollectorError; so does a column name that cannot
 * be part of a metric name.
 */
export function parseLnstat(text: string, file = "lnstat file"): LnstatFile {
  const lines = goScanLines(text, file);
  const columns = lines.length === 0 ? [] : goFields(lines[0]);
  const seen = new Set<string>();
  for (const column of columns) {
    if (!NAME_PART.test(column)) throw new CollectorError(`${file}: column name ${quoteExcerpt(column)} cannot be part of a metric name`);
    if (seen.has(column)) throw new CollectorError(`${file}: column ${quoteExcerpt(column)} appears twice in the header`);
    seen.add(column);
  }
  const rows: number[][] = [];
  for (let i = 1; i < lines.length; i++) {
    const fields = goFields(lines[i]);
    if (fields.length === 0) continue;
    if (fields.length !== columns.length) {
      throw new CollectorError(`${file}: line ${i + 1}: ${fields.length} counters for ${columns.length} columns`);
    }
    rows.push(
      fields.map((field, k) => {
        const value = parseHexUint64(field);
        if (Number.isNaN(value)) {
          throw new CollectorError(`${file}: line ${i + 1}: ${columns[k]} value ${quoteExcerpt(field)} is not a hexadecimal uint64`);
        }
        return value;
      }),
    );
  }
  return { columns, rows };
}

/**
 * The files of `dir` parsed, in filepath.Glob's (byte) order; [] when the directory is missing or
 * unreadable (Glob ignores those errors). Entries that are directories give nothing, as procfs's
 * scanner stops at the read error without reporting it.
 */
export function readLnstatDir(dir: string): Array<[name: string, stats: LnstatFile]> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const files: Array<[string, LnstatFile]> = [];
  for (const name of names) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = readText(file);
    } catch (err) {
      if (errorCode(err) === "EISDIR") continue;
      throw new CollectorError(`${file}: ${(err as Error).message}`, { cause: err });
    }
    files.push([name, parseLnstat(text, file)]);
  }
  return files;
}

export const collector: CollectorDefinition = {
  name: "lnstat",
  defaultEnabled: false,
  create({ paths }) {
    const dir = paths.proc("net/stat");
    const descs = new Map<string, MetricDesc>();
    const descOf = (column: string) => {
      let desc = descs.get(column);
      if (desc === undefined) {
        desc = counter(`node_lnstat_${column}_total`, HELP, LABELS);
        descs.set(column, desc);
      }
      return desc;
    };
    return {
      name: "lnstat",
      update(out) {
        for (const [name, stats] of readLnstatDir(dir)) {
          stats.columns.forEach((column, k) => {
            const desc = descOf(column);
            stats.rows.forEach((row, cpu) => out.add(desc, row[k], name, String(cpu)));
          });
        }
      },
    };
  },
};
