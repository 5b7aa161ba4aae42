import { CollectorError, type CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { counter, gauge } from "../model.js";
import { parseHexUint64, parseUint } from "../parsers/numbers.js";
import { goFields, goScanLines } from "../parsers/go-text.js";
import { quoteExcerpt } from "../parsers/text.js";

/**
 * node_exporter's ipvs collector (collector/ipvs_linux.go with procfs's FS.IPVSStats and
 * FS.IPVSBackendStatus): the IPVS totals of /proc/net/ip_vs_stats and, from /proc/net/ip_vs, the
 * active and inactive connections and weight of each real server, summed over the backends that
 * share the label values --collector.ipvs.backend-labels keeps. No series when ip_vs_stats does
 * not exist (no IPVS on this host); a malformed file, or ip_vs missing beside ip_vs_stats, fails
 * the collector.
 */

export const IPVS_BACKEND_LABELS = ["local_address", "local_port", "remote_address", "remote_port", "proto", "local_mark"] as const;
export type IpvsBackendLabel = (typeof IPVS_BACKEND_LABELS)[number];
/** node_exporter's default for --collector.ipvs.backend-labels. */
export const DEFAULT_IPVS_BACKEND_LABELS = IPVS_BACKEND_LABELS.join(",");

const connectionsDesc = counter("node_ipvs_connections_total", "The total number of connections made.");
const incomingPacketsDesc = counter("node_ipvs_incoming_packets_total", "The total number of incoming packets.");
const outgoingPacketsDesc = counter("node_ipvs_outgoing_packets_total", "The total number of outgoing packets.");
const incomingBytesDesc = counter("node_ipvs_incoming_bytes_total", "The total amount of incoming data.");
const outgoingBytesDesc = counter("node_ipvs_outgoing_bytes_total", "The total amount of outgoing data.");

/**
 * node_exporter's parseIpvsLabels: the comma-separated names that are known, in node_exporter's
 * fixed order (empty items ignored, so "" means no labels); CollectorError naming the unknown ones.
 */
export function parseIpvsLabels(labelString: string): IpvsBackendLabel[] {
  const given = new Set(labelString.split(",").filter((label) => label !== ""));
  const labels = IPVS_BACKEND_LABELS.filter((label) => given.delete(label));
  if (given.size > 0) {
    throw new CollectorError(`unknown IPVS backend labels: ${JSON.stringify([...given].sort().join(", "))}`);
  }
  return labels;
}

export interface IpvsStats {
  readonly connections: number;
  readonly incomingPackets: number;
  readonly outgoingPackets: number;
  readonly incomingBytes: number;
  readonly outgoingBytes: number;
}

/**
 * procfs's parseIPVSStats: the file must have at least three lines (three newlines), and its
 * third line exactly five hexadecimal uint64 totals.
 */
export function parseIpvsStats(text: string, file = "ip_vs_stats"): IpvsStats {
  const lines = text.split("\n");
  if (lines.length < 4) throw new CollectorError(`${file}: ip_vs_stats corrupt: too short`);
  const fields = goFields(lines[2]);
  if (fields.length !== 5) throw new CollectorError(`${file}: ip_vs_stats corrupt: unexpected number of fields`);
  const values = fields.map((field) => {
    const value = parseHexUint64(field);
    if (Number.isNaN(value)) throw new CollectorError(`${file}: total ${quoteExcerpt(field, 60)} is not a hexadecimal uint64`);
    return value;
  });
  return {
    connections: values[0],
    incomingPackets: values[1],
    outgoingPackets: values[2],
    incomingBytes: values[3],
    outgoingBytes: values[4],
  };
}

export interface IpvsBackend {
  /** Go's net.IP.String() of the virtual address; "" for a firewall-mark service. */
  readonly localAddress: string;
  readonly localPort: number;
  readonly localMark: string;
  readonly proto: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly activeConn: number;
  readonly inactConn: number;
  readonly weight: number;
}

/**
 * procfs's parseIPVSBackendStatus: "TCP|UDP <addr:port>" and "FWM <mark>" lines start a service,
 * "-> <addr:port> <forward> <weight> <active> <inactive>" lines are its real servers; header lines,
 * other protocols (SCTP) and short lines are skipped, as in procfs (real servers after an SCTP
 * service are counted for the service before it there too). A one-field line that is not a
 * header makes procfs panic; here it is a CollectorError, like a malformed address or count.
 */
export function parseIpvsBackends(text: string, file = "ip_vs"): IpvsBackend[] {
  const backends: IpvsBackend[] = [];
  let proto = "";
  let localMark = "";
  let localAddress = "";
  let localPort = 0;
  const lines = goScanLines(text, file);
  for (let i = 0; i < lines.length; i++) {
    const fields = goFields(lines[i]);
    if (fields.length === 0) continue;
    const where = `${file}: line ${i + 1}`;
    if (fields[0] === "IP" || fields[0] === "Prot") continue;
    if (fields.length < 2) throw new CollectorError(`${where}: unexpected line ${quoteExcerpt(lines[i], 60)}`);
    if (fields[1] === "RemoteAddress:Port") continue;
    if (fields[0] === "TCP" || fields[0] === "UDP") {
      proto = fields[0];
      localMark = "";
      [localAddress, localPort] = parseIpPort(fields[1], where);
    } else if (fields[0] === "FWM") {
      proto = fields[0];
      localMark = fields[1];
      localAddress = "";
      localPort = 0;
    } else if (fields[0] === "->" && fields.length >= 6) {
      const [remoteAddress, remotePort] = parseIpPort(fields[1], where);
      const [weight, activeConn, inactConn] = fields.slice(3, 6).map((field) => {
        const value = parseUint(field);
        if (Number.isNaN(value)) throw new CollectorError(`${where}: count ${quoteExcerpt(field, 60)} is not a uint64`);
        return value;
      });
      backends.push({ localAddress, localPort, localMark, proto, remoteAddress, remotePort, activeConn, inactConn, weight });
    }
  }
  return backends;
}

function isHexDigit(c: number): boolean {
  const lower = c | 0x20;
  return (c >= 48 && c <= 57) || (lower >= 97 && lower <= 102);
}

/**
 * procfs's parseIPPort: 13 characters are 8 hex digits of IPv4 then ":" and a 4-digit hex port;
 * 46 are "[<IPv6 as Go's net.ParseIP reads it, 39 characters>]:<port>". Only the lengths and the
 * parts procfs reads are checked. Returns the address as Go's net.IP.String() prints it.
 */
export function parseIpPort(s: string, where = "ip_vs"): [address: string, port: number] {
  let address: string;
  if (s.length === 13) {
    const bytes: number[] = [];
    for (let k = 0; k < 8; k += 2) {
      if (!isHexDigit(s.charCodeAt(k)) || !isHexDigit(s.charCodeAt(k + 1)))
        throw new CollectorError(`${where}: invalid IP ${quoteExcerpt(s, 60)}`);
      bytes.push(parseInt(s.slice(k, k + 2), 16));
    }
    address = bytes.join(".");
  } else if (s.length === 46) {
    const ip = parseIPv6(s.slice(1, 40));
    if (ip === undefined) throw new CollectorError(`${where}: invalid IPv6 address ${quoteExcerpt(s.slice(1, 40), 60)}`);
    address = formatIPv6(ip);
  } else {
    throw new CollectorError(`${where}: unexpected IP:Port ${quoteExcerpt(s, 60)}`);
  }
  const portText = s.slice(-4);
  for (let k = 0; k < 4; k++)
    if (!isHexDigit(portText.charCodeAt(k))) throw new CollectorError(`${where}: invalid port ${quoteExcerpt(portText, 60)}`);
  return [address, parseInt(portText, 16)];
}

/** netip.ParseAddr's IPv4 fields (for an IPv6 address's embedded IPv4 tail): four decimal bytes, no leading zeros. */
function parseIPv4Into(s: string, out: Uint8Array, at: number): boolean {
  const parts = s.split(".");
  if (parts.length !== 4) return false;
  for (let k = 0; k < 4; k++) {
    const part = parts[k];
    if (!/^[0-9]{1,3}$/.test(part) || (part.length > 1 && part[0] === "0")) return false;
    const value = Number(part);
    if (value > 255) return false;
    out[at + k] = value;
  }
  return true;
}

/** net.ParseIP of an IPv6 text (netip's parseIPv6: 1-4 hex digits a group, one "::", an IPv4 tail); no zones. */
export function parseIPv6(text: string): Uint8Array | undefined {
  // netip.ParseAddr picks IPv6 only when a ":" comes before any "." or "%"; net.ParseIP refuses zones.
  const first = text.search(/[.:%]/);
  if (first === -1 || text[first] !== ":" || text.includes("%")) return undefined;
  const ip = new Uint8Array(16);
  let s = text;
  let ellipsis = -1;
  if (s.startsWith("::")) {
    ellipsis = 0;
    s = s.slice(2);
    if (s === "") return ip;
  }
  let i = 0;
  while (i < 16) {
    let off = 0;
    let acc = 0;
    while (off < s.length && isHexDigit(s.charCodeAt(off))) {
      if (off > 3) return undefined;
      acc = acc * 16 + parseInt(s[off], 16);
      off++;
    }
    if (off === 0) return undefined;
    if (off < s.length && s[off] === ".") {
      if ((ellipsis < 0 && i !== 12) || i + 4 > 16) return undefined;
      if (!parseIPv4Into(s, ip, i)) return undefined;
      s = "";
      i += 4;
      break;
    }
    ip[i] = acc >> 8;
    ip[i + 1] = acc & 0xff;
    i += 2;
    s = s.slice(off);
    if (s === "") break;
    if (s[0] !== ":" || s.length === 1) return undefined;
    s = s.slice(1);
    if (s[0] === ":") {
      if (ellipsis >= 0) return undefined;
      ellipsis = i;
      s = s.slice(1);
      if (s === "") break;
    }
  }
  if (s !== "") return undefined;
  if (i < 16) {
    if (ellipsis < 0) return undefined;
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) ip[j + n] = ip[j];
    ip.fill(0, ellipsis, ellipsis + n);
  } else if (ellipsis >= 0) {
    return undefined;
  }
  return ip;
}

/** Go's net.IP.String() for 16 bytes: dotted for IPv4-mapped, else RFC 5952 (first longest run of 2+ zero groups as "::"). */
export function formatIPv6(ip: Uint8Array): string {
  if (ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff) return Array.from(ip.subarray(12)).join(".");
  const groups = Array.from({ length: 8 }, (_, k) => (ip[2 * k] << 8) | ip[2 * k + 1]);
  let zeroStart = -1;
  let zeroLength = 1;
  for (let k = 0; k < 8; k++) {
    let j = k;
    while (j < 8 && groups[j] === 0) j++;
    if (j - k > zeroLength) {
      zeroStart = k;
      zeroLength = j - k;
    }
  }
  if (zeroStart === -1) return groups.map((g) => g.toString(16)).join(":");
  const head = groups.slice(0, zeroStart).map((g) => g.toString(16));
  const tail = groups.slice(zeroStart + zeroLength).map((g) => g.toString(16));
  return `${head.join(":")}::${tail.join(":")}`;
}

interface BackendSum {
  readonly labelValues: string[];
  active: number;
  inactive: number;
  weight: number;
}

/** node_exporter's Update: backends summed per distinct value list of the kept labels. */
export function sumBackends(backends: readonly IpvsBackend[], labels: readonly IpvsBackendLabel[]): BackendSum[] {
  const sums = new Map<string, BackendSum>();
  for (const backend of backends) {
    const labelValues = labels.map((label) => {
      switch (label) {
        case "local_address":
          return backend.localAddress;
        case "local_port":
          return String(backend.localPort);
        case "remote_address":
          return backend.remoteAddress;
        case "remote_port":
          return String(backend.remotePort);
        case "proto":
          return backend.proto;
        case "local_mark":
          return backend.localMark;
      }
    });
    const key = JSON.stringify(labelValues);
    let sum = sums.get(key);
    if (sum === undefined) {
      sum = { labelValues, active: 0, inactive: 0, weight: 0 };
      sums.set(key, sum);
    }
    sum.active += backend.activeConn;
    sum.inactive += backend.inactConn;
    sum.weight += backend.weight;
  }
  return [...sums.values()];
}

export const collector: CollectorDefinition = {
  name: "ipvs",
  defaultEnabled: true,
  create({ paths, config }) {
    // node_exporter refuses to start with an unknown label; so does this (at collector creation).
    const labels = parseIpvsLabels(config.collectors.ipvs.backendLabels);
    const activeDesc = gauge("node_ipvs_backend_connections_active", "The current active connections by local and remote address.", labels);
    const inactiveDesc = gauge(
      "node_ipvs_backend_connections_inactive",
      "The current inactive connections by local and remote address.",
      labels,
    );
    const weightDesc = gauge("node_ipvs_backend_weight", "The current backend weight by local and remote address.", labels);
    const statsFile = paths.proc("net/ip_vs_stats");
    const backendFile = paths.proc("net/ip_vs");
    return {
      name: "ipvs",
      update(out) {
        const statsText = readHostFile(statsFile);
        if (statsText === undefined) return;
        const stats = parseIpvsStats(statsText, statsFile);
        const backendText = readHostFile(backendFile);
        if (backendText === undefined) throw new CollectorError(`could not get backend status: ${backendFile}: file not found`);
        const sums = sumBackends(parseIpvsBackends(backendText, backendFile), labels);
        out.add(connectionsDesc, stats.connections);
        out.add(incomingPacketsDesc, stats.incomingPackets);
        out.add(outgoingPacketsDesc, stats.outgoingPackets);
        out.add(incomingBytesDesc, stats.incomingBytes);
        out.add(outgoingBytesDesc, stats.outgoingBytes);
        for (const sum of sums) {
          out.add(activeDesc, sum.active, ...sum.labelValues);
          out.add(inactiveDesc, sum.inactive, ...sum.labelValues);
          out.add(weightDesc, sum.weight, ...sum.labelValues);
        }
      },
    };
  },
};
