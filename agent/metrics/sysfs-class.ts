import fs from "node:fs";
import { readdirSync, stillMissing } from "../host/missing-paths.js";
import { CollectorError } from "./collector.js";
import { goTrimSpace } from "./parsers/uint64.js";
import { readSysfsAttribute, type AttributeRead } from "./sysfs-attribute.js";

/**
 * I/O shared by the collectors built on procfs's sysfs class parsers (nvme, fibrechannel,
 * tapestats, powersupplyclass): directory listings with os.ReadDir's result (sorted names, the
 * error code when it fails) and attribute reads the way procfs's SysReadFile does them.
 */

/** procfs's SysReadFile reads at most 128 bytes, in a single read(2). */
export const SYS_READ_FILE_BYTES = 128;

/** A listed directory: its entries sorted by name, or the code of the error that stopped the listing. */
export type DirListing =
  { readonly entries: fs.Dirent[]; readonly errno?: undefined } | { readonly errno: string; readonly entries?: undefined };

export function listDir(dir: string): DirListing {
  if (stillMissing(dir)) return { errno: "ENOENT" };
  try {
    const entries = readdirSync(dir, { withFileTypes: true });
    return { entries: entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
  } catch (err) {
    return { errno: (err as NodeJS.ErrnoException).code ?? "EIO" };
  }
}

/** An attribute read as SysReadFile returns it: the text trimmed like bytes.TrimSpace, or the error. */
export function readClassAttribute(file: string): AttributeRead {
  const read = readSysfsAttribute(file, SYS_READ_FILE_BYTES);
  return read.errno === undefined ? { text: goTrimSpace(read.text) } : read;
}

/** ENOTSUP and EOPNOTSUPP are one errno on Linux (95); Go prints it as "operation not supported". */
export function isNotSupported(errno: string): boolean {
  return errno === "ENOTSUP" || errno === "EOPNOTSUPP";
}

/** A CollectorError for a failed read or listing, naming the path and the error code. */
export function readError(file: string, errno: string, during?: "open" | "read"): CollectorError {
  return new CollectorError(`${file}: ${during === undefined ? "" : `${during}: `}${errno}`);
}
