import type { HostPaths } from "../../host/paths.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { readRequiredHostFile } from "../host-file.js";
import { gauge, type MetricSink } from "../model.js";
import { parseDecimal, splitFields } from "../parsers/text.js";

/** node_exporter's loadavg collector (collector/loadavg_linux.go): the first three fields of /proc/loadavg. */

const load1 = gauge("node_load1", "1m load average.");
const load5 = gauge("node_load5", "5m load average.");
const load15 = gauge("node_load15", "15m load average.");

/** The 1m, 5m and 15m load averages; CollectorError when the file does not hold them. */
export function parseLoadavg(text: string): [number, number, number] {
  const fields = splitFields(text.length > 256 ? text.slice(0, 256) : text);
  if (fields.length < 3) throw new CollectorError(`expected at least 3 fields, got ${JSON.stringify(text.slice(0, 80))}`);
  const loads = [parseDecimal(fields[0]), parseDecimal(fields[1]), parseDecimal(fields[2])];
  const bad = loads.findIndex((v) => Number.isNaN(v));
  if (bad !== -1) throw new CollectorError(`load ${JSON.stringify(fields[bad].slice(0, 40))} is not a number`);
  return [loads[0], loads[1], loads[2]];
}

class LoadavgCollector implements Collector {
  readonly name = "loadavg";

  constructor(private readonly paths: HostPaths) {}

  update(out: MetricSink): void {
    const file = this.paths.proc("loadavg");
    const text = readRequiredHostFile(file);
    let loads: [number, number, number];
    try {
      loads = parseLoadavg(text);
    } catch (err) {
      throw new CollectorError(`${file}: ${(err as Error).message}`, { cause: err });
    }
    out.add(load1, loads[0]);
    out.add(load5, loads[1]);
    out.add(load15, loads[2]);
  }
}

export const collector: CollectorDefinition = {
  name: "loadavg",
  defaultEnabled: true,
  create({ paths }) {
    return new LoadavgCollector(paths);
  },
};
