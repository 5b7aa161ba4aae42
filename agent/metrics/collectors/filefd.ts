import type { HostPaths } from "../../host/paths.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { readRequiredHostFile } from "../host-file.js";
import { gauge, type MetricSink } from "../model.js";
import { parseDecimal, splitFields } from "../parsers/text.js";

/** node_exporter's filefd collector (collector/filefd_linux.go): /proc/sys/fs/file-nr. */

const allocated = gauge("node_filefd_allocated", "File descriptor statistics: allocated.");
const maximum = gauge("node_filefd_maximum", "File descriptor statistics: maximum.");

/**
 * file-nr is one line of three numbers: allocated handles, free handles (always 0 since
 * Linux 2.6) and the maximum. CollectorError when it does not hold them.
 */
export function parseFileNr(text: string): { allocated: number; maximum: number } {
  const fields = splitFields(text.length > 256 ? text.slice(0, 256) : text);
  if (fields.length < 3) throw new CollectorError(`expected 3 numbers, got ${JSON.stringify(text.slice(0, 80))}`);
  const values = { allocated: parseDecimal(fields[0]), maximum: parseDecimal(fields[2]) };
  if (Number.isNaN(values.allocated) || Number.isNaN(values.maximum)) {
    throw new CollectorError(`expected 3 numbers, got ${JSON.stringify(text.slice(0, 80))}`);
  }
  return values;
}

class FilefdCollector implements Collector {
  readonly name = "filefd";

  constructor(private readonly paths: HostPaths) {}

  update(out: MetricSink): void {
    const file = this.paths.proc("sys", "fs", "file-nr");
    const text = readRequiredHostFile(file);
    let values: { allocated: number; maximum: number };
    try {
      values = parseFileNr(text);
    } catch (err) {
      throw new CollectorError(`${file}: ${(err as Error).message}`, { cause: err });
    }
    out.add(allocated, values.allocated);
    out.add(maximum, values.maximum);
  }
}

export const collector: CollectorDefinition = {
  name: "filefd",
  defaultEnabled: true,
  create({ paths }) {
    return new FilefdCollector(paths);
  },
};
