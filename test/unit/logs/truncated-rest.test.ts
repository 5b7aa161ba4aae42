import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultsOf } from "../../../agent/config/schema.js";
import { CheckpointStore } from "../../../agent/logs/checkpoint.js";
import { logsSchema } from "../../../agent/logs/config.js";
import type { SupersededGeneration } from "../../../agent/logs/sources/file-tailer.js";
import { fingerprintOf, identityKey } from "../../../agent/logs/sources/file-identity.js";
import { fileSourceSpecs } from "../../../agent/logs/sources/file-source-spec.js";
import { RotationRecovery, type RecoveryHost } from "../../../agent/logs/sources/rotation-recovery.js";
import { TruncationRecovery } from "../../../agent/logs/sources/truncation-recovery.js";
import { counterValue, newMetrics, silentLogger } from "./helpers.js";

/**
 * A file truncated while nodetap runs (copytruncate, or a plain `: > file`) before it was read to
 * its end: RotationRecovery.drainAfterTruncation reads its rest from a copy, or counts it lost.
 */
describe("the rest of a truncated file", () => {
  let dir: string;
  let logDir: string;
  const stream = () => path.join(logDir, "app.log");
  const oldText = Array.from({ length: 20 }, (_, i) => `old ${i} ${"-".repeat(70)}\n`).join("");
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-truncated-"));
    logDir = path.join(dir, "logs");
    fs.mkdirSync(logDir);
    fs.mkdirSync(path.join(dir, "state"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The old generation as the tailer saw it: 256 bytes fingerprinted, 100 read and acknowledged. */
  function previous(unreadBytes: number): SupersededGeneration {
    const now = Date.now();
    const head = Buffer.from(oldText).subarray(0, 256);
    return {
      fingerprintBytes: 256,
      fingerprint: fingerprintOf(head),
      committed: 100,
      issued: 100,
      seenAt: now - 50,
      detectedAt: now,
      unreadBytes,
      readEnd: 100,
    };
  }

  async function recover(
    prev: SupersededGeneration,
    open: (file: string) => boolean | Promise<boolean> = () => true,
    tracked: (file: string) => boolean = () => false,
  ) {
    const { metrics, registry } = newMetrics();
    const cfg = defaultsOf(logsSchema);
    cfg.sources.files.include = [`${logDir}/*.log`];
    const spec = fileSourceSpecs(cfg).find((s) => s.name === "files")!;
    const checkpoints = await CheckpointStore.open(path.join(dir, "state"), silentLogger, metrics);
    const opened: Array<{ file: string; text: string; offset?: number; originFile?: string }> = [];
    const host: RecoveryHost = {
      logger: silentLogger,
      metrics,
      checkpoints,
      spec: () => spec,
      isTracked: (key) =>
        fs.readdirSync(logDir).some((name) => {
          const st = fs.statSync(path.join(logDir, name));
          return identityKey(st.dev, st.ino) === key && tracked(path.join(logDir, name));
        }),
      isResumed: () => false,
      scanOpens: () => false,
      slotFree: () => true,
      openDrain: async (file, _spec, opts) => {
        opened.push({ file, text: fs.readFileSync(file, "utf8"), offset: opts.resume?.offset, originFile: opts.originFile });
        return open(file);
      },
    };
    const recovery = new TruncationRecovery(host, new RotationRecovery(host));
    const restFromCopy = await recovery.drainAfterTruncation(stream(), spec, prev);
    const count = (name: string, labels?: Record<string, string>) => counterValue(registry, name, labels);
    return {
      opened,
      restFromCopy,
      lost: await count("nodetap_log_files_lost_total"),
      lostBytes: await count("nodetap_log_lost_bytes_total"),
      decompressErrors: await count("nodetap_log_file_errors_total", { reason: "decompress" }),
      unpackErrors: await count("nodetap_log_file_errors_total", { reason: "unpack" }),
    };
  }

  /** A rotated copy made just before the truncation was seen. */
  function copy(name: string, bytes: Buffer | string): void {
    const file = path.join(logDir, name);
    fs.writeFileSync(file, bytes);
    const before = new Date(Date.now() - 10);
    fs.utimesSync(file, before, before);
  }

  it("reads the rest from the copy, from where the old generation's reading stopped", async () => {
    copy("app.log.1", oldText);
    const r = await recover(previous(500));
    expect(r.opened.map((o) => [path.basename(o.file), o.offset])).toEqual([["app.log.1", 100]]);
    expect([r.lost, r.lostBytes, r.restFromCopy]).toEqual([0, 0, true]);
  });

  it("counts the unread rest lost when no copy is next to the file (plain truncation, olddir)", async () => {
    const r = await recover(previous(500));
    expect(r.opened).toEqual([]);
    expect([r.lost, r.lostBytes, r.restFromCopy]).toEqual([1, 500, false]);
  });

  it("counts nothing lost when the truncated file had been read to its end", async () => {
    const r = await recover(previous(0));
    expect([r.lost, r.lostBytes, r.restFromCopy]).toEqual([0, 0, false]);
  });

  it("counts the rest lost when the copy it found cannot be opened (gone since)", async () => {
    copy("app.log.1", oldText);
    const r = await recover(previous(500), () => false);
    expect(r.opened.map((o) => path.basename(o.file))).toEqual(["app.log.1"]);
    expect([r.lost, r.lostBytes, r.restFromCopy]).toEqual([1, 500, false]);
  });

  it("reads a .gz copy cut short as far as it decompresses, and counts the fault", async () => {
    const gz = zlib.gzipSync(oldText);
    copy("app.log.1.gz", gz.subarray(0, gz.length - 20));
    const r = await recover(previous(500));
    expect(r.opened).toHaveLength(1);
    const [{ text, originFile, offset }] = r.opened;
    expect(originFile).toBe(path.join(logDir, "app.log.1.gz"));
    expect(offset).toBe(100);
    // What came out is the old text's start, most of it.
    expect(oldText.startsWith(text)).toBe(true);
    expect(text.length).toBeGreaterThan(oldText.length / 2);
    expect(text.length).toBeLessThan(oldText.length);
    expect([r.decompressErrors, r.lost]).toEqual([1, 0]);
  });

  it("reads a .gz copy corrupt in the middle up to the fault (what decoded before it was noticed)", async () => {
    const big = Array.from(
      { length: 4000 },
      (_, i) => `old ${i} ${((i * 2654435761) % 2 ** 32).toString(36)}${((i * 40503) % 65521).toString(36)}\n`,
    ).join("");
    const gz = zlib.gzipSync(oldText + big);
    const corrupt = Buffer.from(gz);
    corrupt.fill(0xff, Math.floor(gz.length * 0.6), Math.floor(gz.length * 0.6) + 64);
    copy("app.log.1.gz", corrupt);
    const r = await recover(previous(500));
    expect(r.opened).toHaveLength(1);
    const text = r.opened[0].text;
    // Intact up to the corrupt stretch; deflate may decode some of it to garbage before it notices.
    const intact = Math.floor((oldText + big).length * 0.5);
    expect(text.slice(0, intact)).toBe((oldText + big).slice(0, intact));
    expect(r.decompressErrors).toBe(1);
  });

  it("counts the rest lost when the only copy is named .gz but is not gzip", async () => {
    copy("app.log.1.gz", oldText);
    const r = await recover(previous(500));
    expect(r.opened).toEqual([]);
    expect([r.decompressErrors, r.lost, r.lostBytes]).toEqual([1, 1, 500]);
  });

  it("reads the uncompressed copy, not the .gz gzip is still writing beside it", async () => {
    // logrotate's copytruncate + compress: the copy, then the truncate, then gzip of the copy,
    // which removes the copy once the .gz is whole. Seen in between, the .gz is cut short.
    copy("app.log.1", oldText);
    const gz = zlib.gzipSync(oldText);
    copy("app.log.1.gz", gz.subarray(0, gz.length / 2));
    const r = await recover(previous(500));
    expect(r.opened.map((o) => [path.basename(o.file), o.offset])).toEqual([["app.log.1", 100]]);
    expect([r.decompressErrors, r.lost]).toEqual([0, 0]);
  });

  it("reads the .gz when gzip removed the uncompressed copy between the lookup and the open", async () => {
    copy("app.log.1", oldText);
    let first = true;
    const r = await recover(previous(500), (file) => {
      if (!first) return true;
      first = false;
      // gzip finishes now: the .gz is whole, its input gone.
      fs.writeFileSync(`${file}.gz`, zlib.gzipSync(oldText));
      fs.rmSync(file);
      return false;
    });
    expect(r.opened.map((o) => path.basename(o.originFile ?? o.file))).toEqual(["app.log.1", "app.log.1.gz"]);
    expect(r.opened[1]).toMatchObject({ text: oldText, offset: 100 });
    expect([r.decompressErrors, r.lost]).toEqual([0, 0]);
  });

  it("reads the .gz that gzip finished after the truncation was seen (its mtime is later)", async () => {
    // copytruncate + compress: the copy was made before the truncate, but a .gz's mtime is when
    // gzip wrote it. With the uncompressed copy gone by the lookup, the .gz is the only copy; the
    // tailer may have read all it saw of the old generation, yet the copy holds lines written
    // after its last look (a writer's tick between its last read and the copy).
    fs.writeFileSync(path.join(logDir, "app.log.2.gz"), zlib.gzipSync("an older generation\n".repeat(20)));
    const older = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(logDir, "app.log.2.gz"), older, older);
    fs.writeFileSync(path.join(logDir, "app.log.1.gz"), zlib.gzipSync(oldText));
    const later = new Date(Date.now() + 20);
    fs.utimesSync(path.join(logDir, "app.log.1.gz"), later, later);
    const r = await recover(previous(0));
    expect(r.opened.map((o) => [path.basename(o.originFile ?? o.file), o.offset])).toEqual([["app.log.1.gz", 100]]);
    expect([r.lost, r.lostBytes]).toEqual([0, 0]);
  });

  it("reads a copy written in the millisecond the truncation was seen (Date.now() rounds down)", async () => {
    // logrotate copies, truncates, and the tailer's stat sees it all within one ms; the copy holds
    // a writer's tick more than the tailer had read (size 2,000 against 100 read and unread 0).
    const prev = previous(0);
    fs.writeFileSync(path.join(logDir, "app.log.1"), oldText);
    const sameMs = (prev.detectedAt + 0.6) / 1000;
    fs.utimesSync(path.join(logDir, "app.log.1"), sameMs, sameMs);
    expect(fs.statSync(path.join(logDir, "app.log.1"), { bigint: true }).mtimeNs).toBeGreaterThan(BigInt(prev.detectedAt) * 1_000_000n);
    const r = await recover(prev);
    expect(r.opened.map((o) => [path.basename(o.file), o.offset])).toEqual([["app.log.1", 100]]);
  });

  /** The old generation as seen too short to match a copy by its first bytes (10 bytes). */
  const short = (unreadBytes: number): SupersededGeneration => ({
    ...previous(unreadBytes),
    fingerprintBytes: 10,
    fingerprint: fingerprintOf(Buffer.from(oldText).subarray(0, 10)),
    readEnd: 10,
  });

  it("does not read whole a .gz finished after the truncation was seen behind a newer copy (delaycompress)", async () => {
    // delaycompress: this rotation gzips the older copy (.2.gz) while the generation's copy is
    // app.log.1; with no match by first bytes, copies made since the file was last seen are read
    // whole, and that .gz is not one of them.
    copy("app.log.1", oldText.slice(0, 30));
    fs.writeFileSync(path.join(logDir, "app.log.2.gz"), zlib.gzipSync("an older, already read generation\n"));
    const later = new Date(Date.now() + 20);
    fs.utimesSync(path.join(logDir, "app.log.2.gz"), later, later);
    const r = await recover(short(0));
    expect(r.opened.map((o) => path.basename(o.file))).toEqual(["app.log.1"]);
  });

  it("reads whole the newest .gz finished after the truncation was seen when the generation was too short to match (compress)", async () => {
    fs.writeFileSync(path.join(logDir, "app.log.1.gz"), zlib.gzipSync(oldText.slice(0, 30)));
    const later = new Date(Date.now() + 20);
    fs.utimesSync(path.join(logDir, "app.log.1.gz"), later, later);
    const r = await recover(short(20));
    expect(r.opened.map((o) => [path.basename(o.originFile ?? o.file), o.offset])).toEqual([["app.log.1.gz", undefined]]);
    expect([r.lost, r.restFromCopy]).toEqual([0, true]);
  });

  it("says the rest is not from the copy when the copy ends before where reading stopped (a head written after the copy)", async () => {
    // The writer added the head of a line between the rotator's copy and its truncate, and the
    // tailer read it: the copy lacks it, so the tailer sends the head it holds.
    copy("app.log.1", oldText);
    const r = await recover({ ...previous(0), readEnd: Buffer.byteLength(oldText) + 15 });
    expect(r.opened.map((o) => path.basename(o.file))).toEqual(["app.log.1"]);
    expect(r.restFromCopy).toBe(false);
  });

  it("says the same of a .gz copy, by its trailer's size", async () => {
    copy("app.log.1.gz", zlib.gzipSync(oldText));
    expect((await recover({ ...previous(0), readEnd: Buffer.byteLength(oldText) + 1 })).restFromCopy).toBe(false);
    expect((await recover({ ...previous(0), readEnd: Buffer.byteLength(oldText) })).restFromCopy).toBe(true);
  });

  it("counts the rest lost when copies made since are read whole but none is the generation's (it matched none by its first bytes)", async () => {
    // rotate 1: the generation's copy is gone; app.log.1 is a later generation's.
    copy("app.log.1", "a later generation, not the one truncated\n".repeat(5));
    const r = await recover(previous(500));
    expect(r.opened.map((o) => path.basename(o.file))).toEqual(["app.log.1"]);
    expect([r.restFromCopy, r.lost, r.lostBytes]).toEqual([false, 1, 500]);
  });

  it("does not read an uncompressed copy made after the truncation was seen (a later generation's)", async () => {
    fs.writeFileSync(path.join(logDir, "app.log.1"), "the next generation, copied by a later rotation\n".repeat(10));
    const later = new Date(Date.now() + 20);
    fs.utimesSync(path.join(logDir, "app.log.1"), later, later);
    const r = await recover(previous(0));
    expect(r.opened).toEqual([]);
  });

  it("counts nothing lost when the source's globs name the copy and it is read as a file of its own", async () => {
    // include `app.log*` (or the pods preset's `*.log.*`): the scan opened app.log.1 before the
    // truncation was seen, and reads it whole.
    copy("app.log.1", oldText);
    const r = await recover(previous(500), undefined, (file) => file.endsWith("app.log.1"));
    expect(r.opened).toEqual([]);
    expect([r.lost, r.lostBytes, r.restFromCopy]).toEqual([0, 0, true]);
  });

  it("counts nothing lost when the copy it found is opened by the scan before it (tracked by then)", async () => {
    copy("app.log.1", oldText);
    let scanned = false;
    const r = await recover(
      previous(500),
      () => {
        scanned = true;
        return false;
      },
      () => scanned,
    );
    expect(r.opened.map((o) => path.basename(o.file))).toEqual(["app.log.1"]);
    expect([r.lost, r.lostBytes]).toEqual([0, 0]);
  });

  it("counts a .gz it cannot unpack for want of room or rights as an unpack error, not a decompress one", async () => {
    copy("app.log.1.gz", zlib.gzipSync(oldText));
    fs.writeFileSync(path.join(dir, "state", "unpacked"), "a file where the unpack directory goes");
    const r = await recover(previous(500));
    expect(r.opened).toEqual([]);
    expect([r.decompressErrors, r.unpackErrors, r.lost]).toEqual([0, 1, 1]);
  });
});
