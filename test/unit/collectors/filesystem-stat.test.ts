import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { goErrnoText, MountStatter, type MountStat } from "../../../agent/metrics/collectors/filesystem-stat.js";
import { WorkerStatfsBackend } from "../../../agent/metrics/collectors/filesystem-stat-worker.js";
import { silentLogger } from "../../helpers/fixtures.js";

/**
 * These tests run real worker threads. A hung mount is simulated by a statfs function that,
 * for paths under /hang, sleeps until a release file appears (no FUSE/NFS needed).
 */
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-statfs-"));
const releaseFile = path.join(scratch, "release");
const HANGING_STATFS = `(p) => {
  const fs = require("node:fs");
  if (p.startsWith("/hang")) {
    const nap = new Int32Array(new SharedArrayBuffer(4));
    while (!fs.existsSync(${JSON.stringify(releaseFile)})) Atomics.wait(nap, 0, 0, 5);
    return fs.statfsSync("/");
  }
  return fs.statfsSync(p);
}`;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  fs.rmSync(releaseFile, { force: true });
  fs.writeFileSync(releaseFile, "");
  await Promise.all(cleanups.splice(0).map((f) => f()));
  fs.rmSync(releaseFile, { force: true });
});

function setup(timeoutMs: number, maxLive: number, maxAbandoned = 8) {
  const backend = new WorkerStatfsBackend(silentLogger, maxLive, maxAbandoned, HANGING_STATFS);
  const statter = new MountStatter(backend, timeoutMs, silentLogger);
  cleanups.push(() => statter.close());
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

describe("statfs in worker threads", () => {
  it("matches fs.statfsSync, reports errors with Go's text, and uses one thread for a healthy scrape", async () => {
    const { backend, statter } = setup(5000, 4);
    const paths = ["/", "/nonexistent/nodetap", ...Array.from({ length: 60 }, () => os.tmpdir())];
    const distinct = paths.map((p, i) => ({ mountPoint: `m${i}`, localPath: p }));
    const [root, missing] = await statter.statAll(distinct);
    const s = fs.statfsSync("/");
    expect(root).toMatchObject({ kind: "ok", values: { bsize: s.bsize, blocks: s.blocks, files: s.files } });
    expect(missing).toEqual({ kind: "error", error: "no such file or directory" });
    expect(backend.liveCount()).toBe(1);
  });

  it("answers within the timeout while a mount hangs, lets other paths pass it, and recovers when it returns", async () => {
    // Long enough for a helper thread to boot on a loaded machine.
    const { backend, statter } = setup(1000, 2);
    const started = performance.now();
    const stats = await statter.statAll(
      requests("/hang/nfs", ...Array.from({ length: 30 }, (_, i) => `/proc/${i % 2 === 0 ? "self" : "1"}`)),
    );
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(1000 + 100);
    expect(stats[0]).toEqual({ kind: "timeout" });
    expect(stats.slice(1).every((s: MountStat) => s.kind === "ok")).toBe(true);
    // Stuck once its own call (started after the worker booted) passes the timeout.
    await until(() => statter.stuckMounts().length === 1);
    expect(statter.stuckMounts().map((m) => m.mountPoint)).toEqual(["/hang/nfs"]);
    expect(backend.abandonedCount()).toBe(1);
    expect(backend.liveCount()).toBeLessThanOrEqual(2);

    // Not asked again while pending: answered at once.
    const again = performance.now();
    expect(await statter.statAll(requests("/hang/nfs"))).toEqual([{ kind: "timeout" }]);
    expect(performance.now() - again).toBeLessThan(50);

    fs.writeFileSync(releaseFile, "");
    await until(() => statter.stuckMounts().length === 0);
    await until(() => backend.abandonedCount() === 0);
    expect((await statter.statAll(requests("/hang/nfs")))[0].kind).toBe("ok");
  });

  it("stops starting threads once the bound of abandoned ones is reached, and reports the mounts as timed out", async () => {
    const { backend, statter } = setup(600, 1, 1);
    expect(await statter.statAll(requests("/hang/a"))).toEqual([{ kind: "timeout" }]);
    await until(() => backend.abandonedCount() === 1);
    expect(backend.liveCount()).toBe(0);
    // No live thread and no new one allowed: answered at once instead of waiting forever.
    const stats = await statter.statAll(requests("/hang/b", "/"));
    expect(stats).toEqual([
      { kind: "error", error: "mountpoint timeout" },
      { kind: "error", error: "mountpoint timeout" },
    ]);
    fs.writeFileSync(releaseFile, "");
    await until(() => backend.abandonedCount() === 0);
    expect((await statter.statAll(requests("/")))[0].kind).toBe("ok");
  });

  it("answers a concurrent scrape within the timeout when its only thread is stuck in another scrape's call", async () => {
    const { statter } = setup(500, 1);
    const first = statter.statAll(requests("/hang/x"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = performance.now();
    const [second] = await statter.statAll(requests("/"));
    expect(performance.now() - started).toBeLessThan(500 + 100);
    expect(["ok", "timeout"]).toContain(second.kind);
    expect(await first).toEqual([{ kind: "timeout" }]);
    // The stuck thread was replaced: the next scrape is answered.
    expect((await statter.statAll(requests("/")))[0].kind).toBe("ok");
  });

  it("maps errno values to Go's error text", () => {
    expect(goErrnoText(-2)).toBe("no such file or directory");
    expect(goErrnoText(5)).toBe("input/output error");
    expect(goErrnoText(107)).toBe("transport endpoint is not connected");
    expect(goErrnoText(999)).toBe("errno 999");
  });
});
