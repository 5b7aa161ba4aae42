import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config/load.js";
import { HostPaths } from "../../../agent/host/paths.js";
import { CollectorError, type Collector } from "../../../agent/metrics/collector.js";
import { collector, createFilesystemCollector, filesystemStatus, readMountTable } from "../../../agent/metrics/collectors/filesystem.js";
import { InlineStatfs } from "../../../agent/metrics/collectors/filesystem-inline.js";
import { RootOnlyDirs } from "../../../agent/metrics/collectors/root-only-dirs.js";
import type { StatfsBackend, StatfsBatch, StatfsOutcome, StatfsValues } from "../../../agent/metrics/collectors/filesystem-stat.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { hasReadOnlyOption, parseMountinfo } from "../../../agent/metrics/parsers/mountinfo.js";
import { FIXTURE_ROOT, silentLogger, toParsed } from "../../helpers/fixtures.js";
import type { ParsedFamily } from "../../helpers/exposition-parse.js";

const TREE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/filesystem");
const FAMILIES = [
  "node_filesystem_avail_bytes",
  "node_filesystem_device_error",
  "node_filesystem_files",
  "node_filesystem_files_free",
  "node_filesystem_free_bytes",
  "node_filesystem_mount_info",
  "node_filesystem_readonly",
  "node_filesystem_size_bytes",
];

function deps(flags: string[] = []) {
  const config = loadConfig(flags, {}).config;
  return { paths: new HostPaths(config.paths), config: config.metrics, logger: silentLogger };
}

function treeFlags(extra: string[] = []): string[] {
  return [`--path.procfs=${TREE}/proc`, `--path.rootfs=${TREE}/root`, ...extra];
}

async function scrape(c: Collector): Promise<Map<string, ParsedFamily>> {
  const out = new FamilyCollector();
  await c.update(out, { signal: new AbortController().signal });
  return toParsed(out);
}

function series(name: string, device: string, mountpoint: string, fstype: string, deviceError = ""): string {
  return `${name}{device=${JSON.stringify(device)},device_error=${JSON.stringify(deviceError)},fstype=${JSON.stringify(fstype)},mountpoint=${JSON.stringify(mountpoint)}}`;
}

const open: Collector[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close?.()));
});

describe("parseMountinfo", () => {
  it("reads node_exporter's recorded mountinfo with its labels and escapes", () => {
    const mounts = parseMountinfo(fs.readFileSync(path.join(FIXTURE_ROOT, "proc/1/mountinfo"), "utf8"));
    const byPoint = new Map(mounts.map((m) => [m.mountPoint, m]));
    expect(mounts).toHaveLength(32);
    expect(byPoint.get("/")).toEqual({ device: "/dev/dm-2", mountPoint: "/", fsType: "ext4", major: "259", minor: "2", readOnly: false });
    expect(byPoint.get("/sys/fs/cgroup")?.readOnly).toBe(true);
    expect(byPoint.get("/run/user/1000/gvfs")?.fsType).toBe("fuse.gvfsd-fuse");
    const vsphere = "/var/lib/kubelet/plugins/kubernetes.io/vsphere-volume/mounts/[vsanDatastore]";
    const rest = "bafb9e5a-8856-7e6c-699c-801844e77a4a/kubernetes-dynamic-pvc-3eba5bba-48a3-11e8-89ab-005056b92113.vmdk";
    expect(byPoint.has(`${vsphere} ${rest}`)).toBe(true);
    expect(byPoint.has(`${vsphere}\t${rest}`)).toBe(true);
  });

  it("normalizes device numbers like Go's %d and keeps other escapes as they are", () => {
    const [m] = parseMountinfo("1 2 +08:007 / /a\\134b rw - ext4 /dev/x\\040y rw\n");
    expect(m).toMatchObject({ major: "8", minor: "7", mountPoint: "/a\\134b", device: "/dev/x\\040y" });
  });

  it.each([
    ["hello world", "too few fields"],
    ["1 2 0:1 / / rw x ext4 /dev/a rw", 'no "-" separator'],
    ["a 2 0:1 / / rw - ext4 /dev/a rw", "mount ID"],
    ["1 2 zero / / rw - ext4 /dev/a rw", "device number"],
    ["", "too few fields"],
  ])("rejects the whole file for %j (%s), as procfs does", (line, reason) => {
    expect(() => parseMountinfo(`1 2 0:1 / / rw - ext4 /dev/a rw\n${line}\n`, "/p/1/mountinfo")).toThrow(CollectorError);
    expect(() => parseMountinfo(`${line}\n`, "/p/1/mountinfo")).toThrow(new RegExp(`/p/1/mountinfo: line 1: ${reason}`));
  });

  it.each([
    ["ro", true],
    ["rw,relatime", false],
    ["ro,relatime", true],
    ["relatime,ro", true],
    ["errors=remount-ro", false],
    ["ro=", true],
    ["ro=x", false],
    ["ro,ro=x", false],
    ["ro=x,ro", true],
    ["", false],
  ])("read-only option in %j is %s", (options, expected) => {
    expect(hasReadOnlyOption(options)).toBe(expected);
  });

  it("never throws anything but CollectorError, whatever the input", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: "binary" }),
          fc.uint8Array().map((b) => Buffer.from(b).toString("latin1")),
        ),
        (text) => {
          try {
            parseMountinfo(text);
          } catch (err) {
            expect(err).toBeInstanceOf(CollectorError);
          }
        },
      ),
    );
  });

  it("survives a truncated, an empty and an oversized recording", () => {
    const text = fs.readFileSync(path.join(FIXTURE_ROOT, "proc/1/mountinfo"), "utf8");
    expect(parseMountinfo("")).toEqual([]);
    for (let cut = 0; cut < text.length; cut += 97) {
      try {
        parseMountinfo(text.slice(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(CollectorError);
      }
    }
    const huge = `1 2 0:1 / /${"x".repeat(2_000_000)} rw - ext4 /dev/a rw\n`;
    expect(parseMountinfo(huge)[0].mountPoint).toHaveLength(2_000_001);
  });
});

describe("readMountTable", () => {
  it("strips the rootfs prefix when mounts are seen from inside the container", () => {
    const dir = fs.mkdtempSync("/tmp/nodetap-fs-");
    fs.mkdirSync(path.join(dir, "self"));
    // No proc/1: PID 1 hidden (hidepid), so the process's own view is used.
    fs.writeFileSync(
      path.join(dir, "self/mountinfo"),
      [
        "1 0 8:1 / /host rw - ext4 /dev/sda1 rw",
        "2 1 8:2 / /host/media/volume1 rw - ext4 /dev/sda2 rw",
        "3 1 0:3 / /hostile rw - tmpfs tmpfs rw",
        "4 1 0:4 / /dev/shm rw - tmpfs tmpfs rw",
        "",
      ].join("\n"),
    );
    const paths = new HostPaths({ procfs: dir, sysfs: "/sys", rootfs: "/host", udevData: "/run/udev/data" });
    try {
      expect(readMountTable(paths).map((m) => m.mountPoint)).toEqual(["/", "/media/volume1", "/hostile", "/dev/shm"]);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it("fails with the file named when there is no mount table at all", () => {
    const paths = new HostPaths({ procfs: "/nonexistent-procfs", sysfs: "/sys", rootfs: "/", udevData: "/x" });
    expect(() => readMountTable(paths)).toThrow(/\/nonexistent-procfs\/self\/mountinfo/);
  });
});

describe("filesystem collector on a fixture tree (real statfs calls in the thread pool)", () => {
  it("reports exactly node_exporter's series for each mount", async () => {
    const out = await (async () => {
      const c = collector.create(deps(treeFlags()));
      open.push(c);
      return scrape(c);
    })();
    const root = `${TREE}/root`;
    const expected = new Map<string, number>();
    const ok = (device: string, mountpoint: string, fstype: string, readOnly: number, major: string, minor: string) => {
      const s = fs.statfsSync(path.join(root, mountpoint));
      expected.set(series("node_filesystem_device_error", device, mountpoint, fstype), 0);
      expected.set(series("node_filesystem_readonly", device, mountpoint, fstype), readOnly);
      expected.set(series("node_filesystem_size_bytes", device, mountpoint, fstype), s.blocks * s.bsize);
      expected.set(series("node_filesystem_free_bytes", device, mountpoint, fstype), s.bfree * s.bsize);
      expected.set(series("node_filesystem_avail_bytes", device, mountpoint, fstype), s.bavail * s.bsize);
      expected.set(series("node_filesystem_files", device, mountpoint, fstype), s.files);
      expected.set(series("node_filesystem_files_free", device, mountpoint, fstype), s.ffree);
      expected.set(
        `node_filesystem_mount_info{device=${JSON.stringify(device)},major="${major}",minor="${minor}",mountpoint=${JSON.stringify(mountpoint)}}`,
        1,
      );
    };
    ok("/dev/vda", "/", "ext4", 0, "254", "0");
    ok("/dev/vdb", "/data", "xfs", 0, "254", "16");
    ok("/dev/vdc", "/ro", "ext4", 1, "254", "17");
    ok("tmpfs", "/with space", "tmpfs", 0, "0", "40");
    ok("tmpfs", "/run", "tmpfs", 0, "0", "41");
    // statfs fails: device_error carries Go's error text, readonly still comes from the options.
    expected.set(series("node_filesystem_device_error", "/dev/vdd", "/missing", "ext4", "no such file or directory"), 1);
    expected.set(series("node_filesystem_readonly", "/dev/vdd", "/missing", "ext4", "no such file or directory"), 1);

    expect([...out.keys()].sort()).toEqual(FAMILIES);
    const actual = new Map<string, number>();
    for (const family of out.values()) {
      expect(family.type).toBe("gauge");
      for (const [key, value] of family.samples) actual.set(key, value);
    }
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, value] of expected) {
      // Free space can move between our statfs and the collector's (other writers on this disk).
      const tolerance = /free|avail/.test(key) ? Math.max(1, value * 1e-3) : 0;
      expect(Math.abs(actual.get(key)! - value), key).toBeLessThanOrEqual(tolerance);
    }
    expect(out.get("node_filesystem_size_bytes")?.help).toBe("Filesystem size in bytes.");
    expect(out.get("node_filesystem_avail_bytes")?.help).toBe("Filesystem space available to non-root users in bytes.");
    expect(out.get("node_filesystem_files")?.help).toBe("Filesystem total file nodes.");
    expect(out.get("node_filesystem_files_free")?.help).toBe("Filesystem total free file nodes.");
    expect(out.get("node_filesystem_free_bytes")?.help).toBe("Filesystem free space in bytes.");
    expect(out.get("node_filesystem_readonly")?.help).toBe("Filesystem read-only status.");
    expect(out.get("node_filesystem_mount_info")?.help).toBe("Filesystem mount information.");
    expect(out.get("node_filesystem_device_error")?.help).toBe("Whether an error occurred while getting statistics for the given device.");
  });

  it("applies include patterns instead of the default excludes", async () => {
    const c = collector.create(
      deps(
        treeFlags(["--collector.filesystem.mount-points-include=^/(proc|data)$", "--collector.filesystem.fs-types-include=^(proc|xfs)$"]),
      ),
    );
    open.push(c);
    const out = await scrape(c);
    const points = new Set([...out.get("node_filesystem_device_error")!.samples.keys()].map((k) => /mountpoint="([^"]*)"/.exec(k)![1]));
    expect([...points].sort()).toEqual(["/data", "/proc"]);
  });
});

describe("filesystem collector on this host", () => {
  it("reports / like fs.statfsSync does", async () => {
    const c = collector.create(deps(["--path.procfs=/proc", "--path.rootfs=/"]));
    open.push(c);
    const out = await scrape(c);
    const root = readMountTable(new HostPaths({ procfs: "/proc", sysfs: "/sys", rootfs: "/", udevData: "/x" })).filter(
      (m) => m.mountPoint === "/",
    );
    expect(root.length).toBeGreaterThan(0);
    const sizes = out.get("node_filesystem_size_bytes")?.samples ?? new Map<string, number>();
    const rootKeys = [...sizes.keys()].filter((k) => k.includes('mountpoint="/"'));
    const excluded = /^(overlay|rootfs|squashfs|erofs)$/.test(root[root.length - 1].fsType);
    if (excluded) {
      expect(rootKeys).toEqual([]);
    } else {
      const s = fs.statfsSync("/");
      expect(rootKeys.length).toBeGreaterThan(0);
      for (const key of rootKeys) expect(sizes.get(key)).toBe(s.blocks * s.bsize);
    }
  });
});

const VALUES: StatfsValues = { bsize: 4096, blocks: 1000, bfree: 600, bavail: 500, files: 100, ffree: 90 };

/** A statfs backend whose calls for some paths hang until answered, like a dead NFS server. */
class FakeBackend implements StatfsBackend {
  readonly calls: string[] = [];
  readonly hanging = new Set<string>();
  /** Paths whose calls wait for a thread (never reported as started). */
  readonly queued = new Set<string>();
  private readonly answers = new Map<string, () => void>();
  abandoned = 0;

  constructor(private readonly delayMs = 0) {}

  run(localPaths: readonly string[]): StatfsBatch {
    const startedAt = localPaths.map((p) => (this.queued.has(p) ? undefined : Date.now()));
    const results = localPaths.map((p) => {
      this.calls.push(p);
      return new Promise<StatfsOutcome>((resolve) => {
        const answer = () => resolve({ ok: true, values: VALUES });
        if (this.hanging.has(p)) this.answers.set(p, answer);
        else setTimeout(answer, this.delayMs);
      });
    });
    return {
      results,
      startedAt: (i) => startedAt[i],
      abandon: () => this.abandoned++,
      cancelWaiting: () => undefined,
    };
  }

  answer(localPath: string): void {
    this.hanging.delete(localPath);
    this.answers.get(localPath)?.();
  }

  abandonedCount(): number {
    return this.abandoned;
  }

  async close(): Promise<void> {}
}

describe("stuck mounts", () => {
  const TIMEOUT_MS = 300;
  const flags = treeFlags([`--collector.filesystem.mount-timeout=${TIMEOUT_MS}ms`]);
  const dataPath = `${TREE}/root/data`;
  const dataError = (deviceError: string) => series("node_filesystem_device_error", "/dev/vdb", "/data", "xfs", deviceError);

  it("answers within the mount timeout, marks only the hung mount, does not re-ask it, and resumes after it answers", async () => {
    const backend = new FakeBackend();
    backend.hanging.add(dataPath);
    const c = createFilesystemCollector(deps(flags), backend);
    open.push(c);

    const started = performance.now();
    const first = await scrape(c);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 150);

    const errors = first.get("node_filesystem_device_error")!.samples;
    expect(errors.get(dataError("mountpoint timeout"))).toBe(1);
    // Stuck mounts skip the options check, as in node_exporter.
    const readOnly = first.get("node_filesystem_readonly")!.samples;
    expect(readOnly.get(series("node_filesystem_readonly", "/dev/vdb", "/data", "xfs", "mountpoint timeout"))).toBe(0);
    expect([...first.get("node_filesystem_size_bytes")!.samples.keys()].some((k) => k.includes('mountpoint="/data"'))).toBe(false);
    expect(first.get("node_filesystem_size_bytes")!.samples.get(series("node_filesystem_size_bytes", "/dev/vda", "/", "ext4"))).toBe(
      4096 * 1000,
    );
    expect(errors.get(series("node_filesystem_device_error", "/dev/vdc", "/ro", "ext4"))).toBe(0);
    expect(backend.abandoned).toBe(1);
    expect(filesystemStatus().stuckMounts.map((m) => m.mountPoint)).toEqual(["/data"]);

    const askedBefore = backend.calls.filter((p) => p === dataPath).length;
    expect(askedBefore).toBe(1);
    const again = performance.now();
    const second = await scrape(c);
    expect(performance.now() - again).toBeLessThan(100);
    expect(backend.calls.filter((p) => p === dataPath)).toHaveLength(1);
    expect(second.get("node_filesystem_device_error")!.samples.get(dataError("mountpoint timeout"))).toBe(1);

    backend.answer(dataPath);
    await new Promise((resolve) => setImmediate(resolve));
    expect(filesystemStatus().stuckMounts).toEqual([]);
    const third = await scrape(c);
    expect(backend.calls.filter((p) => p === dataPath)).toHaveLength(2);
    expect(third.get("node_filesystem_device_error")!.samples.get(dataError(""))).toBe(0);
    expect(third.get("node_filesystem_size_bytes")!.samples.get(series("node_filesystem_size_bytes", "/dev/vdb", "/data", "xfs"))).toBe(
      4096 * 1000,
    );
  });

  it("answers a call that has not started by the deadline as timed out, without marking the mount stuck or asking again", async () => {
    const backend = new FakeBackend();
    backend.hanging.add(dataPath);
    backend.queued.add(dataPath);
    const c = createFilesystemCollector(deps(flags), backend);
    open.push(c);
    const first = await scrape(c);
    expect(first.get("node_filesystem_device_error")!.samples.get(dataError("mountpoint timeout"))).toBe(1);
    expect(filesystemStatus().stuckMounts).toEqual([]);
    expect(backend.abandoned).toBe(0);
    await scrape(c);
    expect(backend.calls.filter((p) => p === dataPath)).toHaveLength(1);
    backend.answer(dataPath);
    await new Promise((resolve) => setImmediate(resolve));
    const third = await scrape(c);
    expect(backend.calls.filter((p) => p === dataPath)).toHaveLength(2);
    expect(third.get("node_filesystem_device_error")!.samples.get(dataError(""))).toBe(0);
  });

  it("shares one call per mount between concurrent scrapes and duplicate mount entries", async () => {
    const backend = new FakeBackend(30);
    const c = createFilesystemCollector(deps(flags), backend);
    open.push(c);
    await Promise.all([scrape(c), scrape(c)]);
    expect(backend.calls.filter((p) => p === dataPath)).toHaveLength(1);
    expect(backend.calls).toHaveLength(6);
  });
});

describe("statfs on the main thread for tmpfs and ramfs", () => {
  const tables: string[] = [];
  afterEach(() => {
    for (const dir of tables.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const ownTable = (lines: string[]) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-own-mountinfo-"));
    tables.push(dir);
    const file = path.join(dir, "mountinfo");
    fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(""));
    return file;
  };
  const escaped = (p: string) => p.replaceAll("\\", "\\134").replaceAll(" ", "\\040");
  const withSpace = `${TREE}/root/with space`;
  const run = `${TREE}/root/run`;
  /** The fixture's rootfs, taken as closed to non-root users (every lstat says root's, mode 0700). */
  const closedRoot = async () => {
    const dirs = new RootOnlyDirs([`${TREE}/root`], undefined, 60_000, async () => ({ isDirectory: true, uid: 0, gid: 0, mode: 0o40700 }));
    await dirs.settled();
    return dirs;
  };

  it("answers a tmpfs mount the walk reaches through local filesystems without the pool, and the rest through it", async () => {
    // This process's own view: the fixture's "/with space" is a tmpfs mount under the ext4 root;
    // "/run", tmpfs in the host's table, is stacked on a FUSE mount here.
    const table = ownTable([
      "1 0 254:0 / / rw - ext4 /dev/vda rw",
      `2 1 0:40 / ${escaped(withSpace)} rw - tmpfs tmpfs rw`,
      `3 1 0:41 / ${escaped(run)} rw - fuse.sshfs host: rw`,
      `4 3 0:42 / ${escaped(run)} rw - tmpfs tmpfs rw`,
    ]);
    const asked: string[] = [];
    const inline = new InlineStatfs(silentLogger, await closedRoot(), {
      ownMountinfo: table,
      rootDevice: "254:0",
      statfsSync: (p) => {
        asked.push(p);
        return { bsize: 1024, blocks: 7, bfree: 6, bavail: 5, files: 4, ffree: 3 };
      },
    });
    const backend = new FakeBackend();
    const c = createFilesystemCollector(deps(treeFlags()), backend, inline);
    open.push(c);
    const before = filesystemStatus();
    const families = await scrape(c);
    expect(asked).toEqual([withSpace]);
    expect(backend.calls).toContain(run);
    expect(backend.calls).not.toContain(withSpace);
    const sizes = families.get("node_filesystem_size_bytes")!.samples;
    expect(sizes.get(series("node_filesystem_size_bytes", "tmpfs", "/with space", "tmpfs"))).toBe(7 * 1024);
    expect(sizes.get(series("node_filesystem_size_bytes", "tmpfs", "/run", "tmpfs"))).toBe(4096 * 1000);
    const after = filesystemStatus();
    expect(after.statfsOnMainThread - before.statfsOnMainThread).toBe(1);
    // Counted per mount entry: /data is listed twice and asked once.
    expect(backend.calls).toHaveLength(5);
    expect(after.statfsThroughPool - before.statfsThroughPool).toBe(6);
  });

  it("reports a main-thread statfs error as node_exporter words it", async () => {
    const table = ownTable(["1 0 254:0 / / rw - ext4 /dev/vda rw", `2 1 0:40 / ${escaped(withSpace)} rw - tmpfs tmpfs rw`]);
    const inline = new InlineStatfs(silentLogger, await closedRoot(), {
      ownMountinfo: table,
      rootDevice: "254:0",
      statfsSync: () => {
        throw Object.assign(new Error("EACCES"), { errno: -13 });
      },
    });
    const c = createFilesystemCollector(deps(treeFlags()), new FakeBackend(), inline);
    open.push(c);
    const errors = (await scrape(c)).get("node_filesystem_device_error")!.samples;
    expect(errors.get(series("node_filesystem_device_error", "tmpfs", "/with space", "tmpfs", "permission denied"))).toBe(1);
  });

  it("sends everything through the pool when this process's mount table cannot be read", async () => {
    const asked: string[] = [];
    const inline = new InlineStatfs(silentLogger, await closedRoot(), {
      ownMountinfo: path.join(os.tmpdir(), "nodetap-no-such-mountinfo"),
      rootDevice: "254:0",
      statfsSync: (p) => {
        asked.push(p);
        return VALUES;
      },
    });
    const backend = new FakeBackend();
    const c = createFilesystemCollector(deps(treeFlags()), backend, inline);
    open.push(c);
    await scrape(c);
    expect(asked).toEqual([]);
    expect(backend.calls).toEqual(expect.arrayContaining([withSpace, run]));
  });
});
