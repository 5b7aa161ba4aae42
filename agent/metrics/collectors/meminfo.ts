import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { readRequiredHostFile } from "../host-file.js";
import { MalformedLines } from "../malformed-lines.js";
import { gauge, type MetricDesc, type MetricSink } from "../model.js";
import { noProblems, noteProblem, type ParseProblems } from "../parsers/parse-problems.js";
import { parseUnsigned, splitFields, splitLines } from "../parsers/text.js";

/**
 * node_exporter's meminfo collector (collector/meminfo_linux.go): the /proc/meminfo fields it
 * knows, in bytes, as node_memory_<Field>_bytes; the HugePages_* counts without unit. Keys it
 * does not export (KReclaimable, SecPageTables, ...) are left out, as there.
 */

/** /proc/meminfo key -> node_exporter's metric name part. */
const EXPORTED_FIELDS: ReadonlyMap<string, string> = new Map([
  ["Active", "Active_bytes"],
  ["Active(anon)", "Active_anon_bytes"],
  ["Active(file)", "Active_file_bytes"],
  ["AnonHugePages", "AnonHugePages_bytes"],
  ["AnonPages", "AnonPages_bytes"],
  ["Bounce", "Bounce_bytes"],
  ["Buffers", "Buffers_bytes"],
  ["Cached", "Cached_bytes"],
  ["CmaFree", "CmaFree_bytes"],
  ["CmaTotal", "CmaTotal_bytes"],
  ["CommitLimit", "CommitLimit_bytes"],
  ["Committed_AS", "Committed_AS_bytes"],
  ["DirectMap1G", "DirectMap1G_bytes"],
  ["DirectMap2M", "DirectMap2M_bytes"],
  ["DirectMap4k", "DirectMap4k_bytes"],
  ["Dirty", "Dirty_bytes"],
  ["HardwareCorrupted", "HardwareCorrupted_bytes"],
  ["Hugepagesize", "Hugepagesize_bytes"],
  ["Inactive", "Inactive_bytes"],
  ["Inactive(anon)", "Inactive_anon_bytes"],
  ["Inactive(file)", "Inactive_file_bytes"],
  ["KernelStack", "KernelStack_bytes"],
  ["Mapped", "Mapped_bytes"],
  ["MemAvailable", "MemAvailable_bytes"],
  ["MemFree", "MemFree_bytes"],
  ["MemTotal", "MemTotal_bytes"],
  ["Mlocked", "Mlocked_bytes"],
  ["NFS_Unstable", "NFS_Unstable_bytes"],
  ["PageTables", "PageTables_bytes"],
  ["Percpu", "Percpu_bytes"],
  ["SReclaimable", "SReclaimable_bytes"],
  ["SUnreclaim", "SUnreclaim_bytes"],
  ["Shmem", "Shmem_bytes"],
  ["ShmemHugePages", "ShmemHugePages_bytes"],
  ["ShmemPmdMapped", "ShmemPmdMapped_bytes"],
  ["Slab", "Slab_bytes"],
  ["SwapCached", "SwapCached_bytes"],
  ["SwapFree", "SwapFree_bytes"],
  ["SwapTotal", "SwapTotal_bytes"],
  ["Unevictable", "Unevictable_bytes"],
  ["VmallocChunk", "VmallocChunk_bytes"],
  ["VmallocTotal", "VmallocTotal_bytes"],
  ["VmallocUsed", "VmallocUsed_bytes"],
  ["Writeback", "Writeback_bytes"],
  ["WritebackTmp", "WritebackTmp_bytes"],
  ["Zswap", "Zswap_bytes"],
  ["Zswapped", "Zswapped_bytes"],
  // Page counts, never in kB: node_exporter keeps the raw value and no _bytes suffix.
  ["HugePages_Free", "HugePages_Free"],
  ["HugePages_Rsvd", "HugePages_Rsvd"],
  ["HugePages_Surp", "HugePages_Surp"],
  ["HugePages_Total", "HugePages_Total"],
]);

/** Descriptors for every exported field, built once. */
const DESCRIPTORS: ReadonlyMap<string, MetricDesc> = new Map(
  [...EXPORTED_FIELDS].map(([key, name]) => [key, gauge(`node_memory_${name}`, `Memory information field ${name}.`)]),
);

export interface MeminfoEntry {
  /** The key without its colon, e.g. "Active(anon)". */
  key: string;
  /** In bytes when the line has a kB unit, else the raw number. */
  value: number;
}

/**
 * Parses /proc/meminfo lines `Key: value [kB]` like procfs: a value with the kB unit is
 * multiplied by 1024; other units and non-numbers are malformed lines (skipped).
 */
export function parseMeminfo(text: string): { entries: MeminfoEntry[]; problems: ParseProblems } {
  const problems = noProblems();
  const entries: MeminfoEntry[] = [];
  const lines = splitLines(text);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const fields = splitFields(line);
    if (fields.length === 0) continue;
    if (fields.length < 2 || fields.length > 3 || !fields[0].endsWith(":")) {
      noteProblem(problems, index, line, "expected 'Key: value [kB]'");
      continue;
    }
    const raw = parseUnsigned(fields[1]);
    if (Number.isNaN(raw)) {
      noteProblem(problems, index, line, "value is not a number");
      continue;
    }
    if (fields.length === 3 && fields[2] !== "kB") {
      noteProblem(problems, index, line, `unsupported unit ${JSON.stringify(fields[2])}`);
      continue;
    }
    entries.push({ key: fields[0].slice(0, -1), value: fields.length === 3 ? raw * 1024 : raw });
  }
  return { entries, problems };
}

class MeminfoCollector implements Collector {
  readonly name = "meminfo";
  private readonly malformed: MalformedLines;

  constructor(
    private readonly paths: HostPaths,
    logger: Logger,
  ) {
    this.malformed = new MalformedLines("meminfo", logger);
  }

  update(out: MetricSink): void {
    const file = this.paths.proc("meminfo");
    const { entries, problems } = parseMeminfo(readRequiredHostFile(file));
    this.malformed.record(file, problems);
    if (entries.length === 0) throw new CollectorError(`${file}: no "Key: value" lines`);
    // procfs keeps the last of duplicated keys; a map also avoids emitting a series twice.
    const latest = new Map<string, number>();
    for (const { key, value } of entries) if (DESCRIPTORS.has(key)) latest.set(key, value);
    for (const [key, value] of latest) out.add(DESCRIPTORS.get(key)!, value);
    this.malformed.emit(out);
  }
}

export const collector: CollectorDefinition = {
  name: "meminfo",
  defaultEnabled: true,
  create({ paths, logger }) {
    return new MeminfoCollector(paths, logger);
  },
};
