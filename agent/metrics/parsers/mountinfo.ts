import { CollectorError } from "../collector.js";
import { parseInt64 } from "./numbers.js";
import { quoteExcerpt } from "./text.js";

/**
 * /proc/<pid>/mountinfo, as procfs's parseMountInfoString and node_exporter's filesystem
 * collector read it (proc(5)):
 *
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
 *
 * procfs splits on single spaces and rejects the whole file when a line has fewer than 10
 * fields, no "-" separator 4 fields from the end, or non-numeric mount IDs; node_exporter adds
 * that the device number must read as "<int>:<int>". Such a file throws CollectorError.
 */

export interface MountEntry {
  /** The mount source (field 10): the device for block filesystems, "tmpfs", "server:/export", ... */
  device: string;
  /** The mount point with \040 and \011 decoded, as node_exporter does (nothing else is decoded). */
  mountPoint: string;
  fsType: string;
  major: string;
  minor: string;
  /** "ro" among the per-mount options (field 6) or the superblock options (field 11). */
  readOnly: boolean;
}

export function parseMountinfo(text: string, source = "/proc/1/mountinfo"): MountEntry[] {
  const mounts: MountEntry[] = [];
  let lineStart = 0;
  let lineNumber = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf("\n", lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    lineNumber++;
    let line = text.slice(lineStart, lineEnd);
    lineStart = lineEnd + 1;
    // bufio.ScanLines drops a trailing \r.
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const problem = parseLine(line, mounts);
    if (problem !== undefined) {
      const shown = quoteExcerpt(line, 120);
      throw new CollectorError(`${source}: line ${lineNumber}: ${problem}: ${shown}`);
    }
  }
  return mounts;
}

/** Appends the line's mount; returns what is wrong with the line instead when it is malformed. */
function parseLine(line: string, mounts: MountEntry[]): string | undefined {
  const fields = line.split(" ");
  const n = fields.length;
  if (n < 10) return "too few fields";
  if (fields[n - 4] !== "-") return 'no "-" separator before the filesystem type';
  if (Number.isNaN(parseInt64(fields[0])) || Number.isNaN(parseInt64(fields[1]))) return "mount ID is not a number";
  const colon = fields[2].indexOf(":");
  const major = colon === -1 ? NaN : parseInt64(fields[2].slice(0, colon).trim());
  const minor = colon === -1 ? NaN : parseInt64(leadingInteger(fields[2].slice(colon + 1)));
  if (Number.isNaN(major) || Number.isNaN(minor)) return "device number is not <major>:<minor>";
  const mountPoint = fields[4];
  mounts.push({
    device: fields[n - 2],
    mountPoint: mountPoint.includes("\\") ? mountPoint.replaceAll("\\040", " ").replaceAll("\\011", "\t") : mountPoint,
    fsType: fields[n - 3],
    major: String(major),
    minor: String(minor),
    readOnly: hasReadOnlyOption(fields[5]) || hasReadOnlyOption(fields[n - 1]),
  });
  return undefined;
}

/** fmt.Sscanf's %d reads the longest integer prefix ("7" of "7x"); the rest is ignored. */
function leadingInteger(text: string): string {
  let end = text.charCodeAt(0) === 43 || text.charCodeAt(0) === 45 ? 1 : 0;
  while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
  return text.slice(0, end);
}

/**
 * Whether an option list makes the mount read-only the way node_exporter decides it: procfs
 * turns the list into a key -> value map (the last repeat of a key wins, "k=v=w" keeps "v"), and
 * node_exporter looks for a bare "ro" in it.
 */
export function hasReadOnlyOption(options: string): boolean {
  if (!options.includes("ro")) return false;
  let readOnly = false;
  for (const option of options.split(",")) {
    const eq = option.indexOf("=");
    const key = eq === -1 ? option : option.slice(0, eq);
    if (key !== "ro") continue;
    if (eq === -1) {
      readOnly = true;
      continue;
    }
    const rest = option.slice(eq + 1);
    const nextEq = rest.indexOf("=");
    readOnly = (nextEq === -1 ? rest : rest.slice(0, nextEq)) === "";
  }
  return readOnly;
}
