import fs from "node:fs";
import { isMissing } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { gauge } from "../model.js";
import { quoteExcerpt, splitFields } from "../parsers/text.js";

/**
 * node_exporter's udp_queues collector: the tx and rx queue bytes of every UDP socket in
 * /proc/net/udp and /proc/net/udp6, summed. Those files hold one line per socket and can be
 * megabytes on busy hosts, so they are read in chunks and summed on the fly.
 */

const queuesDesc = gauge("node_udp_queues", "Number of allocated memory in the kernel for UDP datagrams in bytes.", ["queue", "ip"]);

export interface UdpQueueSummary {
  txQueueLength: number;
  rxQueueLength: number;
  usedSockets: number;
}

/** Longer than any socket line (about 130 bytes); guards the carry-over against a file without newlines. */
const MAX_LINE_BYTES = 64 * 1024;
const CHUNK_BYTES = 64 * 1024;

function quote(text: string): string {
  return quoteExcerpt(text, 80);
}

/** Hex digits from start to end (exclusive), at least one. */
function isHex(s: string, start = 0, end = s.length): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function isDecimal(s: string, start = 0, end = s.length): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** "hex:hex" where the address part has an even number of digits (Go's hex.DecodeString). */
function isAddressPort(field: string): boolean {
  const colon = field.indexOf(":");
  return colon > 0 && colon % 2 === 0 && field.indexOf(":", colon + 1) < 0 && isHex(field, 0, colon) && isHex(field, colon + 1);
}

/**
 * Sums a /proc/net/udp{,6} file fed in chunks: the first line is the header, every other line a
 * socket "sl: local rem st tx_queue:rx_queue tr tm->when retrnsmt uid ...". A line procfs cannot
 * parse (fewer than 8 fields, a malformed sl, address, state, queue or uid) makes the file
 * unusable (CollectorError), as it does in node_exporter.
 */
export class UdpQueueSummer {
  private readonly summary: UdpQueueSummary = { txQueueLength: 0, rxQueueLength: 0, usedSockets: 0 };
  private carry = "";
  private lineNumber = 0;

  constructor(private readonly source: string) {}

  push(chunk: string): void {
    let start = 0;
    for (let nl = chunk.indexOf("\n"); nl >= 0; nl = chunk.indexOf("\n", start)) {
      const piece = chunk.slice(start, nl);
      this.line(this.carry === "" ? piece : this.carry + piece);
      this.carry = "";
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.carry += chunk.slice(start);
      if (this.carry.length > MAX_LINE_BYTES) {
        throw new CollectorError(`${this.source}: line ${this.lineNumber + 1} is longer than ${MAX_LINE_BYTES} bytes`);
      }
    }
  }

  end(): UdpQueueSummary {
    if (this.carry !== "") this.line(this.carry);
    this.carry = "";
    return { ...this.summary };
  }

  private line(text: string): void {
    this.lineNumber++;
    if (this.lineNumber === 1) return; // header
    const fields = splitFields(text);
    if (fields.length === 0) return;
    const fail = (what: string): never => {
      throw new CollectorError(`${this.source}: line ${this.lineNumber}: ${what}: ${quote(text)}`);
    };
    if (fields.length < 8) fail(`${fields.length} fields, expected at least 8`);
    const sl = fields[0];
    const slColon = sl.indexOf(":");
    if (slColon !== sl.length - 1 || !isDecimal(sl, 0, slColon)) fail("malformed sl");
    if (!isAddressPort(fields[1]) || !isAddressPort(fields[2])) fail("malformed address");
    if (!isHex(fields[3])) fail("malformed st");
    const queues = fields[4];
    const colon = queues.indexOf(":");
    if (colon <= 0 || queues.indexOf(":", colon + 1) >= 0 || !isHex(queues, 0, colon) || !isHex(queues, colon + 1)) {
      fail("malformed tx_queue:rx_queue");
    }
    if (!isDecimal(fields[7])) fail("malformed uid");
    this.summary.txQueueLength += parseInt(queues.slice(0, colon), 16);
    this.summary.rxQueueLength += parseInt(queues.slice(colon + 1), 16);
    this.summary.usedSockets++;
  }
}

/** Sums a whole /proc/net/udp{,6} text. */
export function parseUdpSockets(text: string, source = "/proc/net/udp"): UdpQueueSummary {
  const summer = new UdpQueueSummer(source);
  summer.push(text);
  return summer.end();
}

/** Reads and sums a socket file chunk by chunk; undefined when it does not exist (IPv6 disabled). */
function sumUdpFile(filePath: string, buffer: Buffer): UdpQueueSummary | undefined {
  let fd: number;
  try {
    fd = fs.openSync(filePath, "r");
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  try {
    const summer = new UdpQueueSummer(filePath);
    // seq_file returns about a page per read; only 0 bytes means the end.
    for (let n = fs.readSync(fd, buffer, 0, buffer.length, null); n > 0; n = fs.readSync(fd, buffer, 0, buffer.length, null)) {
      summer.push(buffer.toString("latin1", 0, n));
    }
    return summer.end();
  } finally {
    fs.closeSync(fd);
  }
}

export const collector: CollectorDefinition = {
  name: "udp_queues",
  defaultEnabled: true,
  create({ paths }) {
    const files = [
      { file: paths.proc("net", "udp"), ip: "v4" },
      { file: paths.proc("net", "udp6"), ip: "v6" },
    ];
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    return {
      name: "udp_queues",
      update(out) {
        for (const { file, ip } of files) {
          const summary = sumUdpFile(file, buffer);
          if (summary === undefined) continue;
          out.add(queuesDesc, summary.txQueueLength, "tx", ip);
          out.add(queuesDesc, summary.rxQueueLength, "rx", ip);
        }
      },
    };
  },
};
