import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fingerprintOf } from "../../../agent/logs/sources/file-identity.js";
import { copiedBelowOffset, currentPathOf, headOf, unpackForDrain } from "../../../agent/logs/sources/rotated-copies.js";
import { rotatedFilesOf } from "../../../agent/logs/sources/rotation-names.js";

/**
 * A numbered chain shifts while nodetap works through a listing of it (logrotate renames
 * app.log.1.gz to app.log.2.gz and writes a new app.log.1.gz): what was listed is read wherever
 * it went, never the file that took its name. Reading by name lost a whole generation in the
 * crash matrix's copytruncate-compress × drain (about one run in eight).
 */
describe("rotated copies read by identity", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-copies-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const gen = (name: string) => Array.from({ length: 50 }, (_, i) => `${name} ${i} ${"-".repeat(60)}\n`).join("");
  const shift = () => {
    fs.renameSync(path.join(dir, "app.log.1.gz"), path.join(dir, "app.log.2.gz"));
    fs.writeFileSync(path.join(dir, "app.log.1.gz"), zlib.gzipSync(gen("next")));
  };

  it("reads the head and unpacks the .gz that was listed, after the chain shifted", async () => {
    fs.writeFileSync(path.join(dir, "app.log.1.gz"), zlib.gzipSync(gen("listed")));
    const [listed] = await rotatedFilesOf(dir, "app.log");
    shift();
    expect((await headOf(listed, 6))?.toString()).toBe("listed");
    const unpacked = await unpackForDrain(listed, path.join(dir, "state"));
    expect(fs.readFileSync(unpacked.file, "utf8")).toBe(gen("listed"));
  });

  it("reads the head of a plain rotated file that was renamed since", async () => {
    fs.writeFileSync(path.join(dir, "app.log.1"), gen("listed"));
    const [listed] = await rotatedFilesOf(dir, "app.log");
    fs.renameSync(path.join(dir, "app.log.1"), path.join(dir, "app.log.2"));
    fs.writeFileSync(path.join(dir, "app.log.1"), gen("next"));
    expect((await headOf(listed, 6))?.toString()).toBe("listed");
  });

  it("finds nothing once the listed file is gone, rather than the file that took its name", async () => {
    fs.writeFileSync(path.join(dir, "app.log.1.gz"), zlib.gzipSync(gen("listed")));
    const [listed] = await rotatedFilesOf(dir, "app.log");
    // The next file is made before the listed one goes, so that it cannot get its inode.
    fs.writeFileSync(path.join(dir, "next.tmp"), zlib.gzipSync(gen("next")));
    fs.rmSync(path.join(dir, "app.log.1.gz"));
    fs.renameSync(path.join(dir, "next.tmp"), path.join(dir, "app.log.1.gz"));
    expect(await headOf(listed, 6)).toBeUndefined();
    await expect(unpackForDrain(listed, path.join(dir, "state"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("does not follow an inode to a file of another kind or stream", async () => {
    fs.writeFileSync(path.join(dir, "app.log.1"), gen("listed"));
    const [listed] = await rotatedFilesOf(dir, "app.log");
    // Renamed out of the stream's names (as if the inode now belonged to another file).
    fs.renameSync(path.join(dir, "app.log.1"), path.join(dir, "other.log.1"));
    expect(await currentPathOf(listed)).toBeUndefined();
    fs.renameSync(path.join(dir, "other.log.1"), path.join(dir, "app.log.2.gz"));
    expect(await currentPathOf(listed)).toBeUndefined();
    fs.renameSync(path.join(dir, "app.log.2.gz"), path.join(dir, "app.log.2"));
    expect(await currentPathOf(listed)).toBe(path.join(dir, "app.log.2"));
  });
});

/**
 * A copy of a non-O_APPEND copytruncate that a resumed checkpoint had read (reading was caught up
 * when it was made) is not read again at a restart; one whose lines reading skipped as NULs (a
 * rotation that came while reading stood in a hole and went unseen) is: late, but not lost.
 */
describe("copiedBelowOffset", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-copies-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("tells a copy read before it was made from one whose lines were skipped with a hole", async () => {
    const hole = 4096;
    const text = Buffer.from(Array.from({ length: 50 }, (_, i) => `line ${i} ${"x".repeat(54)}\n`).join(""));
    const active = path.join(dir, "app.log");
    // The copy: the generation as made (a hole, then its lines); the file: a hole past the copy's end, then newer lines.
    fs.writeFileSync(`${active}.1`, Buffer.concat([Buffer.alloc(hole), text]));
    const copyLength = hole + text.length;
    fs.writeFileSync(active, Buffer.concat([Buffer.alloc(copyLength + 100), text]));
    const st = fs.statSync(active);
    const head = fs.readFileSync(active).subarray(0, 1024);
    const fingerprint = fingerprintOf(head);
    const [copy] = await rotatedFilesOf(dir, "app.log");
    const cp = { path: active, dev: String(st.dev), ino: String(st.ino), fingerprintBytes: 1024, fingerprint, offset: copyLength + 2000 };
    expect(await copiedBelowOffset(copy, { ...cp, dataFrom: hole })).toBe(true); // read as data from the hole's end
    expect(await copiedBelowOffset(copy, { ...cp, dataFrom: copyLength + 100 })).toBe(false); // first data read past the copy
    expect(await copiedBelowOffset(copy, cp)).toBe(false); // not known (a checkpoint from before dataFrom)
  });
});
