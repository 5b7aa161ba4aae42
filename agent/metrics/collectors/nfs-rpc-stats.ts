import { CollectorError } from "../collector.js";
import { parseUint } from "../parsers/numbers.js";
import { quoteExcerpt, splitFields, splitLines } from "../parsers/text.js";

/**
 * Parsers for the kernel's sunrpc statistics files /proc/net/rpc/nfs (NFS client) and
 * /proc/net/rpc/nfsd (NFS server), after procfs's nfs package (ParseClientRPCStats and
 * ParseServerRPCStats), which node_exporter's nfs and nfsd collectors use.
 *
 * Like procfs, the parse is all or nothing: a line that is not "<key> <uint64>...", an unknown
 * key or a line with the wrong number of values fails the whole file (node_exporter then fails
 * the collector for that scrape). Lines that are absent leave their values at 0, and those zeros
 * are still reported, as node_exporter reports its zero-valued structs.
 */

/** Field names of procfs's nfs.V2Stats, in the order of the "proc2" line; they are the `method` label values. */
export const V2_PROCEDURES = [
  "Null",
  "GetAttr",
  "SetAttr",
  "Root",
  "Lookup",
  "ReadLink",
  "Read",
  "WrCache",
  "Write",
  "Create",
  "Remove",
  "Rename",
  "Link",
  "SymLink",
  "MkDir",
  "RmDir",
  "ReadDir",
  "FsStat",
] as const;

/** Field names of procfs's nfs.V3Stats, in the order of the "proc3" line. */
export const V3_PROCEDURES = [
  "Null",
  "GetAttr",
  "SetAttr",
  "Lookup",
  "Access",
  "ReadLink",
  "Read",
  "Write",
  "Create",
  "MkDir",
  "SymLink",
  "MkNod",
  "Remove",
  "RmDir",
  "Rename",
  "Link",
  "ReadDir",
  "ReadDirPlus",
  "FsStat",
  "FsInfo",
  "PathConf",
  "Commit",
] as const;

/** Field names of procfs's nfs.ClientV4Stats, in the order of the client's "proc4" line (59 procedures). */
export const CLIENT_V4_PROCEDURES = [
  "Null",
  "Read",
  "Write",
  "Commit",
  "Open",
  "OpenConfirm",
  "OpenNoattr",
  "OpenDowngrade",
  "Close",
  "Setattr",
  "FsInfo",
  "Renew",
  "SetClientID",
  "SetClientIDConfirm",
  "Lock",
  "Lockt",
  "Locku",
  "Access",
  "Getattr",
  "Lookup",
  "LookupRoot",
  "Remove",
  "Rename",
  "Link",
  "Symlink",
  "Create",
  "Pathconf",
  "StatFs",
  "ReadLink",
  "ReadDir",
  "ServerCaps",
  "DelegReturn",
  "GetACL",
  "SetACL",
  "FsLocations",
  "ReleaseLockowner",
  "Secinfo",
  "FsidPresent",
  "ExchangeID",
  "CreateSession",
  "DestroySession",
  "Sequence",
  "GetLeaseTime",
  "ReclaimComplete",
  "GetDeviceInfo",
  "LayoutGet",
  "LayoutCommit",
  "LayoutReturn",
  "SecinfoNoName",
  "TestStateID",
  "FreeStateID",
  "GetDeviceList",
  "BindConnToSession",
  "DestroyClientID",
  "Seek",
  "Allocate",
  "DeAllocate",
  "LayoutStats",
  "Clone",
] as const;

/**
 * Field names of procfs's nfs.V4Ops, in the order of the server's "proc4ops" line (operation
 * numbers 0 to 39; kernels before 2.6 print 39 of them, RelLockOwner is then 0).
 */
export const SERVER_V4_OPERATIONS = [
  "Op0Unused",
  "Op1Unused",
  "Op2Future",
  "Access",
  "Close",
  "Commit",
  "Create",
  "DelegPurge",
  "DelegReturn",
  "GetAttr",
  "GetFH",
  "Link",
  "Lock",
  "Lockt",
  "Locku",
  "Lookup",
  "LookupRoot",
  "Nverify",
  "Open",
  "OpenAttr",
  "OpenConfirm",
  "OpenDgrd",
  "PutFH",
  "PutPubFH",
  "PutRootFH",
  "Read",
  "ReadDir",
  "ReadLink",
  "Remove",
  "Rename",
  "Renew",
  "RestoreFH",
  "SaveFH",
  "SecInfo",
  "SetAttr",
  "SetClientID",
  "SetClientIDConfirm",
  "Verify",
  "Write",
  "RelLockOwner",
] as const;

export interface NfsNetwork {
  netCount: number;
  udpCount: number;
  tcpCount: number;
  tcpConnect: number;
}

/** /proc/net/rpc/nfs, as procfs's nfs.ClientRPCStats; procedure arrays follow the *_PROCEDURES orders. */
export interface NfsClientStats {
  network: NfsNetwork;
  rpc: { rpcCount: number; retransmissions: number; authRefreshes: number };
  v2: number[];
  v3: number[];
  v4: number[];
}

/** /proc/net/rpc/nfsd, as procfs's nfs.ServerRPCStats. */
export interface NfsServerStats {
  replyCache: { hits: number; misses: number; noCache: number };
  fileHandles: { stale: number; totalLookups: number; anonLookups: number; dirNoCache: number; noDirNoCache: number };
  inputOutput: { read: number; write: number };
  threads: { threads: number; fullCount: number };
  readAheadCache: { cacheSize: number; histogram: number[]; notFound: number };
  network: NfsNetwork;
  rpc: { rpcCount: number; badCount: number; badFormat: number; badAuth: number; badClientInt: number };
  v2: number[];
  v3: number[];
  v4: { null: number; compound: number };
  v4Ops: number[];
  wdelegGetattr: number;
}

/** Go's bufio.Scanner gives up on lines of 64 KiB or more ("token too long"), failing the parse. */
const MAX_LINE = 64 * 1024;

interface Line {
  number: number;
  key: string;
  values: number[];
}

/**
 * The lines of a stats file as procfs's scanner loop sees them: at least "<key> <value>", every
 * value a base-10 uint64 (util.ParseUint64s). `valueFields` limits how many fields after the key
 * are parsed (the nfsd "th" line carries float histogram fields that procfs skips).
 */
function* statLines(text: string, file: string, what: string, valueFields: (key: string) => number = () => Infinity): Generator<Line> {
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const where = `${file}: line ${i + 1}`;
    if (line.length >= MAX_LINE) throw new CollectorError(`${where}: line too long`);
    const parts = splitFields(line);
    if (parts.length < 2) throw new CollectorError(`${where}: invalid ${what} metric line ${quote(line)}`);
    const key = parts[0];
    const wanted = valueFields(key);
    if (parts.length - 1 < wanted && wanted !== Infinity) throw new CollectorError(`${where}: invalid ${what} ${key} line ${quote(line)}`);
    const fields = wanted === Infinity ? parts.slice(1) : parts.slice(1, 1 + wanted);
    const values = new Array<number>(fields.length);
    for (let k = 0; k < fields.length; k++) {
      const value = parseUint(fields[k]);
      if (Number.isNaN(value)) throw new CollectorError(`${where}: ${key}: ${quote(fields[k])} is not an unsigned integer`);
      values[k] = value;
    }
    yield { number: i + 1, key, values };
  }
}

function quote(text: string): string {
  return quoteExcerpt(text, 80);
}

function expectCount(line: Line, file: string, count: number): number[] {
  if (line.values.length !== count) {
    throw new CollectorError(`${file}: line ${line.number}: ${line.key} has ${line.values.length} values, expected ${count}`);
  }
  return line.values;
}

/**
 * A "procN <count> <values...>" line: the count must equal the number of values and be at least
 * `minimum` (procfs's parseV2Stats/parseV3Stats/parseV4Ops); the first `width` values are kept,
 * missing ones (a shorter line where allowed) are 0.
 */
function procedureCounts(line: Line, file: string, minimum: number, width: number): number[] {
  const [declared, ...values] = line.values;
  if (values.length !== declared || declared < minimum) {
    throw new CollectorError(`${file}: line ${line.number}: ${line.key} declares ${declared} values but has ${values.length}`);
  }
  const kept = values.slice(0, width);
  while (kept.length < width) kept.push(0);
  return kept;
}

function network(line: Line, file: string): NfsNetwork {
  const [netCount, udpCount, tcpCount, tcpConnect] = expectCount(line, file, 4);
  return { netCount, udpCount, tcpCount, tcpConnect };
}

/** Parses /proc/net/rpc/nfs; throws CollectorError (naming `file` and the line) where procfs returns an error. */
export function parseNfsClientStats(text: string, file = "/proc/net/rpc/nfs"): NfsClientStats {
  const stats: NfsClientStats = {
    network: { netCount: 0, udpCount: 0, tcpCount: 0, tcpConnect: 0 },
    rpc: { rpcCount: 0, retransmissions: 0, authRefreshes: 0 },
    v2: new Array<number>(V2_PROCEDURES.length).fill(0),
    v3: new Array<number>(V3_PROCEDURES.length).fill(0),
    v4: new Array<number>(CLIENT_V4_PROCEDURES.length).fill(0),
  };
  for (const line of statLines(text, file, "NFS")) {
    switch (line.key) {
      case "net":
        stats.network = network(line, file);
        break;
      case "rpc": {
        const [rpcCount, retransmissions, authRefreshes] = expectCount(line, file, 3);
        stats.rpc = { rpcCount, retransmissions, authRefreshes };
        break;
      }
      case "proc2":
        stats.v2 = procedureCounts(line, file, V2_PROCEDURES.length, V2_PROCEDURES.length);
        break;
      case "proc3":
        stats.v3 = procedureCounts(line, file, V3_PROCEDURES.length, V3_PROCEDURES.length);
        break;
      case "proc4":
        // Older kernels print fewer NFSv4 procedures: procfs pads them with zeros.
        stats.v4 = procedureCounts(line, file, 0, CLIENT_V4_PROCEDURES.length);
        break;
      default:
        throw new CollectorError(`${file}: line ${line.number}: unknown NFS metric line ${quote(line.key)}`);
    }
  }
  return stats;
}

/** Parses /proc/net/rpc/nfsd; throws CollectorError (naming `file` and the line) where procfs returns an error. */
export function parseNfsServerStats(text: string, file = "/proc/net/rpc/nfsd"): NfsServerStats {
  const stats: NfsServerStats = {
    replyCache: { hits: 0, misses: 0, noCache: 0 },
    fileHandles: { stale: 0, totalLookups: 0, anonLookups: 0, dirNoCache: 0, noDirNoCache: 0 },
    inputOutput: { read: 0, write: 0 },
    threads: { threads: 0, fullCount: 0 },
    readAheadCache: { cacheSize: 0, histogram: [], notFound: 0 },
    network: { netCount: 0, udpCount: 0, tcpCount: 0, tcpConnect: 0 },
    rpc: { rpcCount: 0, badCount: 0, badFormat: 0, badAuth: 0, badClientInt: 0 },
    v2: new Array<number>(V2_PROCEDURES.length).fill(0),
    v3: new Array<number>(V3_PROCEDURES.length).fill(0),
    v4: { null: 0, compound: 0 },
    v4Ops: new Array<number>(SERVER_V4_OPERATIONS.length).fill(0),
    wdelegGetattr: 0,
  };
  // "th <threads> <fullcnt> <10 float histogram fields>": procfs parses the first two only.
  const valueFields = (key: string) => (key === "th" ? 2 : Infinity);
  for (const line of statLines(text, file, "NFSd", valueFields)) {
    switch (line.key) {
      case "rc": {
        const [hits, misses, noCache] = expectCount(line, file, 3);
        stats.replyCache = { hits, misses, noCache };
        break;
      }
      case "fh": {
        const [stale, totalLookups, anonLookups, dirNoCache, noDirNoCache] = expectCount(line, file, 5);
        stats.fileHandles = { stale, totalLookups, anonLookups, dirNoCache, noDirNoCache };
        break;
      }
      case "io": {
        const [read, write] = expectCount(line, file, 2);
        stats.inputOutput = { read, write };
        break;
      }
      case "th": {
        const [threads, fullCount] = expectCount(line, file, 2);
        stats.threads = { threads, fullCount };
        break;
      }
      case "ra": {
        const values = expectCount(line, file, 12);
        stats.readAheadCache = { cacheSize: values[0], histogram: values.slice(1, 11), notFound: values[11] };
        break;
      }
      case "net":
        stats.network = network(line, file);
        break;
      case "rpc": {
        const [rpcCount, badCount, badFormat, badAuth, badClientInt] = expectCount(line, file, 5);
        stats.rpc = { rpcCount, badCount, badFormat, badAuth, badClientInt };
        break;
      }
      case "proc2":
        stats.v2 = procedureCounts(line, file, V2_PROCEDURES.length, V2_PROCEDURES.length);
        break;
      case "proc3":
        stats.v3 = procedureCounts(line, file, V3_PROCEDURES.length, V3_PROCEDURES.length);
        break;
      case "proc4": {
        const [nullCount, compound] = procedureCounts(line, file, 2, 2);
        if (line.values[0] !== 2)
          throw new CollectorError(`${file}: line ${line.number}: proc4 declares ${line.values[0]} values, expected 2`);
        stats.v4 = { null: nullCount, compound };
        break;
      }
      case "proc4ops":
        stats.v4Ops = procedureCounts(line, file, SERVER_V4_OPERATIONS.length - 1, SERVER_V4_OPERATIONS.length);
        break;
      case "wdeleg_getattr":
        stats.wdelegGetattr = line.values[0];
        break;
      default:
        throw new CollectorError(`${file}: line ${line.number}: unknown NFSd metric line ${quote(line.key)}`);
    }
  }
  return stats;
}
