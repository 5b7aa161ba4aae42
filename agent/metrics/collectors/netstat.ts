import { readTextIfExists } from "../../host/read.js";
import { compileGoRegex } from "../../config/values.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { untyped, type MetricDesc } from "../model.js";
import { parseGoFloat } from "../parsers/go-float.js";
import { quoteExcerpt, splitFields, splitLines } from "../parsers/text.js";

/**
 * node_exporter's netstat collector: the counters of /proc/net/netstat and /proc/net/snmp
 * ("Proto: names" / "Proto: values" line pairs) and /proc/net/snmp6 ("Ip6InReceives 7"), as
 * untyped node_netstat_<Proto>_<Name> for the names matching --collector.netstat.fields.
 */

/** Protocol -> counter name -> value. A later file's protocol replaces an earlier one's, as Go's maps.Copy. */
export type ProtocolStats = Map<string, Map<string, number>>;

/** Whether a counter is wanted; values of unwanted counters are not parsed (or validated). */
export type FieldSelector = (protocol: string, name: string) => boolean;

const ALL_FIELDS: FieldSelector = () => true;

function quote(text: string): string {
  return quoteExcerpt(text, 80);
}

function parseValue(text: string, source: string, line: number, key: string): number {
  const value = parseGoFloat(text);
  if (value === undefined) throw new CollectorError(`${source}: line ${line}: value of ${key} is not a number: ${quote(text)}`);
  return value;
}

/**
 * Parses /proc/net/netstat or /proc/net/snmp: each header line "Proto: A B C" is followed by its
 * value line "Proto: 1 2 3", fields separated by single spaces. As in node_exporter, a header
 * without its value line, a count mismatch or a bad value of a wanted field makes the file
 * unusable (CollectorError). Blank lines between pairs are skipped.
 */
export function parseNetstatPairs(text: string, source = "/proc/net/netstat", wanted: FieldSelector = ALL_FIELDS): ProtocolStats {
  const stats: ProtocolStats = new Map();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === "") continue;
    const names = lines[i].split(" ");
    const prefix = names[0];
    if (!prefix.endsWith(":") || prefix.length < 2) {
      throw new CollectorError(`${source}: line ${i + 1}: expected "Protocol:" at the start: ${quote(lines[i])}`);
    }
    if (i + 1 >= lines.length) throw new CollectorError(`${source}: line ${i + 1}: ${prefix} header has no value line`);
    const values = lines[++i].split(" ");
    if (values[0] !== prefix) {
      throw new CollectorError(`${source}: line ${i + 1}: expected values for ${prefix}, got ${quote(lines[i])}`);
    }
    if (values.length !== names.length) {
      throw new CollectorError(`${source}: line ${i + 1}: ${prefix} has ${names.length - 1} names but ${values.length - 1} values`);
    }
    const protocol = prefix.slice(0, -1);
    const fields = new Map<string, number>();
    for (let f = 1; f < names.length; f++) {
      if (wanted(protocol, names[f])) fields.set(names[f], parseValue(values[f], source, i + 1, `${protocol}${names[f]}`));
    }
    stats.set(protocol, fields);
  }
  return stats;
}

/** ASCII whitespace as Go's strings.Fields sees it. */
function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

function skipSpaces(line: string, from: number): number {
  let i = from;
  while (i < line.length && isSpace(line.charCodeAt(i))) i++;
  return i;
}

function skipNonSpaces(line: string, from: number): number {
  let i = from;
  while (i < line.length && !isSpace(line.charCodeAt(i))) i++;
  return i;
}

/**
 * Parses /proc/net/snmp6: "Ip6InReceives   7" per line. The protocol is the name up to and
 * including its first "6" (Ip6, Icmp6, Udp6, UdpLite6); lines without a "6" or with fewer than
 * two fields are skipped, as in node_exporter.
 */
export function parseSnmp6(text: string, source = "/proc/net/snmp6", wanted: FieldSelector = ALL_FIELDS): ProtocolStats {
  const stats: ProtocolStats = new Map();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    // Most lines are unwanted: look at the first field before splitting the rest.
    const start = skipSpaces(line, 0);
    const end = skipNonSpaces(line, start);
    const six = line.indexOf("6", start);
    if (six < 0 || six >= end || skipSpaces(line, end) >= line.length) continue;
    const protocol = line.slice(start, six + 1);
    const name = line.slice(six + 1, end);
    if (!wanted(protocol, name)) continue;
    const value = splitFields(line.slice(end))[0];
    let byName = stats.get(protocol);
    if (byName === undefined) stats.set(protocol, (byName = new Map()));
    byName.set(name, parseValue(value, source, i + 1, protocol + name));
  }
  return stats;
}

/** Characters a metric name may hold after the node_netstat_ prefix. */
const METRIC_NAME_TAIL = /^[a-zA-Z0-9_:]*$/;
/** Bound on the per-key caches; kernel files have a few hundred counters. */
const MAX_CACHED_KEYS = 4096;

export const collector: CollectorDefinition = {
  name: "netstat",
  defaultEnabled: true,
  create({ paths, config, logger }) {
    const fieldPattern = compileGoRegex(config.collectors.netstat.fields);
    // The field regex is evaluated once per counter name, not on every scrape; keyed by protocol,
    // then name, so a scrape builds no "protocol_name" string for a known counter.
    const selected = new Map<string, Map<string, boolean>>();
    let selectedKeys = 0;
    const descs = new Map<string, MetricDesc>();
    const wanted: FieldSelector = (protocol, name) => {
      let byName = selected.get(protocol);
      if (byName === undefined) selected.set(protocol, (byName = new Map()));
      let match = byName.get(name);
      if (match === undefined) {
        if (selectedKeys >= MAX_CACHED_KEYS) {
          for (const m of selected.values()) m.clear();
          selectedKeys = 0;
        }
        const key = `${protocol}_${name}`;
        match = fieldPattern.test(key);
        if (match && !METRIC_NAME_TAIL.test(key)) {
          logger.warn({ field: key }, "netstat field matches --collector.netstat.fields but is not a valid metric name; left out");
          match = false;
        }
        byName.set(name, match);
        selectedKeys++;
      }
      return match;
    };
    const descOf = (protocol: string, name: string): MetricDesc => {
      const key = `${protocol}_${name}`;
      let desc = descs.get(key);
      if (desc === undefined) {
        if (descs.size >= MAX_CACHED_KEYS) descs.clear();
        desc = untyped(`node_netstat_${key}`, `Statistic ${protocol}${name}.`);
        descs.set(key, desc);
      }
      return desc;
    };
    const sources = [
      { file: paths.proc("net", "netstat"), parse: parseNetstatPairs },
      { file: paths.proc("net", "snmp"), parse: parseNetstatPairs },
      // Absent when IPv6 is disabled.
      { file: paths.proc("net", "snmp6"), parse: parseSnmp6 },
    ];
    return {
      name: "netstat",
      update(out) {
        const merged: ProtocolStats = new Map();
        for (const { file, parse } of sources) {
          const text = readTextIfExists(file);
          if (text === undefined) continue;
          for (const [protocol, fields] of parse(text, file, wanted)) merged.set(protocol, fields);
        }
        for (const [protocol, fields] of merged) {
          for (const [name, value] of fields) out.add(descOf(protocol, name), value);
        }
      },
    };
  },
};
