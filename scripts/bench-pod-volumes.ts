/**
 * `--pod-volumes=N` for bench:metrics: the benchmark runs in a mount and PID namespace of its own
 * (`unshare --mount --pid --fork --mount-proc`), with N tmpfs mounts laid out as kubelet mounts a
 * pod's projected service-account volume, so that nodetap and node_exporter both see the mount
 * table of a Kubernetes node with N pods. In the new PID namespace the benchmark is PID 1, so
 * /proc/1/mountinfo, which both read, is this namespace's table. Kubelet's directory is
 * /mnt/kubelet on a tmpfs of mode 0700 laid over /mnt in the namespace only (kubelet makes its
 * directory root-only too), and nodetap is told where it is; nothing is created outside the
 * namespace, and everything ends with it. Needs root.
 */
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";

const INSIDE_ENV = "NODETAP_BENCH_POD_VOLUMES";
export const POD_VOLUMES_DIR = "/mnt/kubelet/pods";

/**
 * Outside the namespace: runs this same command in a new one and returns its exit status.
 * Inside it: mounts the volumes and returns undefined (the benchmark goes on).
 */
export function enterPodVolumeNamespace(count: number): number | undefined {
  if (process.env[INSIDE_ENV] === "1") {
    // As PID 1 of its namespace the process ignores signals it has no handler for; its exit ends
    // every process of the namespace (the agents).
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(1));
    mountPodVolumes(count);
    return undefined;
  }
  if (process.getuid?.() !== 0) throw new Error("--pod-volumes needs root (unshare, mount)");
  const command = ["--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private", "--"];
  const run = spawnSync("unshare", [...command, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, [INSIDE_ENV]: "1" },
  });
  if (run.error) throw run.error;
  return run.status ?? 1;
}

/** nodetap's flag for kubelet's directory in this layout (node_exporter has no such option). */
export function podVolumeFlags(count: number): string[] {
  return count > 0 ? [`--collector.filesystem.main-thread-statfs-dir=${POD_VOLUMES_DIR}`] : [];
}

function mountPodVolumes(count: number): void {
  mount("tmpfs", "-o", "mode=0700,size=1m", "kubelet-bench", "/mnt");
  for (let i = 0; i < count; i++) {
    const volume = `${POD_VOLUMES_DIR}/${crypto.randomUUID()}/volumes/kubernetes.io~projected/kube-api-access-${i}`;
    const made = spawnSync("mkdir", ["-p", volume], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`mkdir ${volume}: ${made.stderr.trim()}`);
    mount("tmpfs", "-o", "size=16m", "tmpfs", volume);
  }
}

function mount(type: string, ...args: string[]): void {
  const run = spawnSync("mount", ["-t", type, ...args], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`mount -t ${type} ${args.join(" ")}: ${run.stderr.trim() || String(run.error)}`);
}
