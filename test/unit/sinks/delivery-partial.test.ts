import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AckTracker } from "../../../agent/logs/ack-tracker.js";
import { InFlightBudget } from "../../../agent/logs/in-flight-budget.js";
import { makeRecord, type LogRecord } from "../../../agent/logs/record.js";
import { DeadLetterFile } from "../../../agent/logs/delivery/dead-letter.js";
import { Delivery } from "../../../agent/logs/delivery/delivery.js";
import { RetryPolicy } from "../../../agent/logs/delivery/retry-policy.js";
import type { DeliveryResult, RecordEncoder, Transport } from "../../../agent/logs/delivery/sink.js";
import { counterValue, newMetrics, silentLogger, TEST_ORIGIN } from "../logs/helpers.js";

// The delivery's handling of per-record results (DeliveryResult "partial") and of whole-request
// rejections with splitRejected, driven by a scripted transport: what the pipeline acknowledges,
// dead-letters and re-sends. The real-server behaviour is in test/integration/sinks.

const rec = (msg: string): LogRecord => makeRecord("2024-05-01T10:00:00.000000000Z", "stdout", msg, TEST_ORIGIN);

/** Encodes messages one per line, so the transport sees which records each attempt holds. */
const encoder: RecordEncoder = { contentType: "text/plain", encode: (records) => Buffer.from(records.map((r) => r.message).join("\n")) };

class ScriptedTransport implements Transport {
  readonly name = "scripted";
  readonly attempts: string[][] = [];
  constructor(private readonly answer: (messages: string[], attempt: number) => DeliveryResult) {}
  async start(): Promise<void> {}
  async deliver(body: Buffer): Promise<DeliveryResult> {
    const messages = body.toString().split("\n");
    this.attempts.push(messages);
    return this.answer(messages, this.attempts.length);
  }
  async close(): Promise<void> {}
  describe(): Record<string, unknown> {
    return {};
  }
}

describe("Delivery with per-record results", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function setup(transport: Transport, splitRejected = false) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-partial-"));
    dirs.push(dir);
    const { registry, metrics } = newMetrics();
    const deadLetter = new DeadLetterFile(path.join(dir, "dl.ndjson"), 1 << 20, 2);
    const budget = new InFlightBudget(1 << 20, metrics);
    const delivery = new Delivery({
      sink: { encoder, transport, lanes: 1, splitRejected },
      limits: { maxBytes: 1 << 20, maxRecords: 1000, maxWaitMs: 10 },
      retry: new RetryPolicy(1, 5, 0),
      deadLetter,
      budget,
      metrics,
      logger: silentLogger,
    });
    const committed: number[] = [];
    const tracker = new AckTracker<number>((p) => committed.push(p));
    const deadLetters = () =>
      fs.existsSync(deadLetter.file)
        ? fs
            .readFileSync(deadLetter.file, "utf8")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l) as { deadLetter: { reason: string; detail?: string }; record: { message: string } })
        : [];
    return { delivery, tracker, committed, registry, budget, deadLetters };
  }

  it("dead-letters rejected records, re-sends only the ones to retry, and acknowledges once all are through", async () => {
    const t = new ScriptedTransport((msgs, attempt) => {
      if (attempt === 1)
        return {
          kind: "partial",
          reason: "items_429",
          retry: [1, 3],
          reject: [{ index: 2, reason: "item_400", status: 400, detail: "mapper_parsing_exception: bad c" }],
          notes: [{ outcome: "already_stored", records: 1 }],
        };
      if (attempt === 2) {
        expect(msgs).toEqual(["b", "d"]);
        return { kind: "partial", reason: "items_429", retry: [1], reject: [] };
      }
      expect(msgs).toEqual(["d"]);
      return { kind: "ok" };
    });
    const { delivery, tracker, committed, registry, budget, deadLetters } = setup(t);
    const first = tracker.issue(100, 2);
    const second = tracker.issue(200, 3);
    delivery.submit([rec("a"), rec("b")], first, "f");
    delivery.submit([rec("c"), rec("d"), rec("e")], second, "f");
    expect(await delivery.drain(Date.now() + 5000)).toBe(true);
    expect(t.attempts).toEqual([["a", "b", "c", "d", "e"], ["b", "d"], ["d"]]);
    expect(committed).toEqual([100, 200]); // both tickets settle together, after the last retry
    expect(budget.bytes).toBe(0);
    expect(deadLetters().map((d) => [d.record.message, d.deadLetter.reason, d.deadLetter.detail])).toEqual([
      ["c", "item_400", "mapper_parsing_exception: bad c"],
    ]);
    expect(await counterValue(registry, "nodetap_log_sink_record_outcomes_total", { outcome: "already_stored" })).toBe(1);
    expect(await counterValue(registry, "nodetap_log_send_retries_total", { reason: "items_429" })).toBe(2);
    expect(await counterValue(registry, "nodetap_log_dead_letter_records_total", { reason: "item_400" })).toBe(1);
    // The dead-lettered record ("c") counts only as dead-lettered, not as sent.
    expect(await counterValue(registry, "nodetap_log_records_sent_total")).toBe(4);
  });

  it("does not acknowledge while records of the batch are still being retried", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const t: Transport = {
      name: "gated",
      start: async () => undefined,
      close: async () => undefined,
      describe: () => ({}),
      deliver: async () => {
        calls++;
        if (calls === 1) return { kind: "partial", reason: "items_429", retry: [0], reject: [] };
        await gate;
        return { kind: "ok" };
      },
    };
    const { delivery, tracker, committed } = setup(t);
    delivery.submit([rec("a"), rec("b")], tracker.issue(10, 2), "f");
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toBe(2);
    expect(committed).toEqual([]);
    release();
    expect(await delivery.drain(Date.now() + 5000)).toBe(true);
    expect(committed).toEqual([10]);
  });

  it("splitRejected: a 400 for the whole request is narrowed down to the bad record by halving", async () => {
    const t = new ScriptedTransport((msgs) =>
      msgs.includes("bad") ? { kind: "reject", reason: "status_400", status: 400, detail: "entry too long" } : { kind: "ok" },
    );
    const { delivery, tracker, committed, deadLetters } = setup(t, true);
    const records = Array.from({ length: 16 }, (_, i) => rec(i === 11 ? "bad" : `ok${i}`));
    delivery.submit(records, tracker.issue(16, 16), "f");
    expect(await delivery.drain(Date.now() + 5000)).toBe(true);
    expect(deadLetters().map((d) => [d.record.message, d.deadLetter.detail])).toEqual([["bad", "entry too long"]]);
    const delivered = t.attempts.filter((a) => !a.includes("bad")).flat();
    expect(delivered.sort()).toEqual(
      records
        .filter((r) => r.message !== "bad")
        .map((r) => r.message)
        .sort(),
    );
    expect(t.attempts.filter((a) => a.includes("bad"))).toHaveLength(5); // 16, 8, 4, 2, 1
    expect(committed).toEqual([16]);
  });

  it("without splitRejected a 400 dead-letters the whole batch, as before", async () => {
    const t = new ScriptedTransport(() => ({ kind: "reject", reason: "status_400", status: 400 }));
    const { delivery, tracker, deadLetters } = setup(t, false);
    delivery.submit([rec("a"), rec("b")], tracker.issue(2, 2), "f");
    expect(await delivery.drain(Date.now() + 5000)).toBe(true);
    expect(t.attempts).toHaveLength(1);
    expect(deadLetters()).toHaveLength(2);
  });
});
