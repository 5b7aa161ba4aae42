import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { InFlightBudget } from "../../../agent/logs/in-flight-budget.js";
import { makeRecord, type LogRecord } from "../../../agent/logs/record.js";
import { DeadLetterFile } from "../../../agent/logs/delivery/dead-letter.js";
import { Delivery } from "../../../agent/logs/delivery/delivery.js";
import { RetryPolicy } from "../../../agent/logs/delivery/retry-policy.js";
import type { DeliveryResult, RecordEncoder, Transport } from "../../../agent/logs/delivery/sink.js";
import { counterValue, newMetrics, TEST_ORIGIN } from "./helpers.js";

const rec = (msg: string): LogRecord => makeRecord("2024-05-01T10:00:00.000000000Z", "stdout", msg, TEST_ORIGIN);
const encoder: RecordEncoder = { contentType: "text/plain", encode: (records) => Buffer.from(records.map((r) => r.message).join("\n")) };

function transport(answer: (messages: string[]) => DeliveryResult): Transport {
  return {
    name: "scripted",
    start: async () => undefined,
    deliver: async (body: Buffer) => answer(body.toString().split("\n")),
    close: async () => undefined,
    describe: () => ({}),
  };
}

describe("Delivery accounting", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function setup(t: Transport) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-dcount-"));
    dirs.push(dir);
    const { registry, metrics } = newMetrics();
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "warn" }, { write: (l: string) => void logs.push(JSON.parse(l) as Record<string, unknown>) });
    const delivery = new Delivery({
      sink: { encoder, transport: t, lanes: 1, splitRejected: false },
      limits: { maxBytes: 1 << 20, maxRecords: 1000, maxWaitMs: 10 },
      retry: new RetryPolicy(1, 5, 0),
      deadLetter: new DeadLetterFile(path.join(dir, "dl.ndjson"), 1 << 20, 2),
      budget: new InFlightBudget(1 << 20, metrics),
      metrics,
      logger,
    });
    const sent = () => counterValue(registry, "nodetap_log_records_sent_total");
    return { delivery, registry, logs, sent };
  }

  it("counts dead-lettered records only as dead-lettered, not as sent (whole batch)", async () => {
    const { delivery, sent } = setup(transport(() => ({ kind: "reject", reason: "http_400", status: 400 })));
    delivery.submit([rec("a"), rec("b")], { ack: () => undefined }, "f");
    expect(await delivery.drain(Date.now() + 5000)).toBe(true);
    expect(await sent()).toBe(0);
  });

  it("counts only the accepted records of a partly rejected batch as sent", async () => {
    const { delivery, sent } = setup(
      transport((msgs) =>
        msgs.length === 3
          ? { kind: "partial", reason: "items", retry: [], reject: [{ index: 1, reason: "item_400", status: 400 }] }
          : { kind: "ok" },
      ),
    );
    delivery.submit([rec("a"), rec("b"), rec("c")], { ack: () => undefined }, "f");
    expect(await delivery.drain(Date.now() + 5000)).toBe(true);
    expect(await sent()).toBe(2);
  });

  it("logs a failing lane run instead of leaving an unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on("unhandledRejection", onUnhandled);
    try {
      const { delivery, logs } = setup(transport(() => ({ kind: "ok" })));
      delivery.submit(
        [rec("a")],
        {
          ack: () => {
            throw new Error("boom in settle");
          },
        },
        "f",
      );
      await delivery.drain(Date.now() + 2000);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
      expect(logs.some((l) => l.level === 50 && String(l.err).includes("boom in settle"))).toBe(true);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
