import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StreamTargets } from "../../../agent/logs/sources/stream-targets.js";

describe("StreamTargets (where a symlinked stream's rotated files are)", () => {
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

  it("resolves a symlinked stream to its target, and a plain file to itself", async () => {
    const targets = new StreamTargets();
    await targets.refresh(link);
    await targets.refresh(target);
    expect(targets.of(link)).toBe(target);
    expect(targets.targetOf(link)).toBe(target);
    expect(targets.of(target)).toBe(target);
    expect(targets.targetOf(target)).toBeUndefined();
  });

  it("keeps the last target while the symlink dangles (between the kubelet's rename and the new file) or is gone", async () => {
    const targets = new StreamTargets();
    await targets.refresh(link);
    fs.renameSync(target, `${target}.20261206-063000`);
    await targets.refresh(link);
    expect(targets.of(link)).toBe(target);
    fs.rmSync(link);
    await targets.refresh(link);
    expect(targets.of(link)).toBe(target);
  });

  it("takes a checkpoint's target until the stream is resolved again, then the resolved one", async () => {
    const targets = new StreamTargets();
    const elsewhere = path.join(dir, "elsewhere", "0.log");
    targets.remember(link, elsewhere);
    expect(targets.of(link)).toBe(elsewhere);
    await targets.refresh(link);
    expect(targets.of(link)).toBe(target);
    targets.remember(link, elsewhere); // a second checkpoint of the previous run does not override it
    expect(targets.of(link)).toBe(target);
  });

  it("forgets a stream, and ignores a checkpoint without a target or with itself as target", () => {
    const targets = new StreamTargets();
    targets.remember(link, target);
    targets.forget(link);
    expect(targets.of(link)).toBe(link);
    targets.remember(link, undefined);
    targets.remember(link, link);
    expect(targets.targetOf(link)).toBeUndefined();
  });
});
