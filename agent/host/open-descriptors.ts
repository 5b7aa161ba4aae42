import fs from "node:fs";

const FD_DIR = "/proc/self/fd";

/**
 * How many file descriptors this process has open, or undefined where /proc/self/fd cannot be
 * read. Since Linux 6.2 a stat of /proc/<pid>/fd gives the count as st_size, without listing the
 * directory: a listing builds a name per descriptor, and the agent keeps 100 and more procfs and
 * sysfs files open between scrapes (kept-procfs-files.ts, kept-attribute-dirs.ts), so that
 * listing was about 5 % of a scrape's CPU. Earlier kernels report a size of 0, and the directory
 * is listed, less the descriptor the listing itself holds open (as prom-client counts).
 */
export function countOpenDescriptors(): number | undefined {
  try {
    const size = fs.statSync(FD_DIR).size;
    if (size > 0) return size;
    return fs.readdirSync(FD_DIR).length - 1;
  } catch {
    return undefined;
  }
}
