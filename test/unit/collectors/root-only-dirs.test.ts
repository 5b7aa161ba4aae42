import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { closedToNonRoot, componentsOf, RootOnlyDirs, type DirMode } from "../../../agent/metrics/collectors/root-only-dirs.js";

const dir = (mode: number, uid = 0, gid = 0): DirMode => ({ isDirectory: true, uid, gid, mode: 0o40000 | mode });
const symlink: DirMode = { isDirectory: false, uid: 0, gid: 0, mode: 0o120777 };

describe("closedToNonRoot", () => {
  it.each([
    ["kubelet's layout: /, /var, /var/lib 0755, /var/lib/kubelet 0750 root:root", [dir(0o755), dir(0o755), dir(0o755), dir(0o750)], true],
    ["a 0700 directory above the one asked for", [dir(0o755), dir(0o700), dir(0o755)], true],
    ["every directory open to others", [dir(0o755), dir(0o755), dir(0o755)], false],
    ["group may enter, and the group is not root's", [dir(0o755), dir(0o750, 0, 1000)], false],
    ["owned by another user", [dir(0o755), dir(0o700, 1000)], false],
    ["a writable directory above (its entries could be renamed away)", [dir(0o755), dir(0o777), dir(0o700)], false],
    ["/tmp above (sticky, writable by all)", [dir(0o755), dir(0o1777), dir(0o700)], false],
    ["group-writable, group not root's", [dir(0o775, 0, 1000), dir(0o700)], false],
    ["group-writable, group root's", [dir(0o775), dir(0o700)], true],
    ["a symbolic link on the way", [dir(0o755), symlink, dir(0o700)], false],
    ["nothing", [], false],
  ])("%s: %s", (_what, chain, expected) => {
    expect(closedToNonRoot(chain)).toBe(expected);
  });
});

describe("componentsOf", () => {
  it("lists each directory from / down", () => {
    expect(componentsOf("/var/lib/kubelet/pods")).toEqual(["/", "/var", "/var/lib", "/var/lib/kubelet", "/var/lib/kubelet/pods"]);
    expect(componentsOf("/")).toEqual(["/"]);
    expect(componentsOf("/x")).toEqual(["/", "/x"]);
  });
});

describe("RootOnlyDirs", () => {
  it("knows nothing until its first check finished, then contains what lies strictly below a closed directory", async () => {
    const dirs = new RootOnlyDirs(["/k/pods", "/open"], undefined, 60_000, async (p) => (p === "/k" ? dir(0o700) : dir(0o755)));
    expect(dirs.contains("/k/pods/a/volumes/x")).toBe(false);
    await dirs.settled();
    expect(dirs.contains("/k/pods/a/volumes/x")).toBe(true);
    expect(dirs.contains("/k/pods")).toBe(false);
    expect(dirs.contains("/k/podsX/y")).toBe(false);
    expect(dirs.contains("/open/y")).toBe(false);
  });

  it("checks again after its interval, and stops trusting a directory while a check hangs", async () => {
    let mode = 0o700;
    let hang = false;
    const dirs = new RootOnlyDirs(["/k"], undefined, 20, (p) =>
      hang && p === "/k" ? new Promise<DirMode>(() => undefined) : Promise.resolve(p === "/k" ? dir(mode) : dir(0o755)),
    );
    await dirs.settled();
    expect(dirs.contains("/k/x")).toBe(true);
    mode = 0o755;
    await new Promise((r) => setTimeout(r, 30));
    dirs.contains("/k/x");
    await dirs.settled();
    expect(dirs.contains("/k/x")).toBe(false);
    mode = 0o700;
    await new Promise((r) => setTimeout(r, 30));
    dirs.contains("/k/x");
    await dirs.settled();
    expect(dirs.contains("/k/x")).toBe(true);
    // A check that hangs: the last result holds for a second, then nothing counts.
    hang = true;
    await new Promise((r) => setTimeout(r, 30));
    dirs.contains("/k/x");
    await new Promise((r) => setTimeout(r, 30));
    expect(dirs.contains("/k/x")).toBe(true);
    await new Promise((r) => setTimeout(r, 1_050));
    expect(dirs.contains("/k/x")).toBe(false);
  });

  it("finds a real directory closed or open, and a missing one not closed", async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-root-only-"));
    try {
      // Under os.tmpdir() (sticky, writable by all) nothing is closed, whatever its own mode.
      fs.mkdirSync(path.join(base, "k"), { mode: 0o700 });
      const dirs = new RootOnlyDirs([path.join(base, "k"), path.join(base, "missing")]);
      await dirs.settled();
      expect(dirs.contains(path.join(base, "k/x"))).toBe(false);
      expect(dirs.contains(path.join(base, "missing/x"))).toBe(false);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});
