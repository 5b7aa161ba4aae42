import fc from "fast-check";
import snappy from "snappyjs";
import { describe, expect, it } from "vitest";
import { makeRecord, type LogOrigin } from "../../../agent/logs/record.js";
import { LokiEncoder, escapeLabelValue } from "../../../agent/logs/sinks/loki/encoder.js";
import { lokiOutcome } from "../../../agent/logs/sinks/loki/transport.js";
import { ProtoWriter } from "../../../agent/logs/sinks/shared/protobuf.js";
import { decodeMessage, msgs, num, str } from "./proto-reader.js";

const POD: LogOrigin = {
  source: "pods",
  file: "/var/log/pods/prod_api-7d9f_0b6c/api/0.log",
  node: "node-1",
  kubernetes: { namespace: "prod", podName: "api-7d9f", podUid: "0b6c", containerName: "api", restartCount: 2 },
};
const HOST: LogOrigin = { source: "host", file: "/var/log/syslog", node: "node-1" };

describe("ProtoWriter", () => {
  it("round-trips nested messages of any size (length varints of 1..3 bytes)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "grapheme", maxLength: 300 }), { maxLength: 60 }), fc.nat(), (lines, n) => {
        const w = new ProtoWriter(16);
        const outer = w.begin(1);
        for (const l of lines) {
          const inner = w.begin(2);
          w.string(1, l);
          w.varint(2, n);
          w.end(inner);
        }
        w.end(outer);
        const top = decodeMessage(w.finish());
        const items = msgs(msgs(top, 1)[0], 2);
        expect(items.map((m) => str(m, 1))).toEqual(lines);
        expect(items.every((m) => num(m, 2) === BigInt(n))).toBe(true);
      }),
    );
  });
});

describe("LokiEncoder protobuf", () => {
  const enc = new LokiEncoder("protobuf", ["namespace", "container", "node"], { cluster: "c1" });

  it("groups streams by labels, puts the rest into structured metadata, keeps time to the nanosecond", () => {
    const records = [
      makeRecord("2024-05-01T10:00:00.123456789Z", "stdout", "one", POD),
      makeRecord("2024-05-01T10:00:01.000000001Z", "", "host line", HOST),
      makeRecord("2024-05-01T10:00:00.200000000Z", "stderr", "two", POD, true, { unit: "x" }),
    ];
    const req = decodeMessage(enc.encode(records));
    const streams = msgs(req, 1);
    expect(streams.map((s) => str(s, 1))).toEqual([
      '{cluster="c1", container="api", namespace="prod", node="node-1"}',
      '{cluster="c1", node="node-1"}',
    ]);
    const entries = msgs(streams[0], 2);
    expect(entries.map((e) => str(e, 2))).toEqual(["one", "two"]);
    const ts = msgs(entries[0], 1)[0];
    expect([num(ts, 1), num(ts, 2)]).toEqual([BigInt(Date.parse("2024-05-01T10:00:00Z") / 1000), 123456789n]);
    const meta = (e: (typeof entries)[0]) => Object.fromEntries(msgs(e, 3).map((p) => [str(p, 1), str(p, 2)]));
    expect(meta(entries[0])).toEqual({
      pod: "api-7d9f",
      pod_uid: "0b6c",
      restart_count: "2",
      source: "pods",
      file: POD.file,
      stream: "stdout",
    });
    expect(meta(entries[1])).toMatchObject({ stream: "stderr", truncated: "true", unit: "x" });
    expect(meta(msgs(streams[1], 2)[0])).toEqual({ source: "host", file: "/var/log/syslog" });
  });

  it("orders entries of a stream by time (stable), as Loki requires", () => {
    const other: LogOrigin = { ...POD, kubernetes: { ...POD.kubernetes!, podName: "api-2", podUid: "u2" } };
    const records = [
      makeRecord("2024-05-01T10:00:02.000000000Z", "stdout", "b1", POD),
      makeRecord("2024-05-01T10:00:01.000000000Z", "stdout", "a1", other),
      makeRecord("2024-05-01T10:00:02.000000000Z", "stdout", "b2", POD),
      makeRecord("2024-05-01T10:00:03.000000000Z", "stdout", "a2", other),
    ];
    const streams = msgs(decodeMessage(enc.encode(records)), 1);
    expect(streams).toHaveLength(1); // pod is not a label by default: both pods share a stream
    expect(msgs(streams[0], 2).map((e) => str(e, 2))).toEqual(["a1", "b1", "b2", "a2"]);
  });

  it("survives snappy block compression (Loki's protobuf body)", () => {
    const records = Array.from({ length: 500 }, (_, i) =>
      makeRecord(`2024-05-01T10:00:00.${String(i).padStart(9, "0")}Z`, "stdout", `line ${i} ${"x".repeat(i % 50)}`, POD),
    );
    const body = enc.encode(records);
    const compressed = snappy.compress(body);
    expect(compressed.length).toBeLessThan(body.length);
    expect(Buffer.from(snappy.uncompress(compressed)).equals(body)).toBe(true);
  });

  it("rejects unknown label fields and invalid static label names at start", () => {
    expect(() => new LokiEncoder("protobuf", ["namespace", "pods"], {})).toThrow(/logs.sink.loki.labels.*unknown field "pods"/);
    expect(() => new LokiEncoder("protobuf", [], { "bad-name": "x" })).toThrow(/staticLabels/);
  });

  it("falls back to the source label when no label has a value", () => {
    const e = new LokiEncoder("protobuf", ["namespace"], {});
    const streams = msgs(
      decodeMessage(e.encode([makeRecord("2024-05-01T10:00:00.000000000Z", "", "x", { source: "files", file: "/a" })])),
      1,
    );
    expect(str(streams[0], 1)).toBe('{source="files"}');
  });
});

describe("LokiEncoder json", () => {
  it("writes streams with nanosecond string timestamps and structured metadata objects", () => {
    const enc = new LokiEncoder("json", ["namespace", "pod", "stream"], {});
    const body = JSON.parse(
      enc
        .encode([
          makeRecord("2024-05-01T10:00:00.000000042Z", "stdout", 'say "hi"\n', POD),
          makeRecord("2024-05-01T10:00:00.5Z".replace("5Z", "500000000Z"), "stderr", "e", POD),
        ])
        .toString(),
    ) as { streams: Array<{ stream: Record<string, string>; values: Array<[string, string, Record<string, string>?]> }> };
    expect(body.streams).toHaveLength(2);
    expect(body.streams[0].stream).toEqual({ namespace: "prod", pod: "api-7d9f", stream: "stdout" });
    expect(body.streams[0].values[0][0]).toBe(`${Date.parse("2024-05-01T10:00:00Z") / 1000}000000042`);
    expect(body.streams[0].values[0][1]).toBe('say "hi"\n');
    expect(body.streams[0].values[0][2]).toEqual({
      pod_uid: "0b6c",
      container: "api",
      restart_count: "2",
      node: "node-1",
      source: "pods",
      file: POD.file,
    });
    expect(body.streams[1].stream.stream).toBe("stderr");
  });
});

describe("Loki outcomes and labels", () => {
  it("retries 429 and 5xx only, honouring Retry-After; other statuses are permanent", () => {
    expect(lokiOutcome(204, undefined, "")).toEqual({ kind: "ok" });
    expect(lokiOutcome(429, "7", "slow down")).toMatchObject({ kind: "retry", reason: "status_429", retryAfterMs: 7000 });
    expect(lokiOutcome(503, undefined, "")).toMatchObject({ kind: "retry", reason: "status_5xx" });
    expect(lokiOutcome(408, undefined, "")).toMatchObject({ kind: "reject", status: 408 });
    expect(lokiOutcome(400, undefined, "entry too far behind")).toMatchObject({
      kind: "reject",
      status: 400,
      detail: "entry too far behind",
    });
  });

  it("escapes label values", () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
});
