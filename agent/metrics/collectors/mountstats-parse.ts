import { CollectorError } from "../collector.js";
import { parseInt64, parseUint } from "../parsers/numbers.js";
import { parseUint64 } from "../parsers/uint64.js";
import { goFields, goScanLines } from "../parsers/go-text.js";
import { quoteExcerpt } from "../parsers/text.js";

/**
 * /proc/<pid>/mountstats and /proc/<pid>/mountinfo as procfs parses them for node_exporter's
 * mountstats collector (procfs mountstats.go, mountinfo.go). Every "device X mounted on Y with
 * fstype T" line is a mount; one followed by "statvers=V" must be NFS (nfs, nfs4) and carries the
 * indented statistics block that ends at a blank line after its per-op statistics. procfs rejects
 * the whole file on any malformed line: CollectorError here.
 */

export const NFS_BYTES_FIELDS = 8;
export const NFS_EVENTS_FIELDS = 27;

export interface NfsTransport {
  readonly protocol: string;
  readonly bind: number;
  readonly connect: number;
  /** Exact uint64: node_exporter reduces it modulo 2^53 before converting. */
  readonly idleTimeSeconds: bigint;
  readonly sends: number;
  readonly receives: number;
  readonly badTransactionIds: number;
  readonly cumulativeBacklog: number;
  readonly maximumRpcSlotsUsed: number;
  readonly cumulativeSendingQueue: number;
  readonly cumulativePendingQueue: number;
}

export interface NfsOperation {
  readonly operation: string;
  readonly requests: number;
  readonly transmissions: number;
  readonly majorTimeouts: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Exact uint64 milliseconds (reduced modulo 2^53 by node_exporter). */
  readonly queueMilliseconds: bigint;
  readonly responseMilliseconds: bigint;
  readonly requestMilliseconds: bigint;
}

export interface NfsStats {
  readonly statVersion: string;
  ageSeconds: number;
  /** read, write, direct read, direct write, read total, write total, read pages, write pages. */
  bytes: readonly number[];
  /** The 27 event counters in the kernel's order (congestion wait, index 18, is not exported). */
  events: readonly number[];
  operations: NfsOperation[];
  readonly transports: NfsTransport[];
}

export interface Mount {
  readonly device: string;
  readonly mount: string;
  readonly type: string;
  stats?: NfsStats;
}

/** Walks the scanned lines; `fail` names the file and line of the last line taken. */
class Lines {
  private next = 0;
  constructor(
    private readonly lines: readonly string[],
    private readonly file: string,
  ) {}

  /** The fields of the next line, or undefined at the end of the file. */
  fields(): string[] | undefined {
    return this.next < this.lines.length ? goFields(this.lines[this.next++]) : undefined;
  }

  fail(problem: string): never {
    throw new CollectorError(`${this.file}: line ${this.next}: ${problem}`);
  }
}

function shown(fields: readonly string[]): string {
  const text = fields.join(" ");
  return quoteExcerpt(text, 100);
}

/** procfs's parseMountStats. */
export function parseMountStats(text: string, file = "/proc/self/mountstats"): Mount[] {
  const lines = new Lines(goScanLines(text, file), file);
  const mounts: Mount[] = [];
  for (let ss = lines.fields(); ss !== undefined; ss = lines.fields()) {
    if (ss.length === 0 || ss[0] !== "device") continue;
    if (ss.length < 8 || ss[2] !== "mounted" || ss[3] !== "on" || ss[5] !== "with" || ss[6] !== "fstype") {
      lines.fail(`invalid device line ${shown(ss)}`);
    }
    const mount: Mount = { device: ss[1], mount: ss[4], type: ss[7] };
    if (ss.length > 8) {
      if (mount.type !== "nfs" && mount.type !== "nfs4")
        lines.fail(`cannot parse mount statistics for fstype ${JSON.stringify(mount.type)}`);
      const statVersion = ss[8].startsWith("statvers=") ? ss[8].slice("statvers=".length) : ss[8];
      mount.stats = parseNfsStats(lines, statVersion);
    }
    mounts.push(mount);
  }
  return mounts;
}

/** procfs's parseMountStatsNFS: the block's lines up to "per-op", then the operations. */
function parseNfsStats(lines: Lines, statVersion: string): NfsStats {
  const stats: NfsStats = {
    statVersion,
    ageSeconds: 0,
    bytes: new Array<number>(NFS_BYTES_FIELDS).fill(0),
    events: new Array<number>(NFS_EVENTS_FIELDS).fill(0),
    operations: [],
    transports: [],
  };
  for (let ss = lines.fields(); ss !== undefined && ss.length > 0; ss = lines.fields()) {
    const key = ss[0];
    if (key === "opts:" || key === "age:" || key === "bytes:" || key === "events:") {
      if (ss.length < 2) lines.fail(`incomplete NFS statistics ${shown(ss)}`);
    }
    if (key === "age:") {
      const nanos = parseGoDuration(`${ss[1]}s`);
      if (nanos === undefined) lines.fail(`invalid NFS age ${JSON.stringify(ss[1].slice(0, 40))}`);
      stats.ageSeconds = durationSeconds(nanos);
    } else if (key === "bytes:") {
      stats.bytes = counters(lines, ss, NFS_BYTES_FIELDS, "bytes");
    } else if (key === "events:") {
      stats.events = counters(lines, ss, NFS_EVENTS_FIELDS, "events");
    } else if (key === "xprt:") {
      if (ss.length < 3) lines.fail(`incomplete NFS transport statistics ${shown(ss)}`);
      stats.transports.push(parseTransport(lines, ss.slice(1), statVersion));
    }
    if (key === "per-op") break;
  }
  stats.operations = parseOperations(lines);
  return stats;
}

/** A bytes: or events: line: exactly `count` base-10 uint64 values. */
function counters(lines: Lines, ss: readonly string[], count: number, what: string): number[] {
  if (ss.length - 1 !== count) lines.fail(`invalid NFS ${what} statistics: ${ss.length - 1} values, expected ${count}`);
  const values = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const value = parseUint(ss[i + 1]);
    if (Number.isNaN(value)) lines.fail(`invalid NFS ${what} value ${JSON.stringify(ss[i + 1].slice(0, 40))}`);
    values[i] = value;
  }
  return values;
}

function uint64(lines: Lines, text: string, what: string): bigint {
  const value = parseUint64(text, 10);
  if (value === undefined) lines.fail(`invalid NFS ${what} value ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}

/** procfs's parseNFSOperationStats: "NAME: n n n n n n n n [more]" lines up to a blank line. */
function parseOperations(lines: Lines): NfsOperation[] {
  const ops: NfsOperation[] = [];
  for (let ss = lines.fields(); ss !== undefined && ss.length > 0; ss = lines.fields()) {
    if (ss.length < 9) lines.fail(`invalid NFS per-operation statistics ${shown(ss)}`);
    const ns: bigint[] = [];
    for (let i = 1; i < ss.length; i++) ns.push(uint64(lines, ss[i], "per-operation"));
    ops.push({
      operation: ss[0].endsWith(":") ? ss[0].slice(0, -1) : ss[0],
      requests: Number(ns[0]),
      transmissions: Number(ns[1]),
      majorTimeouts: Number(ns[2]),
      bytesSent: Number(ns[3]),
      bytesReceived: Number(ns[4]),
      queueMilliseconds: ns[5],
      responseMilliseconds: ns[6],
      requestMilliseconds: ns[7],
    });
  }
  return ops;
}

const TRANSPORT_LENGTHS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  "1.0": { tcp: 10, udp: 7 },
  "1.1": { tcp: 13, udp: 10, rdma: 20 },
};
/** procfs sizes its value array for the longest RDMA line; a longer one would make it panic. */
const MAX_TRANSPORT_VALUES = 31;

/** procfs's parseNFSTransportStats: the values after the protocol, by stats version and protocol. */
function parseTransport(lines: Lines, ss: readonly string[], statVersion: string): NfsTransport {
  const protocol = ss[0];
  const values = ss.slice(1);
  const lengths = Object.hasOwn(TRANSPORT_LENGTHS, statVersion) ? TRANSPORT_LENGTHS[statVersion] : undefined;
  if (lengths === undefined) lines.fail(`unrecognized NFS transport stats version ${JSON.stringify(statVersion)}`);
  const expected = Object.hasOwn(lengths, protocol) ? lengths[protocol] : undefined;
  if (expected === undefined) lines.fail(`invalid NFS protocol ${JSON.stringify(protocol)} in stats ${statVersion} statement`);
  if (protocol === "rdma" ? values.length < expected : values.length !== expected) {
    lines.fail(`invalid NFS transport stats ${statVersion} statement for ${protocol}: ${values.length} values`);
  }
  if (values.length > MAX_TRANSPORT_VALUES) lines.fail(`too many NFS transport values (${values.length})`);
  let ns = values.map((v) => uint64(lines, v, "transport"));
  // udp has no connect count, connect idle time or idle time; rdma has no 1.1 queue fields.
  if (protocol === "udp") ns = [...ns.slice(0, 2), 0n, 0n, 0n, ...ns.slice(2)];
  else if (protocol === "rdma") ns = [...ns.slice(0, 10), 0n, 0n, 0n, ...ns.slice(10)];
  const at = (i: number) => ns[i] ?? 0n;
  return {
    protocol,
    bind: Number(at(1)),
    connect: Number(at(2)),
    idleTimeSeconds: at(4),
    sends: Number(at(5)),
    receives: Number(at(6)),
    badTransactionIds: Number(at(7)),
    cumulativeBacklog: Number(at(9)),
    maximumRpcSlotsUsed: Number(at(10)),
    cumulativeSendingQueue: Number(at(11)),
    cumulativePendingQueue: Number(at(12)),
  };
}

const NANOS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1000n,
  "\u00b5s": 1000n,
  "\u03bcs": 1000n,
  ms: 1000000n,
  s: 1000000000n,
  m: 60000000000n,
  h: 3600000000000n,
};
const LIMIT = 1n << 63n;

/** Go's time.ParseDuration in nanoseconds; undefined where Go returns an error. */
export function parseGoDuration(text: string): bigint | undefined {
  let s = text;
  let negative = false;
  if (s.startsWith("-") || s.startsWith("+")) {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") return undefined;
  let total = 0n;
  while (s !== "") {
    if (!(s[0] === "." || (s[0] >= "0" && s[0] <= "9"))) return undefined;
    let i = 0;
    let v = 0n;
    while (i < s.length && s[i] >= "0" && s[i] <= "9") {
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > LIMIT) return undefined;
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s.startsWith(".")) {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (j < s.length && s[j] >= "0" && s[j] <= "9") {
        if (!overflow) {
          const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
          if (y > LIMIT) overflow = true;
          else {
            f = y;
            scale *= 10;
          }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) return undefined;
    let u = 0;
    while (u < s.length && !(s[u] === "." || (s[u] >= "0" && s[u] <= "9"))) u++;
    if (u === 0) return undefined;
    const unit = Object.hasOwn(NANOS_PER_UNIT, s.slice(0, u)) ? NANOS_PER_UNIT[s.slice(0, u)] : undefined;
    if (unit === undefined) return undefined;
    s = s.slice(u);
    if (v > LIMIT / unit) return undefined;
    v *= unit;
    if (f > 0n) {
      // float64 is needed to be nanosecond accurate for fractions of hours (as in Go).
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > LIMIT) return undefined;
    }
    total += v;
    if (total > LIMIT) return undefined;
  }
  if (negative) return -total;
  return total > LIMIT - 1n ? undefined : total;
}

/** time.Duration.Seconds(): whole seconds plus the nanosecond remainder, as float64. */
export function durationSeconds(nanos: bigint): number {
  const seconds = nanos / 1000000000n;
  return Number(seconds) + Number(nanos % 1000000000n) / 1e9;
}

/**
 * procfs's parseMountInfo, keeping for each line (in order) its superblock option "addr" ("" when
 * absent, as node_exporter's map lookup gives). Lines must have 10+ space-separated fields, "-"
 * four from the end and numeric mount and parent IDs.
 */
export function parseMountInfoAddrs(text: string, file = "/proc/self/mountinfo"): string[] {
  const addrs: string[] = [];
  const lines = goScanLines(text, file);
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i].split(" ");
    const n = fields.length;
    const fail = (problem: string): never => {
      throw new CollectorError(`${file}: line ${i + 1}: ${problem}: ${JSON.stringify(lines[i].slice(0, 100))}`);
    };
    if (n < 10) fail("couldn't find enough fields");
    if (fields[n - 4] !== "-") fail("couldn't find separator in expected field");
    if (Number.isNaN(parseInt64(fields[0]))) fail("unable to read mount ID");
    if (Number.isNaN(parseInt64(fields[1]))) fail("unable to read parent ID");
    addrs.push(superOption(fields[n - 1], "addr"));
  }
  return addrs;
}

/** procfs's mountOptionsParser then a lookup: the last "key" or "key=value" wins ("a=b=c" reads "b"). */
function superOption(options: string, key: string): string {
  if (!options.includes(key)) return "";
  let value = "";
  for (const option of options.split(",")) {
    const parts = option.split("=");
    if (parts.length < 2) {
      if (option === key) value = "";
    } else if (parts[0] === key) value = parts[1];
  }
  return value;
}
