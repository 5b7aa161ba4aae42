import type { Logger } from "pino";
import { compileGoRegex } from "../../config/values.js";
import type { HostPaths } from "../../host/paths.js";
import type { Collector, CollectorDefinition } from "../collector.js";
import { readRequiredHostFile } from "../host-file.js";
import { MalformedLines } from "../malformed-lines.js";
import { untyped, type MetricDesc, type MetricSink } from "../model.js";
import { noProblems, noteProblem, type ParseProblems } from "../parsers/parse-problems.js";
import { parseDecimal, splitFields, splitLines } from "../parsers/text.js";

/**
 * node_exporter's vmstat collector (collector/vmstat_linux.go): the /proc/vmstat fields that
 * match --collector.vmstat.fields, as untyped node_vmstat_<field>.
 */

export interface VmstatEntry {
  name: string;
  value: number;
}

/** Parses `name value` lines; a line without a numeric value is skipped and reported. */
export function parseVmstat(text: string): { entries: VmstatEntry[]; problems: ParseProblems } {
  const problems = noProblems();
  const entries: VmstatEntry[] = [];
  const lines = splitLines(text);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const fields = splitFields(line);
    if (fields.length === 0) continue;
    const value = fields.length >= 2 ? parseDecimal(fields[1]) : NaN;
    if (Number.isNaN(value) || !isMetricNamePart(fields[0])) {
      noteProblem(problems, index, line, "expected 'name value'");
      continue;
    }
    entries.push({ name: fields[0], value });
  }
  return { entries, problems };
}

/** Field names become metric names: only [a-zA-Z0-9_] keep the exposition valid. */
function isMetricNamePart(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
    if (!ok) return false;
  }
  return name.length > 0;
}

class VmstatCollector implements Collector {
  readonly name = "vmstat";
  private readonly malformed: MalformedLines;
  /** Descriptors per field name, made on first sight: the field set is fixed per kernel. */
  private readonly descriptors = new Map<string, MetricDesc | null>();

  constructor(
    private readonly paths: HostPaths,
    private readonly fields: RegExp,
    logger: Logger,
  ) {
    this.malformed = new MalformedLines("vmstat", logger);
  }

  update(out: MetricSink): void {
    const file = this.paths.proc("vmstat");
    const { entries, problems } = parseVmstat(readRequiredHostFile(file));
    this.malformed.record(file, problems);
    const seen = new Set<string>();
    for (const { name, value } of entries) {
      let desc = this.descriptors.get(name);
      if (desc === undefined) {
        desc = this.fields.test(name) ? untyped(`node_vmstat_${name}`, `/proc/vmstat information field ${name}.`) : null;
        this.descriptors.set(name, desc);
      }
      if (desc === null || seen.has(name)) continue;
      seen.add(name);
      out.add(desc, value);
    }
    this.malformed.emit(out);
  }
}

export const collector: CollectorDefinition = {
  name: "vmstat",
  defaultEnabled: true,
  create({ paths, config, logger }) {
    return new VmstatCollector(paths, compileGoRegex(config.collectors.vmstat.fields), logger);
  },
};
