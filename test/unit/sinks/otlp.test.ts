import { describe, expect, it } from "vitest";
import { makeRecord, type LogOrigin } from "../../../agent/logs/record.js";
import { OtlpEncoder } from "../../../agent/logs/sinks/otlp/encoder.js";
import { errorMessageOf, otlpOutcome, partialSuccessOf } from "../../../agent/logs/sinks/otlp/response.js";
import { ProtoWriter } from "../../../agent/logs/sinks/shared/protobuf.js";
import { VERSION } from "../../../agent/version.js";
import { decodeMessage, msgs, num, str, type ProtoFields } from "./proto-reader.js";

const POD: LogOrigin = {
  source: "pods",
  file: "/var/log/pods/prod_api-7d9f_0b6c/api/2.log",
  node: "node-1",
  kubernetes: { namespace: "prod", podName: "api-7d9f", podUid: "0b6c", containerName: "api", restartCount: 2 },
};
const JOURNAL: LogOrigin = { source: "journald", node: "node-1" };
const OBSERVED = 1_700_000_000_123_456_789n;

function anyValue(v: ProtoFields): string | bigint | undefined {
  return str(v, 1) ?? (v.has(3) ? num(v, 3) : undefined);
}
function attrs(list: ProtoFields[]): Record<string, string | bigint | undefined> {
  return Object.fromEntries(list.map((kv) => [str(kv, 1), anyValue(msgs(kv, 2)[0])]));
}

describe("OtlpEncoder protobuf", () => {
  const enc = new OtlpEncoder("protobuf", { "k8s.cluster.name": "c1" }, undefined, () => OBSERVED);

  it("maps origins to resources by the k8s semantic conventions and records to LogRecords", () => {
    const req = decodeMessage(
      enc.encode([
        makeRecord("2024-05-01T10:00:00.123456789Z", "stderr", "boom", POD, true),
        makeRecord("2024-05-01T10:00:01.000000000Z", "", "unit started", JOURNAL, false, { priority: "3", unit: "kubelet.service" }),
        makeRecord("2024-05-01T10:00:02.000000000Z", "stdout", "ok", POD),
      ]),
    );
    const rls = msgs(req, 1);
    expect(rls).toHaveLength(2);
    expect(attrs(msgs(msgs(rls[0], 1)[0], 1))).toEqual({
      "k8s.namespace.name": "prod",
      "k8s.pod.name": "api-7d9f",
      "k8s.pod.uid": "0b6c",
      "k8s.container.name": "api",
      "k8s.container.restart_count": 2n,
      "k8s.node.name": "node-1",
      "k8s.cluster.name": "c1",
    });
    const scopeLogs = msgs(rls[0], 2)[0];
    const scope = msgs(scopeLogs, 1)[0];
    expect([str(scope, 1), str(scope, 2)]).toEqual(["nodetap", VERSION]);
    const [first, third] = msgs(scopeLogs, 2);
    expect(num(first, 1)).toBe(BigInt(Date.parse("2024-05-01T10:00:00Z")) * 1_000_000n + 123456789n);
    expect(num(first, 11)).toBe(OBSERVED);
    expect(first.has(2)).toBe(false); // no severity for container lines
    expect(str(msgs(first, 5)[0], 1)).toBe("boom");
    expect(attrs(msgs(first, 6))).toEqual({ "log.file.path": POD.file, "log.iostream": "stderr", "nodetap.truncated": "true" });
    expect(str(msgs(third, 5)[0], 1)).toBe("ok");
    const journal = msgs(msgs(rls[1], 2)[0], 2)[0];
    expect([num(journal, 2), str(journal, 3)]).toEqual([17n, "err"]);
    expect(attrs(msgs(journal, 6))).toEqual({ priority: "3", unit: "kubelet.service" });
  });
});

describe("OtlpEncoder json", () => {
  it("writes OTLP/JSON: camelCase, 64-bit integers as strings, enums as numbers", () => {
    const enc = new OtlpEncoder("json", {}, undefined, () => OBSERVED);
    const body = JSON.parse(enc.encode([makeRecord("2024-05-01T10:00:00.000000042Z", "stdout", 'a "b"', POD)]).toString()) as {
      resourceLogs: Array<{
        resource: { attributes: unknown[] };
        scopeLogs: Array<{ scope: unknown; logRecords: Array<Record<string, unknown>> }>;
      }>;
    };
    const rl = body.resourceLogs[0];
    expect(rl.resource.attributes).toContainEqual({ key: "k8s.container.restart_count", value: { intValue: "2" } });
    expect(rl.resource.attributes).toContainEqual({ key: "k8s.pod.uid", value: { stringValue: "0b6c" } });
    expect(rl.scopeLogs[0].scope).toEqual({ name: "nodetap", version: VERSION });
    expect(rl.scopeLogs[0].logRecords[0]).toEqual({
      timeUnixNano: `${Date.parse("2024-05-01T10:00:00Z") / 1000}000000042`,
      observedTimeUnixNano: OBSERVED.toString(),
      body: { stringValue: 'a "b"' },
      attributes: [
        { key: "log.file.path", value: { stringValue: POD.file } },
        { key: "log.iostream", value: { stringValue: "stdout" } },
      ],
    });
  });
});

describe("OTLP replies", () => {
  it("reads partial_success from protobuf and JSON responses", () => {
    const w = new ProtoWriter();
    const ps = w.begin(1);
    w.varint(1, 3);
    w.string(2, "3 records too old");
    w.end(ps);
    expect(partialSuccessOf(w.finish(), false)).toEqual({ rejected: 3, message: "3 records too old" });
    expect(partialSuccessOf(Buffer.from('{"partialSuccess":{"rejectedLogRecords":"2","errorMessage":"x"}}'), true)).toEqual({
      rejected: 2,
      message: "x",
    });
    expect(partialSuccessOf(Buffer.from("{}"), true)).toBeUndefined();
    expect(partialSuccessOf(Buffer.alloc(0), false)).toBeUndefined();
  });

  it("retries only 429, 502, 503 and 504", () => {
    for (const s of [429, 502, 503, 504]) expect(otlpOutcome(s, "2", "").kind).toBe("retry");
    expect(otlpOutcome(429, "2", "")).toMatchObject({ retryAfterMs: 2000 });
    for (const s of [400, 401, 403, 404, 408, 413, 500, 501]) expect(otlpOutcome(s, undefined, "").kind).toBe("reject");
    expect(otlpOutcome(200, undefined, "")).toEqual({ kind: "ok" });
  });

  it("takes the error message from a google.rpc.Status body", () => {
    const w = new ProtoWriter();
    w.varint(1, 3);
    w.string(2, "invalid body");
    expect(errorMessageOf(w.finish(), "application/x-protobuf")).toBe("invalid body");
    expect(errorMessageOf(Buffer.from('{"code":3,"message":"bad json"}'), "application/json")).toBe("bad json");
    expect(errorMessageOf(Buffer.from("plain text\n"), "text/plain")).toBe("plain text");
  });
});
