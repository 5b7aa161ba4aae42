import { CollectorError, type CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { counter } from "../model.js";
import { parseUint } from "../parsers/numbers.js";
import { goFields, goScanLines } from "../parsers/go-text.js";
import { quoteExcerpt } from "../parsers/text.js";

/**
 * node_exporter's softirqs collector (collector/softirqs_linux.go with procfs's FS.Softirqs): the
 * per-CPU counts of each softirq vector in /proc/softirqs, as node_softirqs_functions_total
 * {cpu, type}. Only the ten vectors procfs knows are read; no series when the file does not
 * exist; an empty file or a count that is not a uint64 fails the collector.
 */

const functionsDesc = counter("node_softirqs_functions_total", "Softirq counts per CPU.", ["cpu", "type"]);

/** The vectors procfs reads, in node_exporter's emission order. */
export const SOFTIRQ_TYPES = ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"] as const;
export type SoftirqType = (typeof SOFTIRQ_TYPES)[number];
const TYPES: ReadonlySet<string> = new Set(SOFTIRQ_TYPES);

/**
 * procfs's parseSoftirqs: the first line (the CPU header) is skipped, lines with fewer than two
 * fields are ignored, and each known "<TYPE>:" line gives one count per CPU (strconv.ParseUint);
 * a repeated line replaces the earlier one. Throws CollectorError for an empty file or a bad count.
 */
export function parseSoftirqs(text: string, file = "softirqs"): Map<SoftirqType, number[]> {
  const lines = goScanLines(text, file);
  if (lines.length === 0) throw new CollectorError(`${file}: softirqs empty`);
  const vectors = new Map<SoftirqType, number[]>();
  for (let i = 1; i < lines.length; i++) {
    const parts = goFields(lines[i]);
    if (parts.length < 2 || !parts[0].endsWith(":")) continue;
    const type = parts[0].slice(0, -1);
    if (!TYPES.has(type)) continue;
    const counts = parts.slice(1).map((count, cpu) => {
      const value = parseUint(count);
      if (Number.isNaN(value)) throw new CollectorError(`${file}: line ${i + 1}: couldn't parse ${quoteExcerpt(count)} (${type}${cpu})`);
      return value;
    });
    vectors.set(type as SoftirqType, counts);
  }
  return vectors;
}

export const collector: CollectorDefinition = {
  name: "softirqs",
  defaultEnabled: false,
  create({ paths }) {
    const file = paths.proc("softirqs");
    return {
      name: "softirqs",
      update(out) {
        const text = readHostFile(file);
        if (text === undefined) return;
        const vectors = parseSoftirqs(text, file);
        for (const type of SOFTIRQ_TYPES) {
          vectors.get(type)?.forEach((value, cpu) => out.add(functionsDesc, value, String(cpu), type));
        }
      },
    };
  },
};
