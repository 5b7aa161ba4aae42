import fs from "node:fs";
import { readdirSync } from "../../host/missing-paths.js";
import path from "node:path";
import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import { readText } from "../../host/read.js";
import { CollectorError, type Collector, type CollectorDefinition, type ScrapeContext } from "../collector.js";
import { gauge, untyped, type MetricDesc, type MetricSink } from "../model.js";
import { parseZfsKstat, parseZpoolIo, parseZpoolObjset, parseZpoolState } from "./zfs-parse.js";

/**
 * node_exporter's zfs collector on Linux (collector/zfs_linux.go): every int64/uint64 kstat of
 * /proc/spl/kstat/zfs/{abdstats,arcstats,...} as untyped node_<subsystem>_<name>, then per pool
 * the columns of <pool>/io, the uint64 kstats of each <pool>/objset-* (labelled with the dataset)
 * and a one-hot node_zfs_zpool_state from <pool>/state. HELP is the kstat's sysctl-style name
 * (kstat.zfs.misc.<file>.<name>).
 *
 * No series when /proc/spl/kstat/zfs cannot be opened (module not loaded: node_exporter's
 * ErrNoData); a top-level kstat file that cannot be opened is skipped (older ZFS lacks some).
 * A file without its header, a malformed number or a failed read fails the collector; what was
 * emitted before the failure stays, as node_exporter sends metrics as it parses.
 */

/** The top-level kstat files node_exporter reads, with the subsystem that names their metrics. */
export const ZFS_KSTAT_FILES: ReadonlyArray<readonly [file: string, subsystem: string]> = [
  ["abdstats", "zfs_abd"],
  ["arcstats", "zfs_arc"],
  ["dbufstats", "zfs_dbuf"],
  ["dmu_tx", "zfs_dmu_tx"],
  ["dnodestats", "zfs_dnode"],
  ["fm", "zfs_fm"],
  ["vdev_cache_stats", "zfs_vdev_cache"],
  ["vdev_mirror_stats", "zfs_vdev_mirror"],
  ["xuio_stats", "zfs_xuio"],
  ["zfetchstats", "zfs_zfetch"],
  ["zil", "zfs_zil"],
];

/** node_exporter's zfsPoolStatesName: one node_zfs_zpool_state series per state, 1 for the pool's. */
export const ZPOOL_STATES = ["online", "degraded", "faulted", "offline", "removed", "unavail", "suspended"] as const;

const stateDesc = gauge("node_zfs_zpool_state", "kstat.zfs.misc.state", ["zpool", "state"]);

/** Characters a metric name may hold after its node_<subsystem>_ prefix. */
function isMetricNameTail(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 58;
    if (!ok) return false;
  }
  return true;
}

/**
 * Pool files (objset-*) read between two yields to the event loop: a host with thousands of
 * datasets would otherwise hold the loop for the whole walk (~150 ms).
 */
const READS_PER_SLICE = 200;

/** Bound on each descriptor cache; ZFS has a few hundred kstat names. */
const MAX_CACHED_DESCS = 4096;

interface PoolListing {
  readonly pool: string;
  readonly dir: string;
  readonly names: readonly string[];
}

/**
 * The descriptors of one subsystem, made on first sight of a kstat name:
 * node_<subsystem>_<last "."-part of the name, "-" as "_">, HELP kstat.zfs.misc.<file>.<name>,
 * or null (left out, logged once) when that is not a valid metric name.
 */
class SubsystemDescs {
  private readonly byName = new Map<string, MetricDesc | null>();

  constructor(
    private readonly subsystem: string,
    private readonly file: string,
    private readonly labelNames: readonly string[],
    private readonly logger: Logger,
  ) {}

  get(name: string): MetricDesc | null {
    let desc = this.byName.get(name);
    if (desc === undefined) {
      if (this.byName.size >= MAX_CACHED_DESCS) this.byName.clear();
      const tail = name.slice(name.lastIndexOf(".") + 1).replaceAll("-", "_");
      if (isMetricNameTail(tail)) {
        desc = untyped(`node_${this.subsystem}_${tail}`, `kstat.zfs.misc.${this.file}.${name}`, this.labelNames);
      } else {
        this.logger.warn({ file: this.file, kstat: name }, "zfs kstat name does not make a valid metric name; left out");
        desc = null;
      }
      this.byName.set(name, desc);
    }
    return desc;
  }
}

class ZfsCollector implements Collector {
  readonly name = "zfs";
  private readonly kstats: ReadonlyArray<readonly [file: string, descs: SubsystemDescs]>;
  private readonly ioDescs: SubsystemDescs;
  private readonly objsetDescs: SubsystemDescs;

  constructor(
    private readonly paths: HostPaths,
    logger: Logger,
  ) {
    this.kstats = ZFS_KSTAT_FILES.map(([file, subsystem]) => [file, new SubsystemDescs(subsystem, file, [], logger)] as const);
    this.ioDescs = new SubsystemDescs("zfs_zpool", "io", ["zpool"], logger);
    this.objsetDescs = new SubsystemDescs("zfs_zpool_dataset", "objset", ["zpool", "dataset"], logger);
  }

  async update(out: MetricSink, ctx: ScrapeContext): Promise<void> {
    const base = this.paths.proc("spl", "kstat", "zfs");
    let entries: fs.Dirent[];
    try {
      entries = readdirSync(base, { withFileTypes: true });
    } catch {
      return; // ZFS not loaded (or its kstats unreadable): node_exporter's ErrNoData
    }

    for (const [file, descs] of this.kstats) {
      const filePath = path.join(base, file);
      const text = readOptionalKstat(filePath);
      if (text === undefined) continue;
      parseZfsKstat(text, filePath, (name, value) => {
        const desc = descs.get(name);
        if (desc !== null) out.add(desc, value);
      });
    }

    // filepath.Glob("<base>/*/io") and the others: pool directories in name order, then the
    // matching names in each. node_exporter reads every io file, then every objset, then every state.
    const pools = listPools(base, entries);
    for (const { pool, dir, names } of pools) {
      if (!names.includes("io")) continue;
      const filePath = path.join(dir, "io");
      parseZpoolIo(readKstat(filePath), filePath, (column, value) => {
        const desc = this.ioDescs.get(column);
        if (desc !== null) out.add(desc, value, pool);
      });
    }
    // The objset files are the many (one per dataset): yield every READS_PER_SLICE of them and
    // stop when the scrape's time limit has passed; what was emitted before stays.
    let reads = 0;
    for (const { pool, dir, names } of pools) {
      for (const name of names) {
        if (!name.startsWith("objset-")) continue;
        if (reads >= READS_PER_SLICE) {
          reads = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (ctx.signal.aborted) throw new CollectorError(`${base}: stopped reading pool objsets: collector time limit reached`);
        }
        reads++;
        const filePath = path.join(dir, name);
        parseZpoolObjset(readKstat(filePath), filePath, pool, (kstat, value, zpool, dataset) => {
          const desc = this.objsetDescs.get(kstat);
          if (desc !== null) out.add(desc, value, zpool, dataset);
        });
      }
    }
    for (const { pool, dir, names } of pools) {
      if (!names.includes("state")) continue;
      const filePath = path.join(dir, "state");
      const state = parseZpoolState(readKstat(filePath), filePath);
      for (const name of ZPOOL_STATES) out.add(stateDesc, state === name ? 1 : 0, pool, name);
    }
  }
}

/** The entries of the kstat directory that are directories (or links to them), each with its sorted names. */
function listPools(base: string, entries: readonly fs.Dirent[]): PoolListing[] {
  const pools: PoolListing[] = [];
  const candidates = entries
    .filter((e) => e.isDirectory() || e.isSymbolicLink())
    .map((e) => e.name)
    .sort();
  for (const pool of candidates) {
    const dir = path.join(base, pool);
    try {
      pools.push({ pool, dir, names: fs.readdirSync(dir).sort() });
    } catch {
      // Not a directory after all (a link to a file), or gone: Go's Glob skips it too.
    }
  }
  return pools;
}

/** Reads a kstat file whole; any failure (a pool file that vanished, EISDIR, EIO) is a CollectorError naming it. */
function readKstat(filePath: string): string {
  try {
    return readText(filePath);
  } catch (err) {
    throw new CollectorError(`${filePath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** Like readKstat for a top-level file: undefined when it cannot be opened, which node_exporter skips (older ZFS lacks some). */
function readOptionalKstat(filePath: string): string | undefined {
  try {
    return readText(filePath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).syscall === "open") return undefined;
    throw new CollectorError(`${filePath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

export const collector: CollectorDefinition = {
  name: "zfs",
  defaultEnabled: true,
  create({ paths, logger }) {
    return new ZfsCollector(paths, logger);
  },
};
