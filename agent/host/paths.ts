import path from "node:path";

/**
 * The roots through which every host file is read, so the same code runs on the host (`/proc`),
 * in a container (`/host/proc`) and in tests (a recorded fixture tree).
 */
export interface HostPathRoots {
  procfs: string;
  sysfs: string;
  rootfs: string;
  udevData: string;
}

export class HostPaths {
  readonly procfs: string;
  readonly sysfs: string;
  readonly rootfs: string;
  readonly udevData: string;

  constructor(roots: HostPathRoots) {
    this.procfs = roots.procfs;
    this.sysfs = roots.sysfs;
    this.rootfs = roots.rootfs;
    this.udevData = roots.udevData;
  }

  proc(...parts: string[]): string {
    return path.join(this.procfs, ...parts);
  }

  sys(...parts: string[]): string {
    return path.join(this.sysfs, ...parts);
  }

  /** A path on the host's root filesystem, e.g. `root("etc/os-release")`. */
  root(...parts: string[]): string {
    return path.join(this.rootfs, ...parts);
  }

  udev(...parts: string[]): string {
    return path.join(this.udevData, ...parts);
  }

  /**
   * A mount point as seen by the host (from /proc/1/mountinfo), mapped to where it is reachable
   * from this process: `/home` with rootfs `/host/root` becomes `/host/root/home`.
   */
  hostMountToLocal(mountPoint: string): string {
    return path.join(this.rootfs, mountPoint);
  }

  /** Inverse of hostMountToLocal for mount points this process sees under the rootfs prefix. */
  localMountToHost(localPath: string): string {
    if (this.rootfs === "/" || this.rootfs === "") return localPath;
    const root = this.rootfs.replace(/\/+$/, "");
    if (localPath === root) return "/";
    if (localPath.startsWith(root + "/")) return localPath.slice(root.length);
    return localPath;
  }
}

export const DEFAULT_ROOTS: HostPathRoots = {
  procfs: "/proc",
  sysfs: "/sys",
  rootfs: "/",
  udevData: "/run/udev/data",
};
