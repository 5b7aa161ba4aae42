import { metricsSchema } from "../../config/sections/metrics.js";
import type { HostPaths } from "../../host/paths.js";
import { isMissing, readText } from "../../host/read.js";
import { CollectorError, type Collector, type CollectorDefinition, type CollectorDeps } from "../collector.js";
import { excludeIncludeFilter } from "../filter-flags.js";
import { gauge, type MetricSink } from "../model.js";
import { parseMountinfo, type MountEntry } from "../parsers/mountinfo.js";
import { InlineStatfs, MEMORY_FS_TYPES, walkEndsInMemoryMount } from "./filesystem-inline.js";
import { MountStatter, type MountRequest, type MountStat, type StatfsBackend, type StuckMount } from "./filesystem-stat.js";
import { PoolStatfsBackend, statfsPoolLimit } from "./filesystem-stat-pool.js";
import { RootOnlyDirs } from "./root-only-dirs.js";

const labels = ["device", "mountpoint", "fstype", "device_error"];
const sizeDesc = gauge("node_filesystem_size_bytes", "Filesystem size in bytes.", labels);
const freeDesc = gauge("node_filesystem_free_bytes", "Filesystem free space in bytes.", labels);
const availDesc = gauge("node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.", labels);
const filesDesc = gauge("node_filesystem_files", "Filesystem total file nodes.", labels);
const filesFreeDesc = gauge("node_filesystem_files_free", "Filesystem total free file nodes.", labels);
const readOnlyDesc = gauge("node_filesystem_readonly", "Filesystem read-only status.", labels);
const deviceErrorDesc = gauge(
  "node_filesystem_device_error",
  "Whether an error occurred while getting statistics for the given device.",
  labels,
);
const mountInfoDesc = gauge("node_filesystem_mount_info", "Filesystem mount information.", ["device", "major", "minor", "mountpoint"]);

/** node_exporter's device_error label for a mount that did not answer statfs in time. */
const TIMEOUT_ERROR = "mountpoint timeout";

/**
 * The host's mount table: /proc/1/mountinfo (the host's init mount namespace, which nodetap sees
 * with hostPID), else this process's own view when PID 1 is hidden (hidepid) or not ours to read.
 */
export function readMountTable(paths: HostPaths): MountEntry[] {
  let file = paths.proc("1/mountinfo");
  let text: string;
  try {
    text = readText(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!isMissing(err) && code !== "EACCES" && code !== "EPERM")
      throw new CollectorError(`${file}: ${(err as Error).message}`, { cause: err });
    file = paths.proc("self/mountinfo");
    try {
      text = readText(file);
    } catch (selfErr) {
      throw new CollectorError(`${file}: ${(selfErr as Error).message}`, { cause: selfErr });
    }
  }
  return parseMountinfo(text, file).map((m) => ({ ...m, mountPoint: paths.localMountToHost(m.mountPoint) }));
}

function emit(out: MetricSink, mount: MountEntry, stat: MountStat, seen: Set<string>): void {
  const deviceError = stat.kind === "ok" ? "" : stat.kind === "error" ? stat.error : TIMEOUT_ERROR;
  // The same filesystem mounted twice at one place is reported once, as node_exporter does.
  const key = [mount.device, mount.mountPoint, mount.fsType, deviceError, mount.major, mount.minor].join("\u0000");
  if (seen.has(key)) return;
  seen.add(key);
  const series = [mount.device, mount.mountPoint, mount.fsType, deviceError];
  out.add(deviceErrorDesc, stat.kind === "ok" ? 0 : 1, ...series);
  // node_exporter skips the options check for mounts already known to be stuck.
  out.add(readOnlyDesc, stat.kind !== "timeout" && mount.readOnly ? 1 : 0, ...series);
  if (stat.kind !== "ok") return;
  const v = stat.values;
  out.add(sizeDesc, v.blocks * v.bsize, ...series);
  out.add(freeDesc, v.bfree * v.bsize, ...series);
  out.add(availDesc, v.bavail * v.bsize, ...series);
  out.add(filesDesc, v.files, ...series);
  out.add(filesFreeDesc, v.ffree, ...series);
  out.add(mountInfoDesc, 1, mount.device, mount.major, mount.minor, mount.mountPoint);
}

interface LiveStatter {
  /** Pool threads its statfs calls may hold. */
  poolLimit: number;
  inline: InlineStatfs;
  /** Mounts sent to the thread pool since start (stuck ones answered without a call included). */
  pooled: number;
}

/** Each running collector's statter. */
const liveStatters = new Map<MountStatter, LiveStatter>();

export interface FilesystemStatus {
  /** Mount points whose statfs has not returned since it timed out; not asked again until it does. */
  stuckMounts: StuckMount[];
  /**
   * Thread-pool threads blocked in those calls, and how many statfs calls may hold pool threads
   * at once (running or blocked); when all of them are blocked, other mounts are reported as
   * timed out without a call until one returns.
   */
  abandonedStatThreads: number;
  maxAbandonedStatThreads: number;
  /** Mounts answered since start: tmpfs/ramfs stat'ed on the main thread (filesystem-inline.ts), the others through the pool. */
  statfsOnMainThread: number;
  statfsThroughPool: number;
}

/** For /status: which mounts are stuck right now. */
export function filesystemStatus(): FilesystemStatus {
  const stuckMounts: StuckMount[] = [];
  let abandonedStatThreads = 0;
  let maxAbandonedStatThreads = 0;
  let statfsOnMainThread = 0;
  let statfsThroughPool = 0;
  for (const [statter, live] of liveStatters) {
    stuckMounts.push(...statter.stuckMounts());
    abandonedStatThreads += statter.abandonedCount();
    maxAbandonedStatThreads += live.poolLimit;
    statfsOnMainThread += live.inline.calls;
    statfsThroughPool += live.pooled;
  }
  return { stuckMounts, abandonedStatThreads, maxAbandonedStatThreads, statfsOnMainThread, statfsThroughPool };
}

/** The collector with an explicit statfs backend and main-thread statfs (tests pass fakes). */
export function createFilesystemCollector(deps: CollectorDeps, backend?: StatfsBackend, inline?: InlineStatfs): Collector {
  const { paths, config, logger } = deps;
  const options = config.collectors.filesystem;
  const defaults = metricsSchema.collectors.filesystem;
  const mountPointFilter = excludeIncludeFilter(
    options.mountPointsExclude,
    options.mountPointsInclude,
    defaults.mountPointsExclude.default,
    "filesystem mount point filter",
    logger,
  );
  const fsTypeFilter = excludeIncludeFilter(
    options.fsTypesExclude,
    options.fsTypesInclude,
    defaults.fsTypesExclude.default,
    "filesystem type filter",
    logger,
  );
  // statfs runs on libuv's thread pool, at most statWorkers calls at once and never more than half
  // the pool, so hung mounts cannot take the threads the log pipeline reads files with; tmpfs and
  // ramfs mounts where that is safe run on the main thread (filesystem-inline.ts).
  const poolLimit = statfsPoolLimit(Math.max(1, options.statWorkers));
  const statter = new MountStatter(backend ?? new PoolStatfsBackend(logger, poolLimit), options.mountTimeout * 1000, logger);
  inline ??= new InlineStatfs(
    logger,
    new RootOnlyDirs(
      options.mainThreadStatfsDirs.map((d) => paths.hostMountToLocal(d)),
      logger,
    ),
  );
  const live: LiveStatter = { poolLimit, inline, pooled: 0 };
  liveStatters.set(statter, live);
  const throughPool = (requests: MountRequest[]): Promise<MountStat[]> => {
    live.pooled += requests.length;
    return requests.length === 0 ? Promise.resolve([]) : statter.statAll(requests);
  };
  return {
    name: "filesystem",
    async update(out) {
      const mounts = readMountTable(paths).filter((m) => !mountPointFilter.ignored(m.mountPoint) && !fsTypeFilter.ignored(m.fsType));
      const requests = mounts.map((m) => ({ mountPoint: m.mountPoint, localPath: paths.hostMountToLocal(m.mountPoint) }));
      const candidate = requests.map(
        (r, i) => MEMORY_FS_TYPES.has(mounts[i].fsType) && live.inline.mayStat(r.localPath) && !statter.isBusy(r),
      );
      // The pool's calls start first, so that they run while the main thread does the rest.
      const pooledFirst = [...requests.keys()].filter((i) => !candidate[i]);
      const pendingFirst = throughPool(pooledFirst.map((i) => requests[i]));
      const tree = candidate.includes(true) ? live.inline.currentTree() : undefined;
      const stats = new Array<MountStat>(requests.length);
      const pooledLater: number[] = [];
      for (let i = 0; i < requests.length; i++) {
        if (!candidate[i]) continue;
        if (tree !== undefined && walkEndsInMemoryMount(tree, requests[i].localPath)) stats[i] = live.inline.stat(requests[i].localPath);
        else pooledLater.push(i);
      }
      const [first, later] = await Promise.all([pendingFirst, throughPool(pooledLater.map((i) => requests[i]))]);
      pooledFirst.forEach((i, k) => (stats[i] = first[k]));
      pooledLater.forEach((i, k) => (stats[i] = later[k]));
      const seen = new Set<string>();
      for (let i = 0; i < mounts.length; i++) emit(out, mounts[i], stats[i], seen);
    },
    async close() {
      liveStatters.delete(statter);
      await statter.close();
    },
  };
}

export const collector: CollectorDefinition = {
  name: "filesystem",
  defaultEnabled: true,
  offThread: true,
  create: (deps) => createFilesystemCollector(deps),
};
