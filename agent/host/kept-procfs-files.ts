import fs from "node:fs";
import { openSync } from "./missing-paths.js";

/**
 * procfs files read through descriptors kept open between scrapes, each read with pread(2) from
 * offset 0: procfs makes a file's text anew on a read from offset 0 (seq_file resets to its first
 * record, /proc/sys handlers format the value again), so a kept descriptor reads what a fresh open
 * would, without the open and the close (about 30 files a scrape: /proc/stat, meminfo, net/*, ...).
 *
 * Only for a procfs mount (statfs), never for a recorded tree or a regular file, whose content a
 * rename can replace behind a kept descriptor. Not for /proc/<pid>/ of other processes either
 * (the process can end and its pid be reused), except /proc/1 (the init of the PID namespace:
 * when it ends, so does every process in the namespace, this one included; filesystem reads its
 * mountinfo every scrape); /proc/self and /proc/net (this process's network namespace, which does
 * not change) are this process's own. A descriptor whose read fails is
 * closed, and the caller opens the file anew (a module unloaded: its files are gone), and from
 * then on per read.
 */

const PROC_SUPER_MAGIC = 0x9fa0;
/** Kept at most; the files a scrape reads are about 30. */
const MAX_KEPT = 64;

/** A kept descriptor not read for this long gives its slot to another file (a ZFS dataset's kstat file, destroyed). */
const IDLE_MS = 10 * 60 * 1000;
/** Files whose kept descriptor failed a read are opened per read again; remembered up to this many. */
const MAX_UNKEPT = 256;

let prefix: string | undefined;
const kept = new Map<string, { fd: number; usedAt: number }>();
const unkept = new Set<string>();

/** Keeps descriptors for files under `procfsRoot` from now on, where it is a procfs mount. */
export function keepProcfsDescriptors(procfsRoot: string): boolean {
  prefix = undefined;
  try {
    if (Number(fs.statfsSync(procfsRoot).type) !== PROC_SUPER_MAGIC) return false;
  } catch {
    return false;
  }
  prefix = procfsRoot.endsWith("/") ? procfsRoot : `${procfsRoot}/`;
  return true;
}

/**
 * A kept descriptor for `filePath`, opened now if it is not kept yet; undefined for a file that is
 * not to be kept (the caller opens it as usual). Throws as an open would (ENOENT remembered).
 */
export function keptProcfsDescriptor(filePath: string): number | undefined {
  if (prefix === undefined || !filePath.startsWith(prefix)) return undefined;
  const entry = kept.get(filePath);
  if (entry !== undefined) {
    entry.usedAt = Date.now();
    return entry.fd;
  }
  const first = filePath.charCodeAt(prefix.length);
  const otherProcess = first >= 0x30 && first <= 0x39 && !filePath.startsWith("1/", prefix.length);
  if (otherProcess || unkept.has(filePath)) return undefined;
  if (kept.size >= MAX_KEPT && !freeIdleSlots()) return undefined;
  const fd = openSync(filePath, "r");
  kept.set(filePath, { fd, usedAt: Date.now() });
  return fd;
}

function freeIdleSlots(): boolean {
  const before = Date.now() - IDLE_MS;
  for (const [filePath, entry] of kept) if (entry.usedAt < before) close(filePath, entry.fd);
  return kept.size < MAX_KEPT;
}

/**
 * Closes the kept descriptor of `filePath`, whose read failed, and reads it through fresh opens
 * from now on: a file that opens but does not read (PSI files on a kernel booted with psi=0)
 * would otherwise cost two opens a scrape.
 */
export function releaseProcfsDescriptor(filePath: string): void {
  const entry = kept.get(filePath);
  if (entry === undefined) return;
  close(filePath, entry.fd);
  if (unkept.size >= MAX_UNKEPT) unkept.clear();
  unkept.add(filePath);
}

function close(filePath: string, fd: number): void {
  kept.delete(filePath);
  try {
    fs.closeSync(fd);
  } catch {
    // already reported by the failed read
  }
}

/** Descriptors kept now. */
export function keptProcfsDescriptorCount(): number {
  return kept.size;
}

/** Closes every kept descriptor and keeps no more (agent stop, tests). */
export function stopKeepingProcfsDescriptors(): void {
  for (const [filePath, entry] of kept) close(filePath, entry.fd);
  unkept.clear();
  prefix = undefined;
}
