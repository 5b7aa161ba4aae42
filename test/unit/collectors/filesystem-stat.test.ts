import fs from "node:fs";
import os from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { goErrnoText, MountStatter, type MountStat } from "../../../agent/metrics/collectors/filesystem-stat.js";
import {
  PoolStatfsBackend,
  statfsPoolLimit,
  threadPoolSize,
  type StatfsFunction,
} from "../../../agent/metrics/collectors/filesystem-stat-pool.js";
import { silentLogger } from "../../helpers/fixtures.js";

/**
 * The libuv-pool backend. Real statfs calls for healthy paths; a hung mount is simulated by an
 * injected statfs function whose calls for paths under /hang do not return until released.
 */
class HangingStatfs {
  readonly calls: string[] = [];
  /** Calls of this function not returned yet, and the most there ever were at once. */
  pending = 0;
  maxPending = 0;
  private readonly hung: Array<() => void> = [];
  /** After release(), /hang paths answer like the others (the server came back). */
  private released = false;

  readonly statfs: StatfsFunction = async (p) => {
    this.calls.push(p);
    this.pending++;
    this.maxPending = Math.max(this.maxPending, this.pending);
    try {
      if (p.startsWith("/hang") && !this.released) await new Promise<void>((resolve) => this.hung.push(resolve));
      else await new Promise((resolve) => setTimeout(resolve, 1));
      return await fs.promises.statfs(p.startsWith("/hang") ? "/" : p);
    } finally {
      this.pending--;
    }
  };

  release(): void {
    this.released = true;
    for (const resolve of this.hung.splice(0)) resolve();
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0)) await f();
});

function setup(timeoutMs: number, maxInPool: number, statfs?: HangingStatfs) {
  const backend = new PoolStatfsBackend(silentLogger, maxInPool, statfs?.statfs);
  const statter = new MountStatter(backend, timeoutMs, silentLogger);
  cleanups.push(
    () => statfs?.release(),
    () => statter.close(),
  );
  return { backend, statter };
}

const requests = (...localPaths: string[]) => localPaths.map((p) => ({ mountPoint: p, localPath: p }));

async function until(condition: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("statfs on the libuv thread pool", () => {
  it("gives fs.statfsSync's values for / and a tmp dir, and Go's error text for a missing path", async () => {
    const { backend, statter } = setup(5000, 2);
    const tmp = fs.mkdtempSync(`${os.tmpdir()}/nodetap-statfs-`);
    cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const [root, dir, missing] = await statter.statAll([
      { mountPoint: "/", localPath: "/" },
      { mountPoint: "/tmp", localPath: tmp },
      { mountPoint: "/gone", localPath: "/nonexistent/nodetap" },
    ]);
    // Free counts move between calls on a busy disk: compare the fixed fields exactly.
    for (const [stat, p] of [
      [root, "/"],
      [dir, tmp],
    ] as const) {
      const s = fs.statfsSync(p);
      expect(stat.kind).toBe("ok");
      if (stat.kind !== "ok") continue;
      expect(stat.values).toMatchObject({ bsize: s.bsize, blocks: s.blocks, files: s.files });
      for (const v of Object.values(stat.values)) expect(typeof v).toBe("number");
    }
    expect(missing).toEqual({ kind: "error", error: "no such file or directory" });
    expect(backend.inPoolCount()).toBe(0);
    expect(backend.abandonedCount()).toBe(0);
  });

  it("reports the same numbers as bigint statfs converted to float64, as node_exporter does", async () => {
    const { statter } = setup(5000, 2);
    const [root] = await statter.statAll(requests("/"));
    const big = await fs.promises.statfs("/", { bigint: true });
    expect(root.kind).toBe("ok");
    if (root.kind !== "ok") return;
    // The free counts can move between the two calls.
    for (const field of ["bsize", "blocks", "files"] as const) expect(root.values[field]).toBe(Number(big[field]));
  });

  it("never has more than its limit of calls in the pool, however many mounts a scrape has", async () => {
    const fake = new HangingStatfs();
    const { statter } = setup(5000, 2, fake);
    const stats = await statter.statAll(Array.from({ length: 40 }, (_, i) => ({ mountPoint: `m${i}`, localPath: "/" })));
    expect(stats.every((s: MountStat) => s.kind === "ok")).toBe(true);
    expect(fake.calls).toHaveLength(40);
    expect(fake.maxPending).toBe(2);
  });

  it("answers within the timeout while a mount hangs, lets other paths pass it, and recovers when it returns", async () => {
    const fake = new HangingStatfs();
    const { backend, statter } = setup(300, 2, fake);
    const started = performance.now();
    const stats = await statter.statAll(requests("/hang/nfs", ...Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? "/" : "/proc"))));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(300 + 100);
    expect(stats[0]).toEqual({ kind: "timeout" });
    // The other slot served the healthy mounts.
    expect(stats.slice(1).every((s: MountStat) => s.kind === "ok")).toBe(true);
    expect(statter.stuckMounts().map((m) => m.mountPoint)).toEqual(["/hang/nfs"]);
    expect(backend.abandonedCount()).toBe(1);
    expect(backend.inPoolCount()).toBe(1);

    // Not asked again while pending: answered at once.
    const again = performance.now();
    expect(await statter.statAll(requests("/hang/nfs"))).toEqual([{ kind: "timeout" }]);
    expect(performance.now() - again).toBeLessThan(50);
    expect(fake.calls.filter((p) => p === "/hang/nfs")).toHaveLength(1);

    fake.release();
    await until(() => statter.stuckMounts().length === 0);
    expect(backend.abandonedCount()).toBe(0);
    expect(backend.inPoolCount()).toBe(0);
    expect((await statter.statAll(requests("/hang/nfs")))[0].kind).toBe("ok");
  });

  it("stops calling once every slot is held by a hung call, answering the other mounts at once as timed out", async () => {
    const fake = new HangingStatfs();
    const { backend, statter } = setup(200, 2, fake);
    const first = await statter.statAll(requests("/hang/a", "/hang/b", "/"));
    expect(first.slice(0, 2)).toEqual([{ kind: "timeout" }, { kind: "timeout" }]);
    // Queued behind the two hung calls, never started: "mountpoint timeout" either way.
    expect(first[2].kind).not.toBe("ok");
    expect(backend.abandonedCount()).toBe(2);
    expect(statter.stuckMounts()).toHaveLength(2);
    const callsBefore = fake.calls.length;

    // Both slots stuck: no call is started, whatever the scrape asks, and nobody waits.
    const started = performance.now();
    const stats = await statter.statAll(requests("/hang/c", "/", "/proc"));
    expect(performance.now() - started).toBeLessThan(50);
    expect(stats).toEqual([
      { kind: "error", error: "mountpoint timeout" },
      { kind: "error", error: "mountpoint timeout" },
      { kind: "error", error: "mountpoint timeout" },
    ]);
    expect(fake.calls.length).toBe(callsBefore);
    expect(fake.pending).toBe(2);
    expect(fake.maxPending).toBe(2);

    fake.release();
    await until(() => backend.abandonedCount() === 0);
    expect((await statter.statAll(requests("/")))[0].kind).toBe("ok");
  });

  it("answers a concurrent scrape within the timeout when its only slot is stuck in another scrape's call", async () => {
    const fake = new HangingStatfs();
    const { statter } = setup(300, 1, fake);
    const first = statter.statAll(requests("/hang/x"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    const [second] = await statter.statAll(requests("/"));
    expect(performance.now() - started).toBeLessThan(300 + 100);
    expect(second.kind).not.toBe("ok");
    expect(await first).toEqual([{ kind: "timeout" }]);
    // The only slot is stuck: answered at once, without a call, until it returns.
    expect(await statter.statAll(requests("/"))).toEqual([{ kind: "error", error: "mountpoint timeout" }]);
    fake.release();
    await until(() => statter.stuckMounts().length === 0);
    expect((await statter.statAll(requests("/")))[0].kind).toBe("ok");
  });

  it("answers calls still queued at close, and starts none after", async () => {
    const fake = new HangingStatfs();
    const { backend, statter } = setup(5000, 1, fake);
    const pending = statter.statAll(requests("/hang/y", "/"));
    await statter.close();
    fake.release();
    expect((await pending)[1]).toEqual({ kind: "error", error: "collector closed" });
    expect(await statter.statAll(requests("/proc"))).toEqual([{ kind: "error", error: "collector closed" }]);
    expect(fake.calls).toEqual(["/hang/y"]);
    await until(() => backend.inPoolCount() === 0);
  });

  it("takes at most statWorkers and never more than half of libuv's pool", () => {
    expect(threadPoolSize({})).toBe(4);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: "16" })).toBe(16);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: "0" })).toBe(1);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: "x" })).toBe(1);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: "5000" })).toBe(1024);
    expect(statfsPoolLimit(4, 4)).toBe(2);
    expect(statfsPoolLimit(1, 4)).toBe(1);
    expect(statfsPoolLimit(4, 16)).toBe(4);
    expect(statfsPoolLimit(4, 1)).toBe(1);
  });

  it("maps errno values to Go's error text", () => {
    expect(goErrnoText(-2)).toBe("no such file or directory");
    expect(goErrnoText(5)).toBe("input/output error");
    expect(goErrnoText(107)).toBe("transport endpoint is not connected");
    expect(goErrnoText(999)).toBe("errno 999");
  });
});
