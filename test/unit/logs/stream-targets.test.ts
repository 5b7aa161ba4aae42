import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rotationHome, symlinkTarget } from "../../../agent/logs/sources/stream-targets.js";

describe("symlinkTarget (where a symlinked stream's rotated files are)", () => {
  let dir: string;
  let target: string;
  let link: string;
  beforeEach(() => {
    dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-targets-")));
    fs.mkdirSync(path.join(dir, "pods"));
    fs.mkdirSync(path.join(dir, "containers"));
    target = path.join(dir, "pods", "0.log");
    link = path.join(dir, "containers", "web.log");
    fs.writeFileSync(target, "");
    fs.symlinkSync(target, link);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("resolves a symlink in another directory (/var/log/containers -> /var/log/pods): its events are elsewhere", async () => {
    expect(await symlinkTarget(link)).toEqual({ target, elsewhere: true });
    expect(rotationHome(link, target)).toBe(target);
  });

  it("gives nothing for a plain file, or one under a symlinked directory (/var/log on another disk)", async () => {
    expect(await symlinkTarget(target)).toBeUndefined();
    const linkedDir = path.join(dir, "log");
    fs.symlinkSync(path.join(dir, "pods"), linkedDir);
    expect(await symlinkTarget(path.join(linkedDir, "0.log"))).toBeUndefined();
    expect(rotationHome(target, undefined)).toBe(target);
  });

  it("resolves a symlink to another name in the same directory (app.log -> app-2026.log): rotated by that name, events here", async () => {
    const dated = path.join(dir, "pods", "app-2026.log");
    fs.writeFileSync(dated, "");
    const sameDir = path.join(dir, "pods", "app.log");
    fs.symlinkSync(dated, sameDir);
    expect(await symlinkTarget(sameDir)).toEqual({ target: dated, elsewhere: false });
  });

  it("gives nothing for a dangling or missing symlink (between the kubelet's rename and the new file)", async () => {
    fs.renameSync(target, `${target}.20261206-063000`);
    expect(await symlinkTarget(link)).toBeUndefined();
    fs.rmSync(link);
    expect(await symlinkTarget(link)).toBeUndefined();
  });
});
