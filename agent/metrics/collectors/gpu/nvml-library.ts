import fs from "node:fs";
import type { HostPaths } from "../../../host/paths.js";

/**
 * Where the NVIDIA driver's libnvidia-ml.so.1 may be, and whether this node has an NVIDIA driver
 * at all. In the chart's GPU DaemonSet the NVIDIA container runtime puts the host driver's library
 * into the container (found by name, through the dynamic linker); run on a host directly, the
 * linker finds it too; otherwise it is looked for under the host root in the places drivers are
 * installed (distribution packages, the GPU operator's driver container, GKE).
 */

export const NVML_SONAME = "libnvidia-ml.so.1";

/** Directories under the host root, in the order they are tried. */
export const HOST_LIBRARY_DIRS = [
  "usr/lib/x86_64-linux-gnu",
  "usr/lib/aarch64-linux-gnu",
  "usr/lib64",
  "usr/lib",
  "run/nvidia/driver/usr/lib/x86_64-linux-gnu",
  "run/nvidia/driver/usr/lib64",
  "usr/local/nvidia/lib64",
  "home/kubernetes/bin/nvidia/lib64",
];

const NVIDIA_SMI_DIRS = ["usr/bin", "usr/local/bin", "run/nvidia/driver/usr/bin", "usr/local/nvidia/bin", "home/kubernetes/bin/nvidia/bin"];

export interface NvmlDiscovery {
  /** What to dlopen, in order; empty when this node shows no sign of an NVIDIA driver. */
  readonly libraries: readonly string[];
  /** What was looked at, for the log line that says why the collector is off. */
  readonly lookedAt: readonly string[];
}

/**
 * The libraries to try. `configured` alone when set. Else the soname (the dynamic linker's search)
 * when the linker's cache or this process' environment knows it, then every copy under the host root.
 * A node with no library and no nvidia-smi has no NVIDIA driver: the list is empty.
 */
export function discoverNvml(paths: HostPaths, configured: string, ldCache = "/etc/ld.so.cache"): NvmlDiscovery {
  if (configured !== "") return { libraries: [configured], lookedAt: [configured] };
  const libraries: string[] = [];
  const lookedAt: string[] = [];
  lookedAt.push(`${ldCache} and LD_LIBRARY_PATH`);
  if (linkerKnows(ldCache)) libraries.push(NVML_SONAME);
  for (const dir of HOST_LIBRARY_DIRS) {
    const file = paths.root(dir, NVML_SONAME);
    lookedAt.push(file);
    if (fs.existsSync(file) && !libraries.includes(file)) libraries.push(file);
  }
  if (libraries.length === 0) {
    const smi = NVIDIA_SMI_DIRS.map((dir) => paths.root(dir, "nvidia-smi"));
    lookedAt.push(...smi);
    // nvidia-smi without the library: a driver is there, so let the linker try and say what is missing.
    if (smi.some((file) => fs.existsSync(file))) libraries.push(NVML_SONAME);
  }
  return { libraries, lookedAt };
}

function linkerKnows(ldCache: string): boolean {
  for (const dir of (process.env.LD_LIBRARY_PATH ?? "").split(":")) {
    if (dir !== "" && fs.existsSync(`${dir}/${NVML_SONAME}`)) return true;
  }
  try {
    return fs.readFileSync(ldCache).includes(NVML_SONAME);
  } catch {
    return false;
  }
}
