/**
 * The filesystem collector stats tmpfs and ramfs mounts on the main thread when they lie below a
 * directory only root can enter and the path walk to them only crosses local or in-memory mounts
 * of this process's own mount table (agent/metrics/collectors/filesystem-inline.ts), and through
 * the thread pool otherwise. This test makes real mounts in a mount namespace of its own, below
 * /mnt/pods on a tmpfs of mode 0700 laid over /mnt there (a tmpfs under a hugetlbfs mount, a
 * tmpfs hidden by a later mount on its parent, two stacked tmpfs, a ramfs, a tmpfs with a FUSE
 * mount on top whose daemon never answers, and a tmpfs outside /mnt/pods), and runs the real
 * agent in it with a procfs directory whose "1" is /proc/self, so that the table the collector
 * reports from is the namespace's. It checks the values against statfs in the namespace, where
 * each statfs ran (/status), and that the main thread answers while a statfs hangs. Needs root
 * (unshare, mount, /dev/fuse); skipped where that is not allowed.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseExposition } from "../../helpers/exposition-parse.js";
import { REPO_ROOT, removeTempDirs, startAgent, tempDir, type AgentProcess } from "../../helpers/agent-process.js";
import { getJson, getText } from "../../helpers/http.js";
import { havePrograms } from "../../helpers/test-programs.js";

const base = tempDir("nodetap-fs-memory-");
const nsFile = path.join(base, "mnt-ns");
const outside = path.join(base, "outside");
/** In the namespace only: a tmpfs of mode 0700 on /mnt, so that /mnt/pods is closed to non-root users. */
const PODS = "/mnt/pods";
const at = (p: string) => path.join(PODS, p);
let fuseHolder: ChildProcess | undefined;

function inNamespace(...command: string[]): string {
  return execFileSync("nsenter", [`--mount=${nsFile}`, "--", ...command], { encoding: "utf8", stdio: "pipe" });
}

/** Creates the namespace and its mounts; a reason to skip where this machine does not allow it. */
async function setUp(): Promise<string | undefined> {
  fs.writeFileSync(nsFile, "");
  fs.mkdirSync(outside);
  const made = spawnSync("unshare", [`--mount=${nsFile}`, "--propagation", "private", "true"], { encoding: "utf8" });
  if (made.status !== 0) {
    removeTempDirs();
    return `unshare --mount: ${made.error?.message ?? made.stderr.trim()}`;
  }
  try {
    inNamespace("mount", "-t", "tmpfs", "-o", "mode=0700,size=1m", "closed", "/mnt");
    inNamespace("mkdir", "-p", ...["pods/a/volumes/token", "ramfs", "hidden/x/y", "stacked", "huge", "fuse"].map(at));
    inNamespace("mount", "-t", "tmpfs", "-o", "size=1m", "token", at("pods/a/volumes/token"));
    inNamespace("mount", "-t", "ramfs", "ram", at("ramfs"));
    inNamespace("mount", "-t", "tmpfs", "-o", "size=2m", "hidden", at("hidden/x/y"));
    inNamespace("mount", "-t", "tmpfs", "-o", "size=3m", "on-top", at("hidden/x"));
    inNamespace("mount", "-t", "tmpfs", "-o", "size=4m", "lower", at("stacked"));
    inNamespace("mount", "-t", "tmpfs", "-o", "size=5m", "upper", at("stacked"));
    inNamespace("mount", "-t", "hugetlbfs", "huge", at("huge"));
    inNamespace("mkdir", at("huge/sub"));
    inNamespace("mount", "-t", "tmpfs", "-o", "size=6m", "under-huge", at("huge/sub"));
    inNamespace("mount", "-t", "tmpfs", "-o", "size=7m", "below-fuse", at("fuse"));
    inNamespace("mount", "-t", "tmpfs", "-o", "size=8m", "outside", outside);
  } catch (err) {
    tearDown();
    return `mount in the namespace: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`;
  }
  // A FUSE mount on top of the "below-fuse" tmpfs whose daemon never reads /dev/fuse: a statfs
  // that reaches it blocks until the holder of the device's descriptor exits.
  const script = `exec 3<>/dev/fuse && mount -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 never-answers ${at("fuse")} && exec sleep 3600`;
  fuseHolder = spawn("nsenter", [`--mount=${nsFile}`, "--", "sh", "-c", script], { stdio: "ignore" });
  for (let i = 0; i < 100 && !inNamespace("cat", "/proc/self/mountinfo").includes(" never-answers "); i++)
    await new Promise((r) => setTimeout(r, 50));
  if (!inNamespace("cat", "/proc/self/mountinfo").includes(" never-answers ")) {
    tearDown();
    return "could not mount FUSE (/dev/fuse) in the namespace";
  }
  return undefined;
}

function tearDown(): void {
  // The FUSE connection ends with its descriptor; unbinding the file ends the namespace (no
  // process is left in it), and its mounts with it.
  fuseHolder?.kill("SIGKILL");
  spawnSync("umount", [nsFile]);
  removeTempDirs();
}

const PROGRAMS = ["unshare", "nsenter", "mount", "umount"];
const skipReason =
  process.getuid?.() !== 0
    ? "needs root"
    : !havePrograms("filesystem statfs of memory mounts", ...PROGRAMS)
      ? `needs ${PROGRAMS.join(", ")}`
      : !fs.existsSync("/dev/fuse")
        ? "needs /dev/fuse"
        : await setUp();
let agent: AgentProcess | undefined;

interface FilesystemStatus {
  filesystem: { statfsOnMainThread: number; statfsThroughPool: number };
}

describe.skipIf(skipReason !== undefined)(`filesystem statfs of memory mounts${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  beforeAll(async () => {
    const proc = path.join(base, "proc");
    fs.mkdirSync(proc);
    fs.symlinkSync("/proc/self", path.join(proc, "1"));
    // What the agent checks at start that --path.procfs points at a procfs.
    fs.symlinkSync("/proc/stat", path.join(proc, "stat"));
    agent = await startAgent({
      // nsenter would start it in / otherwise, where tsx is not found.
      wrapper: ["nsenter", `--mount=${nsFile}`, `--wd=${REPO_ROOT}`, "--"],
      args: [
        `--path.procfs=${proc}`,
        "--collector.disable-defaults",
        "--collector.filesystem",
        `--collector.filesystem.mount-points-include=^(${PODS}/|${outside.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$)`,
        `--collector.filesystem.main-thread-statfs-dir=${PODS}`,
        "--collector.filesystem.mount-timeout=1s",
        // The FUSE mount itself would hold a second pool thread; the tmpfs below it is what is tested.
        "--collector.filesystem.fs-types-exclude=^(fuse|hugetlbfs)$",
      ],
    });
  }, 90_000);

  afterAll(async () => {
    await agent?.stop();
    tearDown();
  });

  it("keeps answering while a statfs hangs in the pool, and reports that mount as timed out", async () => {
    const scrape = getText(`${agent!.url}/metrics`);
    await new Promise((r) => setTimeout(r, 200));
    const asked = performance.now();
    expect(await getText(`${agent!.url}/healthz`)).toBeTruthy();
    expect(performance.now() - asked).toBeLessThan(500);
    const families = parseExposition(await scrape);
    const errors = families.get("node_filesystem_device_error")!.samples;
    expect(errors.get(series("node_filesystem_device_error", "below-fuse", at("fuse"), "tmpfs", "mountpoint timeout"))).toBe(1);
  });

  it("stats what the walk reaches through local and memory mounts on the main thread, the rest in the pool, with the same values", async () => {
    const status = async () => (await getJson<FilesystemStatus>(`${agent!.url}/status`)).filesystem;
    const before = await status();
    const families = parseExposition(await getText(`${agent!.url}/metrics`));
    const after = await status();

    const value = (name: string, device: string, mountpoint: string, fstype: string, deviceError = "") =>
      families.get(name)?.samples.get(series(name, device, mountpoint, fstype, deviceError));
    const size = (device: string, p: string, fstype = "tmpfs") => value("node_filesystem_size_bytes", device, p, fstype);
    const statfsSize = (p: string) => {
      const [blocks, bsize] = inNamespace("stat", "-f", "-c", "%b %S", p).trim().split(" ").map(Number);
      return blocks * bsize;
    };

    expect(size("token", at("pods/a/volumes/token"))).toBe(1024 * 1024);
    expect(size("token", at("pods/a/volumes/token"))).toBe(statfsSize(at("pods/a/volumes/token")));
    expect(size("ram", at("ramfs"), "ramfs")).toBe(statfsSize(at("ramfs")));
    expect(size("on-top", at("hidden/x"))).toBe(3 * 1024 * 1024);
    // Both stacked mounts are reported with what statfs of the path gives: the one on top.
    expect(size("lower", at("stacked"))).toBe(5 * 1024 * 1024);
    expect(size("upper", at("stacked"))).toBe(5 * 1024 * 1024);
    // The hidden mount: statfs walks into the mount on top, which has no "y".
    expect(value("node_filesystem_device_error", "hidden", at("hidden/x/y"), "tmpfs", "no such file or directory")).toBe(1);
    // Under hugetlbfs (not a filesystem the main thread walks) and outside /mnt/pods: through the pool.
    expect(size("under-huge", at("huge/sub"))).toBe(6 * 1024 * 1024);
    expect(size("outside", outside)).toBe(8 * 1024 * 1024);

    // token, ram, on-top, lower, upper on the main thread; hidden, under-huge, outside and the
    // stuck below-fuse (answered without a call) through the pool.
    expect(after.statfsOnMainThread - before.statfsOnMainThread).toBe(5);
    expect(after.statfsThroughPool - before.statfsThroughPool).toBe(4);
  });

  // Last: it stops the agent. libuv joins its pool's threads at exit, so with a statfs stuck in
  // the FUSE mount the process ends only when the call returns: here, when the FUSE connection
  // goes away (in a pod, the kubelet's SIGKILL after the grace period ends it). The shutdown
  // itself is done before, and the log says why the process lingers.
  it("finishes its shutdown on SIGTERM while a statfs is stuck, says the exit waits for it, and exits once it returns", async () => {
    agent!.child.kill("SIGTERM");
    await agent!.waitForLog("nodetap stopped", 10_000);
    const lingering = await agent!.waitForLog(/the process ends when the kernel returns the statfs calls/, 10_000);
    expect(lingering).toMatchObject({ statfs_calls_in_pool: 1 });
    expect(agent!.running).toBe(true);
    fuseHolder?.kill("SIGKILL");
    const result = await Promise.race([agent!.exited, new Promise<undefined>((r) => setTimeout(r, 10_000))]);
    expect(result?.code).toBe(0);
  });
});

function series(name: string, device: string, mountpoint: string, fstype: string, deviceError = ""): string {
  return `${name}{device=${JSON.stringify(device)},device_error=${JSON.stringify(deviceError)},fstype=${JSON.stringify(fstype)},mountpoint=${JSON.stringify(mountpoint)}}`;
}
