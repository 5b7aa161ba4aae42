import fs from "node:fs/promises";
import path from "node:path";
import { identityKey } from "./file-identity.js";

/** Directory entries looked at when searching for a renamed file. */
const MAX_ENTRIES = 10_000;

/**
 * Finds the current name of a file known by device and inode, looking in the directory where
 * it was last seen (rotation renames within a directory: syslog -> syslog.1, 0.log ->
 * 0.log.20240501-101500). Used after a restart for checkpointed files whose old name now
 * belongs to another file, so their unread tail is drained instead of lost.
 */
export async function findRenamedFile(dir: string, dev: string, ino: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return undefined;
  }
  const wanted = identityKey(dev, ino);
  for (const name of names.slice(0, MAX_ENTRIES)) {
    if (name.endsWith(".gz") || name.endsWith(".tmp")) continue;
    const candidate = path.join(dir, name);
    try {
      const st = await fs.lstat(candidate, { bigint: true });
      if (st.isFile() && identityKey(st.dev, st.ino) === wanted) return candidate;
    } catch {
      // Gone between readdir and stat: not it.
    }
  }
  return undefined;
}
