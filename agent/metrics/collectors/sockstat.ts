import { readPageSize } from "../../host/page-size.js";
import { readTextIfExists } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { gauge, type MetricDesc, type MetricSink } from "../model.js";
import { parseIntAutoBase } from "../parsers/auto-base-int.js";
import { quoteExcerpt, splitLines } from "../parsers/text.js";

/**
 * node_exporter's sockstat collector: /proc/net/sockstat and /proc/net/sockstat6, one gauge per
 * protocol and state (node_sockstat_TCP_inuse), plus *_mem_bytes for the page counts.
 */

/** The per-protocol states procfs knows, in node_exporter's order. */
const STATES = ["orphan", "tw", "alloc", "mem", "memory"] as const;
type OptionalState = (typeof STATES)[number];

export interface SockstatProtocol {
  protocol: string;
  /** 0 when the line has no inuse pair, as procfs's non-pointer InUse. */
  inuse: number;
  states: Partial<Record<OptionalState, number>>;
}

export interface Sockstat {
  /** "sockets: used N" (IPv4 file only). */
  used?: number;
  protocols: SockstatProtocol[];
}

function quote(text: string): string {
  return quoteExcerpt(text, 80);
}

/**
 * Parses a sockstat file: "PROTO: key value key value ...", single spaces. As procfs does, a line
 * with fewer than a protocol and one pair, an odd number of fields or a value that is not an
 * integer makes the file unusable (CollectorError); blank lines are skipped. Keys other than the
 * known states are ignored; a repeated protocol line is ignored after its first occurrence.
 */
export function parseSockstat(text: string, source = "/proc/net/sockstat"): Sockstat {
  const result: Sockstat = { protocols: [] };
  const seen = new Set<string>();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === "") continue;
    const fields = line.split(" ");
    if (fields.length < 3 || fields.length % 2 === 0) {
      throw new CollectorError(`${source}: line ${i + 1}: expected "PROTO: key value ...": ${quote(line)}`);
    }
    const pairs = new Map<string, number>();
    for (let f = 1; f < fields.length; f += 2) {
      const value = parseIntAutoBase(fields[f + 1]);
      if (Number.isNaN(value))
        throw new CollectorError(`${source}: line ${i + 1}: ${quote(fields[f])} is not an integer: ${quote(fields[f + 1])}`);
      pairs.set(fields[f], value);
    }
    const protocol = fields[0].endsWith(":") ? fields[0].slice(0, -1) : fields[0];
    if (protocol === "sockets") {
      result.used = pairs.get("used") ?? 0;
      continue;
    }
    if (seen.has(protocol)) continue;
    seen.add(protocol);
    const states: Partial<Record<OptionalState, number>> = {};
    for (const state of STATES) {
      const value = pairs.get(state);
      if (value !== undefined) states[state] = value;
    }
    result.protocols.push({ protocol, inuse: pairs.get("inuse") ?? 0, states });
  }
  return result;
}

const socketsUsedDesc = gauge("node_sockstat_sockets_used", "Number of IPv4 sockets in use.");
/** The sockstat family name's part after node_sockstat_ may only hold these characters. */
const METRIC_NAME_TAIL = /^[a-zA-Z0-9_:]+$/;
const DEFAULT_PAGE_SIZE = 4096;
const MAX_CACHED_DESCS = 1024;

export const collector: CollectorDefinition = {
  name: "sockstat",
  defaultEnabled: true,
  create({ paths, logger }) {
    let pageSize = readPageSize(paths.proc("self", "auxv"));
    if (pageSize === undefined) {
      logger.warn(
        { file: paths.proc("self", "auxv"), assumed: DEFAULT_PAGE_SIZE },
        "cannot read the page size; *_mem_bytes assume 4096-byte pages",
      );
      pageSize = DEFAULT_PAGE_SIZE;
    }
    const descs = new Map<string, MetricDesc | null>();
    const descOf = (protocol: string, state: string): MetricDesc | null => {
      const key = `${protocol}_${state}`;
      let desc = descs.get(key);
      if (desc === undefined) {
        if (descs.size >= MAX_CACHED_DESCS) descs.clear();
        desc = METRIC_NAME_TAIL.test(key) ? gauge(`node_sockstat_${key}`, `Number of ${protocol} sockets in state ${state}.`) : null;
        if (desc === null) logger.warn({ protocol }, "sockstat protocol name is not usable in a metric name; left out");
        descs.set(key, desc);
      }
      return desc;
    };
    const emit = (out: MetricSink, stat: Sockstat, isIPv6: boolean): void => {
      if (!isIPv6 && stat.used !== undefined) out.add(socketsUsedDesc, stat.used);
      for (const { protocol, inuse, states } of stat.protocols) {
        const add = (state: string, value: number) => {
          const desc = descOf(protocol, state);
          if (desc !== null) out.add(desc, value);
        };
        add("inuse", inuse);
        for (const state of STATES) {
          const value = states[state];
          if (value !== undefined) add(state, value);
        }
        if (states.mem !== undefined) add("mem_bytes", states.mem * pageSize);
      }
    };
    const files = [
      { file: paths.proc("net", "sockstat"), isIPv6: false },
      // Absent when IPv6 is disabled.
      { file: paths.proc("net", "sockstat6"), isIPv6: true },
    ];
    return {
      name: "sockstat",
      update(out) {
        // Both files are parsed before anything is emitted: a bad file fails the whole scrape, as in node_exporter.
        const parsed: Array<{ stat: Sockstat; isIPv6: boolean }> = [];
        for (const { file, isIPv6 } of files) {
          const text = readTextIfExists(file);
          if (text !== undefined) parsed.push({ stat: parseSockstat(text, file), isIPv6 });
        }
        for (const { stat, isIPv6 } of parsed) emit(out, stat, isIPv6);
      },
    };
  },
};
