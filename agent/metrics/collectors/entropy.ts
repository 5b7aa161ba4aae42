import type { HostPaths } from "../../host/paths.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { readSysAttribute } from "../host-file.js";
import { gauge, type MetricSink } from "../model.js";
import { parseUnsigned } from "../parsers/text.js";

/** node_exporter's entropy collector (collector/entropy_linux.go): /proc/sys/kernel/random. */

const availableBits = gauge("node_entropy_available_bits", "Bits of available entropy.");
const poolSizeBits = gauge("node_entropy_pool_size_bits", "Bits of entropy pool.");

/** A one-number file such as entropy_avail; NaN when it does not hold an unsigned integer. */
export function parseEntropyValue(text: string): number {
  return parseUnsigned(text.trim());
}

class EntropyCollector implements Collector {
  readonly name = "entropy";

  constructor(private readonly paths: HostPaths) {}

  update(out: MetricSink): void {
    // node_exporter fails the collector when either file is missing or unreadable.
    out.add(availableBits, this.read("entropy_avail"));
    out.add(poolSizeBits, this.read("poolsize"));
  }

  private read(name: string): number {
    const file = this.paths.proc("sys", "kernel", "random", name);
    const text = readSysAttribute(file);
    if (text === undefined) throw new CollectorError(`${file}: missing or unreadable`);
    const value = parseEntropyValue(text);
    if (Number.isNaN(value)) throw new CollectorError(`${file}: expected an unsigned integer, got ${JSON.stringify(text.slice(0, 40))}`);
    return value;
  }
}

export const collector: CollectorDefinition = {
  name: "entropy",
  defaultEnabled: true,
  create({ paths }) {
    return new EntropyCollector(paths);
  },
};
