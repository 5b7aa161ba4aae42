import fs from "node:fs";

const FD_DIR = "/proc/self/fd";

/** How the counter looks at /proc/self/fd; tests give their own. */
export interface FdDirectory {
  /** st_size of the directory. */
  size(): number;
  /** How many entries a listing gives, the listing's own descriptor included. */
  listed(): number;
}

const procSelfFd: FdDirectory = {
  size: () => fs.statSync(FD_DIR).size,
  listed: () => fs.readdirSync(FD_DIR).length,
};

/**
 * How many file descriptors this process has open. Since Linux 6.2 a stat of /proc/<pid>/fd gives
 * the count as st_size, without listing the directory: a listing builds a name per descriptor, and
 * the agent keeps 100 and more procfs and sysfs files open between scrapes
 * (kept-procfs-files.ts, kept-attribute-dirs.ts), so that listing was about 5 % of a scrape's CPU.
 * Earlier kernels report a size of 0 (then the stat is not tried again) and a policy may refuse
 * the stat: the directory is listed, less the descriptor the listing itself holds open (as
 * prom-client counts).
 */
export class OpenDescriptorCounter {
  /** Whether the directory's size is the count; undefined until the first stat. */
  private sizeCounts: boolean | undefined;

  constructor(private readonly dir: FdDirectory = procSelfFd) {}

  /** The count, or undefined where the directory cannot be read. */
  count(): number | undefined {
    if (this.sizeCounts !== false) {
      try {
        const size = this.dir.size();
        this.sizeCounts = size > 0;
        if (this.sizeCounts) return size;
      } catch {
        // Listed below.
      }
    }
    try {
      return this.dir.listed() - 1;
    } catch {
      return undefined;
    }
  }
}
