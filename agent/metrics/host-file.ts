import fs from "node:fs";
import { keptProcfsDescriptor, releaseProcfsDescriptor } from "../host/kept-procfs-files.js";
import { openSync, stillMissing } from "../host/missing-paths.js";
import { isMissing, readText } from "../host/read.js";
import { CollectorError } from "./collector.js";
import { attributeBuffer } from "./sysfs-attribute.js";

/**
 * Reads a host pseudo-file for a collector: undefined when it does not exist (the feature is
 * absent, node_exporter's ErrNoData), CollectorError naming the file for any other failure
 * (permission denied, larger than the read limit, EIO).
 */
export function readHostFile(filePath: string, limit?: number): string | undefined {
  try {
    return readText(filePath, limit);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw new CollectorError(`${filePath}: ${(err as Error).message}`, { cause: err });
  }
}

/** Like readHostFile, for files that must exist: a missing file is a CollectorError too. */
export function readRequiredHostFile(filePath: string, limit?: number): string {
  const text = readHostFile(filePath, limit);
  if (text === undefined) throw new CollectorError(`${filePath}: file not found`);
  return text;
}

/** The error code of a failed read (ENOTSUP for disabled PSI, EACCES, ...), if any. */
export function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** sysfs attributes and /proc/sys values fit in one page: one shared scratch buffer (sysfs-attribute.ts), not a 64 KiB allocation per read. */
const ATTRIBUTE_BYTES = 4096;

/**
 * Reads a one-value sysfs or /proc/sys file, trimmed, with a single small read; undefined when
 * it is missing or unreadable (EINVAL, EACCES), like procfs' ReadUintFromFile callers that skip.
 */
export function readSysAttribute(filePath: string): string | undefined {
  if (stillMissing(filePath)) return undefined;
  let kept: number | undefined;
  try {
    kept = keptProcfsDescriptor(filePath);
  } catch {
    return undefined;
  }
  if (kept !== undefined) {
    try {
      return readAttributeText(kept, filePath, true);
    } catch {
      // Read it anew below: a kept file can go away (its module unloaded) and come back.
      releaseProcfsDescriptor(filePath);
    }
  }
  let fd: number;
  try {
    fd = openSync(filePath, "r");
  } catch {
    return undefined;
  }
  try {
    return readAttributeText(fd, filePath, false);
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** `fromStart`: with pread from offset 0 (a kept descriptor), else from the file position. */
function readAttributeText(fd: number, filePath: string, fromStart: boolean): string {
  const buffer = attributeBuffer(ATTRIBUTE_BYTES);
  let total = 0;
  for (;;) {
    const n = fs.readSync(fd, buffer, total, buffer.length - total, fromStart ? total : null);
    if (n === 0) break;
    total += n;
    if (total === buffer.length) return readText(filePath, 1024 * 1024).trim();
  }
  return buffer.toString("utf8", 0, total).trim();
}
