import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultsOf } from "../../../agent/config/schema.js";
import { logsSchema } from "../../../agent/logs/config.js";
import { InFlightBudget } from "../../../agent/logs/in-flight-budget.js";
import { computeFingerprint } from "../../../agent/logs/sources/file-identity.js";
import { fileSourceSpecs, tailSettingsFrom } from "../../../agent/logs/sources/file-source-spec.js";
import { FileTailer, type SupersededGeneration } from "../../../agent/logs/sources/file-tailer.js";
import { counterValue, newMetrics, silentLogger } from "./helpers.js";

/**
 * A FileTailer reading a file with NUL bytes: holes left by a copytruncate of a file its writer
 * does not open O_APPEND are skipped and, where one begins where reading stopped, taken for the
 * truncation; NULs that are data are neither (a review found every chunk that started at one
 * read the file again from 0, without end).
 */
describe("FileTailer and NUL bytes", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-nul-"));
    file = path.join(dir, "app.log");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** 64-byte lines `line NNNN xxx…`. */
  const lines = (from: number, to: number) =>
    Buffer.from(Array.from({ length: to - from }, (_, i) => `line ${String(from + i).padStart(4, "0")} ${"x".repeat(53)}\n`).join(""));

  async function tail(readBufferBytes: number) {
    const cfg = defaultsOf(logsSchema);
    cfg.sources.files.include = [`${dir}/*.log`];
    const settings = tailSettingsFrom(cfg);
    const spec = fileSourceSpecs(cfg).find((s) => s.name === "files")!;
    const { metrics, registry } = newMetrics();
    const records: string[] = [];
    const superseded: SupersededGeneration[] = [];
    const handle = await fsp.open(file, "r");
    const st = await handle.stat();
    const fp = await computeFingerprint(handle, st.size, settings.fingerprintBytes);
    const tailer = new FileTailer(
      "k",
      { dev: String(st.dev), ino: String(st.ino), fingerprintBytes: fp.bytes, fingerprint: fp.hash },
      spec,
      { source: "files", file },
      handle,
      0,
      st.size,
      {
        metrics,
        logger: silentLogger,
        settings,
        budget: new InFlightBudget(1 << 30, metrics),
        submit: (rs, ticket) => {
          for (const r of rs) records.push(String(r.message));
          ticket.ack(rs.length);
        },
        commit: () => undefined,
        superseded: (_t, previous, emitHeld) => {
          superseded.push(previous);
          emitHeld();
        },
      },
    );
    await tailer.armDataAt(handle, st.size); // as the opener does
    const buf = Buffer.alloc(readBufferBytes);
    const read = async (maxReads = 1000) => {
      for (let i = 0; i < maxReads; i++) if ((await tailer.readOnce(buf)) === "eof") return;
    };
    const truncations = () => counterValue(registry, "nodetap_log_rotations_total", { kind: "truncate" });
    const skipped = () => counterValue(registry, "nodetap_log_nul_bytes_skipped_total", { source: "files" });
    return { records, superseded, read, truncations, skipped, close: () => handle.close() };
  }

  it("reads NULs that are data where a chunk starts (at a line start, inside a line) once, as no truncation", async () => {
    const text = lines(0, 200);
    text[4096] = 0; // line 64's first byte, the second 4 KiB chunk's first
    text[8192 + 32] = 0; // inside line 128, where a chunk of 4096 + 32 bytes ends
    fs.writeFileSync(file, text);
    for (const size of [4096, 4096 + 32]) {
      const t = await tail(size);
      await t.read();
      expect(t.records).toHaveLength(200);
      expect(await t.truncations()).toBe(0);
      expect(t.superseded).toEqual([]);
      await t.close();
    }
  });

  it("takes lines appended with a NUL first for lines, not a truncation", async () => {
    fs.writeFileSync(file, lines(0, 50));
    const t = await tail(256 * 1024);
    await t.read();
    for (let k = 0; k < 5; k++) {
      fs.appendFileSync(file, `\0record ${k}\n`);
      await t.read();
    }
    expect(t.records.slice(50)).toEqual(["record 0", "record 1", "record 2", "record 3", "record 4"]);
    expect(await t.truncations()).toBe(0);
    expect(await t.skipped()).toBe(5);
    await t.close();
  });

  it("finds a copytruncate of a file written at its writer's offset where reading stopped, and skips the hole", async () => {
    const fd = fs.openSync(file, "w");
    fs.writeSync(fd, lines(0, 100)); // 6,400 bytes
    const t = await tail(4096);
    await t.read(1); // 4,096 bytes: lines 0-63
    fs.truncateSync(file, 0);
    fs.writeSync(fd, lines(100, 110)); // at 6,400: a hole of 6,400 bytes before it
    fs.closeSync(fd);
    await t.read();
    expect(t.superseded).toHaveLength(1);
    expect(t.superseded[0].issued).toBe(4096);
    expect(await t.truncations()).toBe(1);
    expect(t.records.slice(64)).toEqual(lines(100, 110).toString().trimEnd().split("\n"));
    expect(await t.skipped()).toBe(6400);
    await t.close();
  });

  it.each([
    ["after its first read (NULs 0-4,095)", 1],
    ["between its open and its first read (a restart's recovery ran in between)", 0],
  ])(
    "finds a second copytruncate made while reading stands inside the first hole (its old lines are in the copy): %s",
    async (_when, readsBefore) => {
      // The first bytes stay NULs, the size does not drop, and no byte read turns NUL: before, the
      // old generation's lines were skipped with the new hole, and nothing was counted.
      const fd = fs.openSync(file, "w");
      fs.writeSync(fd, lines(0, 100)); // 6,400 bytes
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, lines(100, 200)); // at 6,400: the first hole
      const t = await tail(4096);
      await t.read(readsBefore); // reading stands inside the hole, or at the start
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, lines(200, 210)); // at 12,800: the hole now covers lines 100-199
      fs.closeSync(fd);
      await t.read();
      expect(t.superseded).toHaveLength(1);
      expect(t.superseded[0].issued).toBe(0); // the copy is read from the hole's start: lines 100-199
      // Unread, as far as known: from where reading found it (12,288, in 4 KiB reads) to the
      // write's last byte seen (12,799); 0 before the split into hole-watch.ts, which took the
      // count after the offset was cleared.
      expect(t.superseded[0].unreadBytes).toBe(512);
      expect(t.records).toEqual(lines(200, 210).toString().trimEnd().split("\n"));
      expect(await t.truncations()).toBe(1);
      await t.close();
    },
  );

  it("takes zeros a writer wrote itself (a zero-padded file that grows) for no rewrite", async () => {
    const fd = fs.openSync(file, "w");
    fs.writeSync(fd, lines(0, 10));
    fs.writeSync(fd, Buffer.alloc(8192)); // written zeros: allocated, not a hole
    const t = await tail(4096);
    await t.read(1);
    fs.writeSync(fd, lines(10, 20));
    fs.closeSync(fd);
    await t.read();
    expect(t.superseded).toEqual([]);
    expect(await t.truncations()).toBe(0);
    expect(t.records).toEqual(lines(0, 20).toString().trimEnd().split("\n"));
    await t.close();
  });

  // A review's cases (all three failed on the first version, which armed the check without
  // looking at the byte and asked for a sparse file instead).
  const seqs = (rs: string[]) => rs.map((r) => Number(/^line (\d+)/.exec(r)?.[1] ?? -1));
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

  it("takes a file that ends in a hole when seen (extended by truncate, or after a crash), then appended to, for no rewrite", async () => {
    fs.writeFileSync(file, lines(0, 100));
    fs.truncateSync(file, 6400 + 65536);
    const t = await tail(4096);
    await t.read(1);
    fs.appendFileSync(file, lines(100, 110));
    await t.read();
    expect(seqs(t.records)).toEqual(range(0, 110));
    expect(t.superseded).toEqual([]);
    await t.close();
  });

  it("finds a copytruncate made while the new generation of the one before waits for its copy", async () => {
    const fd = fs.openSync(file, "w");
    fs.writeSync(fd, lines(0, 100));
    const t = await tail(4096);
    await t.read(1);
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, lines(100, 200));
    await t.read(1); // finds it; the new generation is read on the next turn
    expect(t.superseded).toHaveLength(1);
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, lines(200, 210));
    fs.closeSync(fd);
    await t.read();
    expect(t.superseded).toHaveLength(2); // lines 100-199 are looked for in their copy
    expect(seqs(t.records).slice(64)).toEqual(range(200, 210));
    await t.close();
  });

  it("finds a copytruncate made while reading stands in a hole when the writer wrote more after it than before", async () => {
    const fd = fs.openSync(file, "w");
    fs.writeSync(fd, lines(0, 100));
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, lines(100, 200));
    const t = await tail(4096);
    await t.read(1);
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, lines(200, 420)); // more allocated now than the offset the check looks at
    fs.closeSync(fd);
    await t.read();
    expect(t.superseded).toHaveLength(1);
    expect(seqs(t.records)).toEqual(range(200, 420));
    await t.close();
  });
});
