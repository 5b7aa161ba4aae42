/**
 * The mount tree of a mount namespace, from /proc/<pid>/mountinfo with the mount IDs, and the
 * path walk the kernel does through it: which mounts a lookup of an absolute path enters.
 *
 * At each component the kernel looks the name up in the filesystem of the mount it is in, then
 * crosses into a mount attached at that (mount, dentry), and again while mounts are stacked
 * there. mountinfo gives each mount's parent mount ID and the path of the dentry it is attached
 * to, so the mount a component crosses into is the child of the current mount listed at that
 * prefix. A mount hidden by a later mount on a parent directory keeps its line in mountinfo but
 * is not reached: the walk goes through the mount on top, where the child is not attached.
 *
 * An absolute lookup starts at the process's root itself (path_init sets the path to the root
 * without crossing mounts), so a mount stacked on "/" after the root was set is not entered.
 */

export interface MountNode {
  id: number;
  parentId: number;
  /** The mount point, with mountinfo's octal escapes (\040, \011, \012, \134) decoded. */
  mountPoint: string;
  fsType: string;
  /** The filesystem's device number, "major:minor" (field 3). */
  device: string;
}

/** The file's mounts; undefined when a line is malformed (callers then take no decision from it). */
export function parseMountTree(text: string): MountNode[] | undefined {
  const nodes: MountNode[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const fields = line.split(" ");
    const n = fields.length;
    if (n < 10 || fields[n - 4] !== "-" || !/^\d+$/.test(fields[0]) || !/^\d+$/.test(fields[1])) return undefined;
    nodes.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      mountPoint: decodeOctalEscapes(fields[4]),
      fsType: fields[n - 3],
      device: fields[2],
    });
  }
  return nodes;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo (the kernel's seq_path). */
function decodeOctalEscapes(text: string): string {
  if (!text.includes("\\")) return text;
  return text.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** A walk's cap on crossings at one place: more stacked mounts than this means a table we do not understand. */
const MAX_STACKED = 64;

export class MountTree {
  private readonly children = new Map<number, Map<string, MountNode[]>>();
  private readonly base: MountNode | undefined;

  /**
   * `rootDevice`: the device number of "/" as stat(2) gives it ("major:minor"); the root mount
   * must have it, or the table is not trusted (the root is a directory inside a mount that
   * mountinfo does not list, after a chroot, and what is listed at "/" is mounted on top of it).
   */
  constructor(nodes: readonly MountNode[], rootDevice?: string) {
    const byId = new Set(nodes.map((n) => n.id));
    // Only the root may have a parent outside the table: any other such mount hangs off a mount
    // mountinfo did not show (outside the root), and a walk through it could not be followed.
    const unattached = nodes.filter((n) => n.parentId === n.id || !byId.has(n.parentId));
    const trusted =
      byId.size === nodes.length &&
      unattached.length === 1 &&
      unattached[0].mountPoint === "/" &&
      (rootDevice === undefined || unattached[0].device === rootDevice);
    this.base = trusted ? unattached[0] : undefined;
    if (!trusted) return;
    for (const node of nodes) {
      if (node === this.base) continue;
      let atParent = this.children.get(node.parentId);
      if (atParent === undefined) this.children.set(node.parentId, (atParent = new Map()));
      const list = atParent.get(node.mountPoint);
      if (list === undefined) atParent.set(node.mountPoint, [node]);
      else list.push(node);
    }
  }

  /** Whether the table shows the process's root as expected; walks give no answer otherwise. */
  get trusted(): boolean {
    return this.base !== undefined;
  }

  /**
   * The mounts a lookup of `absolutePath` enters, in order (the root first, the mount the path
   * ends in last); undefined when the table is not trusted (above), leaves the answer in doubt
   * (two mounts attached at one place), or the path may not name exactly what the kernel would
   * walk: not absolute and normalized (no "." or ".." components, no repeated or trailing "/"),
   * a U+FFFD (bytes that were not UTF-8, which the decoded text no longer holds), or a component
   * ending in " (deleted)" (what mountinfo appends to a mount point that was removed). Symbolic
   * links are not followed: the caller passes paths that mountinfo gave, which the kernel writes
   * without them, and a symlink in a path makes it differ from every mount point listed.
   */
  walk(absolutePath: string): MountNode[] | undefined {
    if (this.base === undefined || !isExactPath(absolutePath)) return undefined;
    const entered: MountNode[] = [this.base];
    if (absolutePath === "/") return entered;
    let end = 0;
    while (end < absolutePath.length) {
      const next = absolutePath.indexOf("/", end + 1);
      end = next === -1 ? absolutePath.length : next;
      if (!this.crossStacked(entered, absolutePath.slice(0, end))) return undefined;
    }
    return entered;
  }

  /** Crosses into the mounts attached at `prefix` on top of the last mount entered; false when ambiguous. */
  private crossStacked(entered: MountNode[], prefix: string): boolean {
    for (let crossings = 0; crossings <= MAX_STACKED; crossings++) {
      const attached = this.children.get(entered[entered.length - 1].id)?.get(prefix);
      if (attached === undefined) return true;
      if (attached.length !== 1) return false;
      entered.push(attached[0]);
    }
    return false;
  }
}

function isExactPath(p: string): boolean {
  if (!p.startsWith("/")) return false;
  if (p === "/") return true;
  if (p.endsWith("/") || p.includes("//") || p.includes("\uFFFD")) return false;
  for (const component of p.slice(1).split("/"))
    if (component === "." || component === ".." || component.endsWith(" (deleted)")) return false;
  return true;
}
