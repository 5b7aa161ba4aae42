import type { BigIntStats } from "node:fs";
import { describe, expect, it } from "vitest";
import { PathStatCache } from "../../../agent/logs/sources/path-stat-cache.js";

const statOf = (ino: number) => ({ ino: BigInt(ino), dev: 1n, size: 0n }) as unknown as BigIntStats;

describe("PathStatCache (which paths a scan stats again)", () => {
  function harness() {
    const cache = new PathStatCache();
    const statted: string[][] = [];
    let ino = 1;
    const scan = (paths: string[], isWatched: (dir: string, file: string) => boolean) =>
      cache.statForScan(paths, isWatched, async (ps) => {
        statted.push([...ps]);
        return new Map(ps.map((p) => [p, statOf(ino++)]));
      });
    return { cache, statted, scan };
  }

  it("reuses a watched path's stat until its directory has an event or the full sweep comes", async () => {
    const { cache, statted, scan } = harness();
    const paths = ["/logs/a.log", "/logs/b.log"];
    await scan(paths, () => true); // the first scan is a full sweep
    const second = await scan(paths, () => true);
    expect(statted[1]).toEqual([]);
    expect([...second.cached.keys()]).toEqual(paths);
    cache.markDirty("/logs");
    await scan(paths, () => true);
    expect(statted[2]).toEqual(paths);
    for (let i = 3; i < 10; i++) await scan(paths, () => true);
    await scan(paths, () => true); // the 11th: a sweep
    expect(statted[10]).toEqual(paths);
  });

  it("stats a path that watch events do not cover every time: an unwatched directory, or a symlink", async () => {
    const { statted, scan } = harness();
    const paths = ["/containers/web.log", "/logs/a.log", "/unwatched/c.log"];
    const isWatched = (dir: string, file: string) => dir !== "/unwatched" && file !== "/containers/web.log";
    await scan(paths, isWatched);
    await scan(paths, isWatched);
    await scan(paths, isWatched);
    expect(statted.slice(1)).toEqual([
      ["/containers/web.log", "/unwatched/c.log"],
      ["/containers/web.log", "/unwatched/c.log"],
    ]);
  });
});
