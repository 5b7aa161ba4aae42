import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AckTracker } from "../../../agent/logs/ack-tracker.js";
import { InFlightBudget } from "../../../agent/logs/in-flight-budget.js";
import { makeRecord, type LogOrigin, type LogRecord } from "../../../agent/logs/record.js";
import { Batcher, type Batch } from "../../../agent/logs/delivery/batcher.js";
import { DeadLetterFile } from "../../../agent/logs/delivery/dead-letter.js";
import { Delivery } from "../../../agent/logs/delivery/delivery.js";
import { encodedHalves, encodedSubset } from "../../../agent/logs/delivery/encoded-lines.js";
import { NdjsonEncoder } from "../../../agent/logs/sinks/shared/ndjson.js";
import { RetryPolicy } from "../../../agent/logs/delivery/retry-policy.js";
import type { DeliveryResult, Transport } from "../../../agent/logs/delivery/sink.js";
import { counterValue, newMetrics, silentLogger, TEST_ORIGIN } from "./helpers.js";

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);
const POD: LogOrigin = {
  source: "pods",
  file: '/var/log/pods/ns_p_u/c/0.log"\\',
  node: "n1",
  kubernetes: { namespace: "ns", podName: "p", podUid: "u", containerName: "c", restartCount: 2 },
};
const rec = (msg: string, origin: LogOrigin = TEST_ORIGIN): LogRecord =>
  makeRecord("2024-05-01T10:00:00.000000000Z", "stdout", msg, origin);
const linesOf = (raw: Buffer) => raw.toString("utf8").split("\n").slice(0, -1);

describe("NdjsonEncoder into a Buffer", () => {
  it("writes exactly what line() writes, for any message (escapes, surrogates, non-ASCII, controls)", () => {
    const text = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 200 }),
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.string({ maxLength: 50 }),
    );
    const record = fc.record({
      message: text,
      stream: fc.constantFrom("stdout" as const, "stderr" as const, "" as const),
      truncated: fc.boolean(),
      attributes: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), text, { maxKeys: 3 }), { nil: undefined }),
      pod: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (specs) => {
        const records = specs.map((s) =>
          makeRecord("2024-05-01T10:00:00.123456789Z", s.stream, s.message, s.pod ? POD : TEST_ORIGIN, s.truncated, s.attributes),
        );
        const enc = new NdjsonEncoder();
        const expected = records.map((r) => enc.line(r)).join("");
        expect(enc.encode(records).equals(Buffer.from(expected, "utf8"))).toBe(true);
        for (const line of linesOf(enc.encode(records))) JSON.parse(line);
      }),
      { numRuns: 300 },
    );
  });
});

describe("encoded batches", () => {
  const sealedBy = (maxBytes: number, maxRecords = 1000) => {
    const sealed: Batch[] = [];
    const batcher = new Batcher({ maxBytes, maxRecords, maxWaitMs: 60_000 }, (b) => sealed.push(b), new NdjsonEncoder());
    return { sealed, batcher };
  };

  it("count encoded bytes, never pass maxBytes but for a lone record, and hold lines, not records", () => {
    const { sealed, batcher } = sealedBy(1000);
    const tracker = new AckTracker<number>(() => undefined);
    const messages = Array.from({ length: 60 }, (_, i) => `m${i} ${"x".repeat((i * 37) % 300)}`);
    messages.splice(30, 0, "big ".repeat(600));
    const total = batcher.add(
      messages.map((m) => rec(m, POD)),
      tracker.issue(1, messages.length),
    );
    batcher.seal();
    expect(sealed.length).toBeGreaterThan(5);
    expect(sealed.reduce((n, b) => n + b.bytes, 0)).toBe(total);
    const got: string[] = [];
    for (const b of sealed) {
      expect(b.encoded).toBe(true);
      expect(b.records).toHaveLength(0);
      const raw = b.raw as Buffer;
      expect(raw.length).toBe(b.bytes);
      if (b.count > 1) expect(raw.length).toBeLessThanOrEqual(1000);
      expect(linesOf(raw)).toHaveLength(b.count);
      for (const l of linesOf(raw)) got.push((JSON.parse(l) as { message: string }).message);
    }
    expect(got).toEqual(messages);
    expect(sealed.find((b) => b.bytes > 1000)?.count).toBe(1);
  });

  it("split into halves and subsets with their tickets", () => {
    const { sealed, batcher } = sealedBy(1 << 20);
    const commits: number[] = [];
    const tracker = new AckTracker<number>((p) => commits.push(p), 0);
    const t1 = tracker.issue(10, 3);
    const t2 = tracker.issue(20, 2);
    batcher.add(
      ["a", "b", "c"].map((m) => rec(m)),
      t1,
    );
    batcher.add(
      ["d", "e"].map((m) => rec(m)),
      t2,
    );
    batcher.seal();
    const batch = sealed[0];
    const raw = batch.raw as Buffer;
    const [h1, h2] = encodedHalves(batch, raw);
    expect([h1.count, h2.count]).toEqual([3, 2]);
    expect(h1.bytes + h2.bytes).toBe(batch.bytes);
    expect(Buffer.concat([h1.raw as Buffer, h2.raw as Buffer]).equals(raw)).toBe(true);
    const sub = encodedSubset(batch, raw, [4, 0, 2]);
    expect(linesOf(sub.raw as Buffer).map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(["a", "c", "e"]);
    expect(sub.counts).toEqual([2, 1]);
    expect(sub.tickets).toEqual([t1, t2]);
    batch.settle();
    expect(commits).toEqual([10, 20]);
  });
});

describe("Delivery of encoded batches through a compressing transport", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function run(answer: (messages: string[]) => DeliveryResult | Promise<DeliveryResult>, lanes = 1, reuseBuffers?: boolean) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-encoded-"));
    dirs.push(dir);
    const received: string[][] = [];
    const transport: Transport = {
      name: "gz",
      start: async () => undefined,
      prepare: (payload) => gzip(payload),
      restore: (body) => gunzip(body),
      deliver: async (body) => {
        const messages = linesOf(await gunzip(body)).map((l) => (JSON.parse(l) as { message: string }).message);
        const result = await answer(messages);
        if (result.kind === "ok") received.push(messages);
        return result;
      },
      close: async () => undefined,
      describe: () => ({}),
    };
    const { registry, metrics } = newMetrics();
    const deadLetterFile = path.join(dir, "dl.ndjson");
    const budget = new InFlightBudget(1 << 20, metrics);
    const delivery = new Delivery({
      sink: { encoder: new NdjsonEncoder(), transport, lanes, splitRejected: false },
      limits: { maxBytes: 1 << 20, maxRecords: 8, maxWaitMs: 10 },
      retry: new RetryPolicy(1, 5, 0),
      deadLetter: new DeadLetterFile(deadLetterFile, 1 << 20, 2),
      budget,
      metrics,
      logger: silentLogger,
      reuseBuffers,
    });
    const commits: number[] = [];
    const tracker = new AckTracker<number>((p) => commits.push(p), 0);
    const submit = (messages: string[], position: number) =>
      delivery.submit(
        messages.map((m) => rec(m, POD)),
        tracker.issue(position, messages.length),
        "f",
      );
    const deadLetters = () =>
      fs.existsSync(deadLetterFile)
        ? fs
            .readFileSync(deadLetterFile, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l) as { deadLetter: { reason: string }; record: Record<string, unknown> })
        : [];
    return { delivery, received, commits, submit, deadLetters, registry, budget };
  }

  it("a 413 splits the batch (lines restored from the gzip body) until each part is taken, in order", async () => {
    const { delivery, received, commits, submit, budget } = run((m) =>
      m.length > 2 ? { kind: "reject", reason: "status_413", status: 413 } : { kind: "ok" },
    );
    const messages = Array.from({ length: 8 }, (_, i) => `line ${i}`);
    submit(messages, 8);
    expect(await delivery.drain(Date.now() + 5000)).toBe(true);
    expect(received.flat()).toEqual(messages);
    expect(received.every((r) => r.length <= 2)).toBe(true);
    expect(commits).toEqual([8]);
    expect(budget.bytes).toBe(0);
  });

  it("a rejected batch is dead-lettered from its gzip body, each record as the NDJSON sink writes it", async () => {
    const { delivery, commits, submit, deadLetters, registry } = run(() => ({ kind: "reject", reason: "status_400", status: 400 }));
    submit(['he said "hi"\u0000', "ünïcødé 🎉"], 2);
    expect(await delivery.drain(Date.now() + 5000)).toBe(true);
    const dead = deadLetters();
    expect(dead.map((d) => d.deadLetter.reason)).toEqual(["status_400", "status_400"]);
    const enc = new NdjsonEncoder();
    expect(dead.map((d) => d.record)).toEqual(
      ['he said "hi"\u0000', "ünïcødé 🎉"].map((m) => JSON.parse(enc.line(rec(m, POD))) as Record<string, unknown>),
    );
    expect(commits).toEqual([2]);
    expect(await counterValue(registry, "nodetap_log_dead_letter_records_total")).toBe(2);
    expect(await counterValue(registry, "nodetap_log_records_sent_total")).toBe(0);
  });

  it("writes later batches into the buffers of batches already compressed, and no line is ever changed by it", async () => {
    // Batches are compressed ahead of sending; once compressed, their buffer is the next
    // batch's. Deliveries take turns with random delays, some are split by a 413 (their lines
    // restored from the gzip body): every line must still arrive exactly as written.
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const { delivery, received, submit } = run(async (m) => {
      await new Promise((r) => setTimeout(r, random() * 3));
      return m.length > 6 && random() < 0.2 ? { kind: "reject", reason: "status_413", status: 413 } : { kind: "ok" };
    }, 3);
    const take = vi.spyOn(delivery.bufferPool, "take");
    const messages: string[] = [];
    for (let i = 0; i < 400; i++) {
      // As many as a batch holds (maxRecords): every batch is sealed full, so the next one reuses.
      const batch = Array.from({ length: 8 }, (_, k) => `line ${i}.${k} ${"x".repeat(Math.floor(random() * 200))}`);
      messages.push(...batch);
      submit(batch, (i + 1) * 8);
      // Time for compressions to finish and give their buffers back between batches.
      await new Promise((r) => setTimeout(r, i % 4 === 0 ? 2 : 0));
    }
    expect(await delivery.drain(Date.now() + 20_000)).toBe(true);
    expect(received.flat().sort()).toEqual([...messages].sort());
    expect(take.mock.results.filter((r) => r.value !== undefined).length).toBeGreaterThan(20);
  });

  it("reuses no buffer when reuse is off (where V8's heap growth is not capped)", async () => {
    const { delivery, received, submit } = run(() => ({ kind: "ok" }), 2, false);
    const take = vi.spyOn(delivery.bufferPool, "take");
    const messages: string[] = [];
    for (let i = 0; i < 50; i++) {
      const batch = Array.from({ length: 8 }, (_, k) => `line ${i}.${k}`);
      messages.push(...batch);
      submit(batch, (i + 1) * 8);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(await delivery.drain(Date.now() + 10_000)).toBe(true);
    expect(received.flat().sort()).toEqual([...messages].sort());
    expect(take.mock.calls.length).toBeGreaterThan(10);
    expect(take.mock.results.every((r) => r.value === undefined)).toBe(true);
    expect(delivery.bufferPool.size).toBe(0);
  });
});
