import fs from "node:fs";
import type { Logger } from "pino";
import { readText } from "../../host/read.js";
import { MountTree, parseMountTree } from "../parsers/mount-tree.js";
import { statfsErrorText, type MountStat, type StatfsValues } from "./filesystem-stat.js";
import type { RootOnlyDirs } from "./root-only-dirs.js";

/**
 * statfs of tmpfs and ramfs mounts on the main thread, where that cannot block.
 *
 * Every other statfs goes through libuv's thread pool (filesystem-stat-pool.ts), at most 2 at a
 * time, and each one after the first two waits for the main thread to see a completion before
 * it starts. On a Kubernetes node most mounts are kubelet's tmpfs volumes (a projected service
 * account token per pod at least), so a scrape made dozens of pool round trips one after the
 * other. tmpfs's statfs (shmem_statfs) and ramfs's (simple_statfs) only read counters in memory;
 * what could block is the path walk to the mount point. So a mount is stat'ed here only when:
 *
 * - it lies below a configured directory that non-root users cannot enter (root-only-dirs.ts:
 *   kubelet's pods directory by default), so that nobody but root can mount anything on its path
 *   between the look at the mount table and the statfs; and
 * - the walk, simulated on this process's own mount table (/proc/self/mountinfo: the namespace
 *   the walk runs in, not the host's table the collector reports from), enters only mounts of
 *   WALKABLE_FS_TYPES and ends in that very tmpfs or ramfs mount. A mount under an NFS, FUSE or
 *   autofs mount, a mount hidden under a later one, or a path the table leaves in doubt goes to
 *   the pool as before.
 *
 * The walk may read directories of the node's local filesystems on the way (when not cached), as
 * the os and textfile collectors already do on the main thread every scrape; a local filesystem
 * on a network block device (iSCSI, RBD) holding kubelet's directory is not told apart, nor an
 * overlay (the agent's own root in its container) whose layers are lazily pulled over FUSE. The
 * table is read in the same scrape as the statfs calls (about 1 ms apart with 300 mounts); what
 * root mounts on the path in between is the remaining window.
 */

/** Filesystems whose statfs(2) reads only counters in memory. */
export const MEMORY_FS_TYPES: ReadonlySet<string> = new Set(["tmpfs", "ramfs"]);

/** Filesystems a path walk on the main thread may cross: in memory, or on the node's local disks. */
const WALKABLE_FS_TYPES: ReadonlySet<string> = new Set(["rootfs", "tmpfs", "ramfs", "ext2", "ext3", "ext4", "xfs", "btrfs", "overlay"]);

/** Whether statfs(localPath) only walks local or in-memory mounts and ends in a tmpfs or ramfs mount attached there. */
export function walkEndsInMemoryMount(tree: MountTree, localPath: string): boolean {
  const entered = tree.walk(localPath);
  if (entered === undefined) return false;
  const target = entered[entered.length - 1];
  return target.mountPoint === localPath && MEMORY_FS_TYPES.has(target.fsType) && entered.every((m) => WALKABLE_FS_TYPES.has(m.fsType));
}

export type StatfsSync = (localPath: string) => StatfsValues;

export interface InlineStatfsOptions {
  /** This process's mount table (tests pass a file of their own). */
  ownMountinfo?: string;
  statfsSync?: StatfsSync;
  /** "major:minor" of "/" (default: from stat("/")). */
  rootDevice?: string;
}

export class InlineStatfs {
  /** Mounts answered on the main thread since start. */
  calls = 0;
  private lastText: string | undefined;
  private tree: MountTree | undefined;
  private warned = false;
  private readonly ownMountinfo: string;
  private readonly statfsSync: StatfsSync;
  private rootDevice: string | undefined;

  constructor(
    private readonly logger: Logger,
    /** Directories (as this process reaches them) below which mounts may be stat'ed here. */
    private readonly dirs: RootOnlyDirs,
    options: InlineStatfsOptions = {},
  ) {
    this.ownMountinfo = options.ownMountinfo ?? "/proc/self/mountinfo";
    this.statfsSync = options.statfsSync ?? ((p) => fs.statfsSync(p));
    this.rootDevice = options.rootDevice;
  }

  /** Whether the mount at `localPath` lies where this process may stat it on the main thread (before looking at the walk). */
  mayStat(localPath: string): boolean {
    return this.dirs.contains(localPath);
  }

  /** This process's mount tree, read anew (parsed again only when the text changed); undefined when unreadable. */
  currentTree(): MountTree | undefined {
    let text: string;
    try {
      text = readText(this.ownMountinfo);
    } catch (err) {
      this.warnOnce(`${this.ownMountinfo}: ${(err as Error).message}`);
      return undefined;
    }
    if (text === this.lastText) return this.tree;
    const nodes = parseMountTree(text);
    if (nodes === undefined) this.warnOnce(`${this.ownMountinfo}: a line is malformed`);
    this.rootDevice ??= rootDeviceNumber();
    this.lastText = text;
    this.tree = nodes === undefined ? undefined : new MountTree(nodes, this.rootDevice);
    if (this.tree !== undefined && !this.tree.trusted)
      this.warnOnce(
        `${this.ownMountinfo} does not show this process's root as the one mount without a listed parent, with the device of / (${this.rootDevice})`,
      );
    return this.tree;
  }

  stat(localPath: string): MountStat {
    this.calls++;
    try {
      const s = this.statfsSync(localPath);
      return { kind: "ok", values: { bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree } };
    } catch (err) {
      return { kind: "error", error: statfsErrorText(err) };
    }
  }

  private warnOnce(problem: string): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn({ err: problem }, "cannot follow path walks in this process's mount table; every statfs goes through the thread pool");
  }
}

/** "major:minor" of the filesystem holding "/" (the kernel's dev_t encoding, as glibc's major() and minor() decode it). */
function rootDeviceNumber(): string {
  const dev = fs.statSync("/", { bigint: true }).dev;
  const major = ((dev & 0xfff00n) >> 8n) | ((dev & 0xfffff00000000000n) >> 32n);
  const minor = (dev & 0xffn) | ((dev & 0xffffff00000n) >> 12n);
  return `${major}:${minor}`;
}
