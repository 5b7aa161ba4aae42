import fs from "node:fs";
import { openSync, stillMissing } from "../host/missing-paths.js";

/**
 * One sysfs attribute read the way procfs's util.SysReadFile and node_exporter's hwmon
 * sysReadFile do it: open, then a single read(2) of at most `maxBytes`. A second read could poll
 * forever on hwmon drivers that answer EAGAIN, so there is none. Errors are kept with their errno
 * code and whether open or read failed, because procfs treats those differently.
 */
export type AttributeRead =
  | { readonly text: string; readonly errno?: undefined }
  | { readonly errno: string; readonly during: "open" | "read"; readonly text?: undefined };

const buffers = new Map<number, Buffer>();

/** A scratch buffer of `size` bytes, one per size, shared by every synchronous attribute read. */
export function attributeBuffer(size: number): Buffer {
  let buffer = buffers.get(size);
  if (buffer === undefined) buffers.set(size, (buffer = Buffer.allocUnsafe(size)));
  return buffer;
}

export function readSysfsAttribute(filePath: string, maxBytes = 4096): AttributeRead {
  if (stillMissing(filePath)) return { errno: "ENOENT", during: "open" };
  let fd: number;
  try {
    fd = openSync(filePath, "r");
  } catch (err) {
    return { errno: errnoOf(err), during: "open" };
  }
  try {
    const buffer = attributeBuffer(maxBytes);
    const n = fs.readSync(fd, buffer, 0, maxBytes, null);
    return { text: buffer.toString("utf8", 0, n) };
  } catch (err) {
    return { errno: errnoOf(err), during: "read" };
  } finally {
    try {
      fs.closeSync(fd);
    } catch {
      // nothing to do: the value was read or the error is reported
    }
  }
}

/** The error code of a failed open or read (EIO when there is none). */
export function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? "EIO";
}
