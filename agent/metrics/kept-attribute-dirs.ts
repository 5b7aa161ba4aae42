import fs from "node:fs";
import { openSync, stillMissing } from "../host/missing-paths.js";
import { attributeBuffer, errnoOf, type AttributeRead } from "./sysfs-attribute.js";

/**
 * sysfs device directories whose attribute files stay open between scrapes, each read with one
 * pread(2) from offset 0: kernfs makes an attribute's text anew on every read from offset 0, so a
 * kept descriptor reads what a fresh open would. It saves an open and a close per file and the
 * directory's listing (netclass: 22 files per interface, 60 % of the files a scrape opened).
 *
 * A kept descriptor follows the kernel object, not the path: after an interface is renamed, or
 * moved to another network namespace, and its name is taken by another, sysfs does not fail the
 * old descriptors, and they would go on reading the old device under the name. So a directory is
 * stat'ed once per scrape, and its descriptors and listing are dropped when the path no longer
 * leads to the same directory (st_dev and st_ino; kernfs numbers its nodes with a generation, so
 * a new node does not get an old one's number). An attribute removed from a directory that stays
 * fails its reads with ENODEV; that closes the descriptor, and the file is opened anew. Only on a
 * sysfs mount: elsewhere (a recorded tree) files are opened per read and listings asked every time.
 */

/**
 * Descriptors kept at most, by all collectors together: 1024, or a quarter of the soft limit on
 * open files where that is lower (the log tailer needs its share). Past it, files are opened and
 * closed per read, as before.
 */
export const MAX_KEPT_DESCRIPTORS = Math.min(1024, Math.floor(openFilesLimit() / 4));

/** Descriptors kept now, by every instance. */
let keptEverywhere = 0;

/** Descriptors kept now, by every instance. */
export function keptAttributeDescriptorCount(): number {
  return keptEverywhere;
}

function openFilesLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync("/proc/self/limits", "utf8"));
    if (m !== null) return m[1] === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    // not Linux, or /proc not mounted: the default below
  }
  return 1024;
}

interface KeptDirectory {
  dev: number;
  ino: number;
  /** The attribute files the caller listed for this directory object. */
  files: string[];
  /** Two listings in successive rounds agreed: the listing is not asked for again. */
  settled: boolean;
  /** On a sysfs mount: descriptors are kept (elsewhere, a recorded tree say, a rename can replace a file). */
  keep: boolean;
  descriptors: Map<string, number>;
  seenInRound: number;
}

const SYSFS_MAGIC = 0x62656572;

function onSysfs(dir: string): boolean {
  try {
    return Number(fs.statfsSync(dir).type) === SYSFS_MAGIC;
  } catch {
    return false;
  }
}

/** Read errors that say the kept descriptor's file is gone (its kernfs node removed). */
const GONE: ReadonlySet<string> = new Set(["ENODEV", "ENOENT", "EBADF"]);

export class KeptAttributeDirectories {
  private readonly dirs = new Map<string, KeptDirectory>();
  private round = 0;
  private kept = 0;

  private readonly maxDescriptors: number;
  private readonly anyFilesystem: boolean;

  /** `anyFilesystem`: keep descriptors of directories that are not on sysfs too (tests). */
  constructor(options: { maxDescriptors?: number; anyFilesystem?: boolean } = {}) {
    this.maxDescriptors = options.maxDescriptors ?? MAX_KEPT_DESCRIPTORS;
    this.anyFilesystem = options.anyFilesystem ?? false;
  }

  /** Descriptors this instance keeps open now. */
  get descriptorCount(): number {
    return this.kept;
  }

  /** Starts a scrape: directories not asked for before `endRound` have their descriptors closed then. */
  beginRound(): void {
    this.round++;
  }

  /** Closes the descriptors of directories not asked for since `beginRound` (devices gone or ignored). */
  endRound(): void {
    for (const [dir, kept] of this.dirs) if (kept.seenInRound !== this.round) this.drop(dir, kept);
  }

  /**
   * The attribute files of `dir`, as `list` gives them, asked for until two listings in successive
   * rounds agree and then not again while the directory is the same object: the kernel links a new
   * device into its class directory before it adds the device's attribute files, so a first
   * listing can lack some. undefined when `dir` does not exist (ENOENT) or `list` says so; other
   * errors of its stat (ENOTDIR, EACCES) are thrown.
   */
  filesOf(dir: string, list: () => string[] | undefined, options: { settle: boolean } = { settle: true }): string[] | undefined {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(dir, { throwIfNoEntry: false });
    } catch (err) {
      this.forget(dir);
      throw err;
    }
    let kept = this.dirs.get(dir);
    if (kept !== undefined && (stat === undefined || stat.dev !== kept.dev || stat.ino !== kept.ino)) {
      this.drop(dir, kept);
      kept = undefined;
    }
    if (stat === undefined) return undefined;
    if (kept === undefined || !kept.settled) {
      const files = list();
      if (files === undefined) {
        this.forget(dir);
        return undefined;
      }
      if (kept === undefined) {
        const keep = this.anyFilesystem || onSysfs(dir);
        kept = { dev: stat.dev, ino: stat.ino, files, settled: false, keep, descriptors: new Map(), seenInRound: this.round };
        this.dirs.set(dir, kept);
      } else if (!sameFiles(kept.files, files)) {
        const listed = new Set(files);
        for (const [file, fd] of kept.descriptors) {
          if (listed.has(file)) continue;
          closeQuietly(fd);
          kept.descriptors.delete(file);
          this.kept--;
          keptEverywhere--;
        }
        kept.files = files;
      } else {
        kept.settled = options.settle && kept.keep;
      }
    }
    kept.seenInRound = this.round;
    return kept.files;
  }

  /**
   * Reads `file` of `dir` (one read of at most `maxBytes`, as readSysfsAttribute does) through a
   * kept descriptor; `dir` must have been asked for with `filesOf` in this round.
   */
  read(dir: string, file: string, maxBytes = 4096): AttributeRead {
    const result = this.readOnce(dir, file, maxBytes);
    // A kept descriptor of a file removed and made again in the same directory (coretemp's sensors
    // when a CPU goes offline and back) fails with ENODEV, and was closed: the file is opened anew.
    if (result.errno !== undefined && result.during === "read" && GONE.has(result.errno)) return this.readOnce(dir, file, maxBytes);
    return result;
  }

  private readOnce(dir: string, file: string, maxBytes: number): AttributeRead {
    const kept = this.dirs.get(dir);
    let fd = kept?.descriptors.get(file);
    let isKept = fd !== undefined;
    if (fd === undefined) {
      const filePath = `${dir}/${file}`;
      // A file that was missing last time is stat'ed, not opened (missing-paths.ts).
      if (stillMissing(filePath)) return { errno: "ENOENT", during: "open" };
      try {
        fd = openSync(filePath, "r");
      } catch (err) {
        return { errno: errnoOf(err), during: "open" };
      }
      if (kept !== undefined && kept.keep && keptEverywhere < this.maxDescriptors) {
        kept.descriptors.set(file, fd);
        this.kept++;
        keptEverywhere++;
        isKept = true;
      }
    }
    const buffer = attributeBuffer(maxBytes);
    try {
      const n = fs.readSync(fd, buffer, 0, maxBytes, 0);
      return { text: buffer.toString("utf8", 0, n) };
    } catch (err) {
      const errno = errnoOf(err);
      // The attribute is gone (ENODEV: its kernfs node was removed): open it anew next time. Other
      // errors (EINVAL for the speed of a link that is down, EAGAIN) come from the attribute's show
      // function, asked again on the next read from offset 0.
      if (isKept && GONE.has(errno)) {
        kept?.descriptors.delete(file);
        this.kept--;
        keptEverywhere--;
        isKept = false;
      }
      return { errno, during: "read" };
    } finally {
      if (!isKept) closeQuietly(fd);
    }
  }

  closeAll(): void {
    for (const [dir, kept] of this.dirs) this.drop(dir, kept);
  }

  private forget(dir: string): void {
    const kept = this.dirs.get(dir);
    if (kept !== undefined) this.drop(dir, kept);
  }

  private drop(dir: string, kept: KeptDirectory): void {
    for (const fd of kept.descriptors.values()) closeQuietly(fd);
    this.kept -= kept.descriptors.size;
    keptEverywhere -= kept.descriptors.size;
    this.dirs.delete(dir);
  }
}

function sameFiles(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const inA = new Set(a);
  return b.every((file) => inA.has(file));
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // nothing to do: the value was read or the error is reported
  }
}
