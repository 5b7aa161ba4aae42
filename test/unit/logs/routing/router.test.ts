import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { Acknowledgeable } from "../../../../agent/logs/ack-tracker.js";
import { InFlightBudget } from "../../../../agent/logs/in-flight-budget.js";
import { LogMetrics } from "../../../../agent/logs/metrics.js";
import { makeRecord, recordSize, type LogRecord } from "../../../../agent/logs/record.js";
import { RoutingMetrics } from "../../../../agent/logs/routing/metrics.js";
import { Router, type RoutedSink } from "../../../../agent/logs/routing/router.js";
import type { CompiledRoute } from "../../../../agent/logs/routing/routes.js";
import { SinkBudget } from "../../../../agent/logs/routing/sink-budget.js";

interface Held {
  records: readonly LogRecord[];
  ticket: Acknowledgeable;
  lane: string;
}

/** A sink that holds what it gets until the test acknowledges it. */
class HoldingSink implements RoutedSink {
  readonly held: Held[] = [];
  constructor(
    readonly name: string,
    readonly budget: SinkBudget,
  ) {}
  submit(records: readonly LogRecord[], ticket: Acknowledgeable, lane: string): void {
    let bytes = 0;
    for (const r of records) bytes += recordSize(r);
    this.budget.add(bytes);
    this.held.push({
      records,
      lane,
      ticket: {
        ack: (n) => {
          this.budget.release(bytes);
          ticket.ack(n);
        },
      },
    });
  }
  ackAll(): void {
    for (const h of this.held.splice(0)) h.ticket.ack(h.records.length);
  }
}

function setup(limits: number[], routes?: CompiledRoute[], filter?: (r: LogRecord) => LogRecord | null) {
  const registry = new Registry();
  const total = new InFlightBudget(1 << 20, new LogMetrics(registry));
  const holder: { router?: Router } = {};
  const metrics = new RoutingMetrics(registry, () => holder.router!.blockedBySink());
  const sinks = limits.map(
    (limit, i) =>
      new HoldingSink(
        `s${i}`,
        new SinkBudget(`s${i}`, limit, total, { bytes: metrics.sinkInFlightBytes, limit: metrics.sinkInFlightLimitBytes }),
      ),
  );
  const filters = filter === undefined ? undefined : { length: 1, apply: (r: LogRecord) => filter(r) };
  const router = new Router(sinks, routes, filters, metrics);
  holder.router = router;
  return { registry, total, sinks, router };
}

function records(...messages: string[]): LogRecord[] {
  return messages.map((m) => makeRecord("2026-01-01T00:00:00.000000000Z", "stdout", m, { source: "files", file: "/f.log" }));
}

function counting(): Acknowledgeable & { acked: number } {
  const t = { acked: 0, ack: (n: number) => void (t.acked += n) };
  return t;
}

describe("Router", () => {
  it("without routes sends every record to every sink and settles the source's ticket only when all sinks acknowledged", () => {
    const { sinks, router } = setup([1000, 1000]);
    const ticket = counting();
    router.submit(records("a", "b"), ticket, "lane");
    expect(sinks[0].held[0].records.map((r) => r.message)).toEqual(["a", "b"]);
    expect(sinks[1].held[0].records.map((r) => r.message)).toEqual(["a", "b"]);
    sinks[0].ackAll();
    expect(ticket.acked).toBe(0);
    sinks[1].ackAll();
    expect(ticket.acked).toBe(2);
  });

  it("sends a record to the union of the sinks of the routes that match, and counts records no route matches as delivered", async () => {
    const routes: CompiledRoute[] = [
      { name: "errors", matches: (r) => r.message.startsWith("E"), sinkMask: 0b10 },
      { name: "all-but-debug", matches: (r) => !r.message.startsWith("D"), sinkMask: 0b01 },
    ];
    const { sinks, router, registry } = setup([1000, 1000], routes);
    const ticket = counting();
    router.submit(records("E1", "I1", "D1"), ticket, "lane");
    expect(sinks[0].held[0].records.map((r) => r.message)).toEqual(["E1", "I1"]);
    expect(sinks[1].held[0].records.map((r) => r.message)).toEqual(["E1"]);
    sinks[1].ackAll();
    sinks[0].ackAll();
    expect(ticket.acked).toBe(3);
    const unrouted = await registry.getSingleMetric("nodetap_log_records_unrouted_total")!.get();
    expect(unrouted.values[0].value).toBe(1);
    const routed = await registry.getSingleMetric("nodetap_log_route_records_total")!.get();
    expect(Object.fromEntries(routed.values.map((v) => [v.labels.route, v.value]))).toEqual({ errors: 1, "all-but-debug": 2 });
  });

  it("settles at once when the filters drop every record", () => {
    const { sinks, router } = setup([1000], undefined, () => null);
    const ticket = counting();
    router.submit(records("a", "b", "c"), ticket, "lane");
    expect(sinks[0].held).toHaveLength(0);
    expect(ticket.acked).toBe(3);
  });

  it("hands sinks the filtered record, not the one read", () => {
    const { sinks, router } = setup([1000], undefined, (r) => makeRecord(r.time, r.stream, r.message.toUpperCase(), r.origin));
    router.submit(records("a"), counting(), "lane");
    expect(sinks[0].held[0].records[0].message).toBe("A");
  });

  it("blocks a lane with copies waiting on a full sink, not a lane routed elsewhere, and calls back when the sink has room", async () => {
    const routes: CompiledRoute[] = [
      { name: "to-slow", matches: (r) => r.origin.file === "/a.log", sinkMask: 0b11 },
      { name: "to-fast", matches: (r) => r.origin.file === "/b.log", sinkMask: 0b01 },
    ];
    const { sinks, router, registry } = setup([1 << 20, 150], routes);
    let rooms = 0;
    router.onRoom(() => rooms++);
    const a = makeRecord("2026-01-01T00:00:00.000000000Z", "stdout", "x".repeat(100), { source: "files", file: "/a.log" });
    const b = makeRecord("2026-01-01T00:00:00.000000000Z", "stdout", "y".repeat(100), { source: "files", file: "/b.log" });
    const ticketA = counting();
    router.submit([a], ticketA, "A");
    router.submit([b], counting(), "B");
    expect(sinks[1].budget.full).toBe(true);
    expect(router.blocked("A")).toBe(true);
    expect(router.blocked("B")).toBe(false);
    expect(router.blockedLanes()).toEqual({ A: ["s1"] });
    const blocked = await registry.getSingleMetric("nodetap_log_files_blocked")!.get();
    expect(blocked.values.find((v) => v.labels.sink === "s1")?.value).toBe(1);
    sinks[0].ackAll();
    expect(ticketA.acked).toBe(0);
    sinks[1].ackAll();
    expect(ticketA.acked).toBe(1);
    expect(rooms).toBe(1);
    expect(router.blocked("A")).toBe(false);
  });
});
