import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { isMissing } from "../../host/read.js";

/**
 * Directories that only root can enter, and whose parents only root can write to: nobody else can
 * mount anything at or below them (a FUSE mount needs write access to its mount point, and
 * fusermount checks it as the calling user). The filesystem collector stats tmpfs mounts on the
 * main thread only below such a directory, so that an unprivileged user cannot stack a FUSE
 * mount that never answers on one between the collector's look at the mount table and its
 * statfs (filesystem-inline.ts).
 *
 * Checked with lstat(2) on every component from "/" down, in libuv's thread pool (a lookup on
 * the way could hang: the main thread must not make it), at start and every `intervalMs`. The
 * main thread uses the last finished check; while a check is outstanding for longer than
 * CHECK_PATIENCE_MS no directory counts (a lookup that hangs there would hang the main thread's
 * walks too), and that check holds one pool thread until the kernel returns.
 *
 * POSIX ACLs are not read (Node has no getxattr): the group permission bits of a directory whose
 * group is root count as root's, and with an ACL they show its mask instead, so an ACL entry that
 * lets a non-root user into kubelet's directories defeats the check (turn the option off there).
 * Members of group 0 are taken as root.
 */

export interface DirMode {
  isDirectory: boolean;
  uid: number;
  gid: number;
  mode: number;
}

/**
 * Whether `chain` (lstat of "/", then each component down to a directory) shows a directory
 * closed to non-root users: some directory on it is owned by root and cannot be entered by
 * others, and it and every directory above it are owned by root and writable by nobody else.
 * A symbolic link on the way (not a directory under lstat) closes nothing.
 */
export function closedToNonRoot(chain: readonly DirMode[]): boolean {
  for (const dir of chain) {
    if (!dir.isDirectory || dir.uid !== 0) return false;
    const groupIsRoot = dir.gid === 0;
    if ((dir.mode & 0o002) !== 0 || ((dir.mode & 0o020) !== 0 && !groupIsRoot)) return false;
    const othersMayEnter = (dir.mode & 0o001) !== 0 || ((dir.mode & 0o010) !== 0 && !groupIsRoot);
    if (!othersMayEnter) return true;
  }
  return false;
}

/** Each directory from "/" down to `dir` (absolute, normalized). */
export function componentsOf(dir: string): string[] {
  const out = ["/"];
  for (let end = dir.indexOf("/", 1); ; end = dir.indexOf("/", end + 1)) {
    if (dir.length > 1) out.push(end === -1 ? dir : dir.slice(0, end));
    if (end === -1) break;
  }
  return out;
}

export type Lstat = (p: string) => Promise<DirMode>;

const defaultLstat: Lstat = async (p) => {
  const s = await fs.promises.lstat(p);
  return { isDirectory: s.isDirectory(), uid: s.uid, gid: s.gid, mode: s.mode };
};

/** How long a check may be outstanding before no directory counts as closed. */
const CHECK_PATIENCE_MS = 1000;

export class RootOnlyDirs {
  private closed: readonly string[] = [];
  private checkingSince: number | undefined;
  private running: Promise<void> | undefined;
  private nextCheckAt = 0;
  /** What the log last said about each directory, so that it speaks on changes only. */
  private readonly said = new Map<string, string>();

  constructor(
    /** Directories as this process reaches them (under the rootfs). */
    private readonly dirs: readonly string[],
    private readonly logger?: Logger,
    private readonly intervalMs = 60_000,
    private readonly lstat: Lstat = defaultLstat,
  ) {
    this.refresh(Date.now());
  }

  /** Whether `localPath` lies below a directory the last check found closed to non-root users; starts the next check when due. */
  contains(localPath: string): boolean {
    const now = Date.now();
    this.refresh(now);
    if (this.checkingSince !== undefined && now - this.checkingSince > CHECK_PATIENCE_MS) {
      this.say("*", "warn", `lstat of these directories has not returned for ${CHECK_PATIENCE_MS} ms`);
      return false;
    }
    return this.closed.some((dir) => localPath.startsWith(dir.endsWith("/") ? dir : `${dir}/`));
  }

  /** Resolves when the check now running (if any) has finished; for tests. */
  async settled(): Promise<void> {
    await this.running;
  }

  private refresh(now: number): void {
    if (this.dirs.length === 0 || this.checkingSince !== undefined || now < this.nextCheckAt) return;
    this.checkingSince = now;
    this.running = this.check().then((closed) => {
      this.closed = closed;
      this.checkingSince = undefined;
      this.nextCheckAt = Date.now() + this.intervalMs;
      if (this.said.has("*")) this.say("*", "info", "lstat of these directories returns again");
    });
  }

  private async check(): Promise<string[]> {
    const closed: string[] = [];
    for (const dir of this.dirs) {
      try {
        const chain: DirMode[] = [];
        for (const component of componentsOf(path.normalize(dir))) chain.push(await this.lstat(component));
        if (closedToNonRoot(chain)) {
          closed.push(dir);
          this.say(dir, "info", "closed to non-root users: tmpfs and ramfs mounts below it are stat'ed on the main thread");
        } else {
          this.say(
            dir,
            "info",
            "not closed to non-root users (from / down, every directory must be root's and writable by root only, and one of them closed to others): its mounts are stat'ed in the thread pool",
          );
        }
      } catch (err) {
        // No kubelet on this node, typically: nothing to say above debug.
        this.say(
          dir,
          isMissing(err) ? "debug" : "warn",
          `cannot be checked (${(err as Error).message}): its mounts are stat'ed in the thread pool`,
        );
      }
    }
    return closed;
  }

  private say(dir: string, level: "debug" | "info" | "warn", what: string): void {
    if (this.said.get(dir) === what) return;
    this.said.set(dir, what);
    this.logger?.[level]({ directory: dir === "*" ? this.dirs : dir }, `main-thread statfs directory ${what}`);
  }
}
