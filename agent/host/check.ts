import fs from "node:fs";
import type { HostPaths } from "./paths.js";

/** Thrown at start when a host root cannot be used; main() exits with EXIT_HOST_PATHS. */
export class HostPathError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = "HostPathError";
  }
}

export const EXIT_HOST_PATHS = 3;

/** Fails fast when procfs or sysfs is not what it claims to be (wrong mount, no permission). */
export function checkHostPaths(paths: HostPaths): void {
  try {
    fs.accessSync(paths.proc("stat"), fs.constants.R_OK);
  } catch (err) {
    throw new HostPathError(
      "paths.procfs",
      `procfs ${paths.procfs} is unreadable (${(err as Error).message}); is --path.procfs pointing at a mounted /proc?`,
    );
  }
  try {
    if (!fs.statSync(paths.sysfs).isDirectory()) throw new Error("not a directory");
    fs.readdirSync(paths.sysfs);
  } catch (err) {
    throw new HostPathError(
      "paths.sysfs",
      `sysfs ${paths.sysfs} is unreadable (${(err as Error).message}); is --path.sysfs pointing at a mounted /sys?`,
    );
  }
  try {
    fs.readdirSync(paths.rootfs);
  } catch (err) {
    throw new HostPathError(
      "paths.rootfs",
      `rootfs ${paths.rootfs} is unreadable (${(err as Error).message}); is --path.rootfs pointing at the host's / ?`,
    );
  }
}
