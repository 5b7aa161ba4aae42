import { describe, expect, it } from "vitest";
import { makeRecord, type LogOrigin } from "../../../agent/logs/record.js";
import { BulkEncoder, documentId, expandIndex } from "../../../agent/logs/sinks/elasticsearch/encoder.js";
import { bulkOutcome, bulkRequestOutcome } from "../../../agent/logs/sinks/elasticsearch/response.js";

const POD: LogOrigin = {
  source: "pods",
  file: "/var/log/pods/prod_api_0b6c/api/1.log",
  node: "node-1",
  kubernetes: { namespace: "prod", podName: "api", podUid: "0b6c", containerName: "api", restartCount: 1 },
};

describe("BulkEncoder", () => {
  it("writes one create action and one ECS-style document per record, in order", () => {
    const enc = new BulkEncoder("nodetap-%Y.%m.%d", false);
    const lines = enc
      .encode([
        makeRecord("2024-05-01T23:59:59.999999999Z", "stdout", 'a "q"\nb', POD),
        makeRecord("2024-05-02T00:00:00.000000001Z", "", "host", { source: "host", file: "/var/log/syslog", node: "n1" }, true, {
          unit: "x",
        }),
      ])
      .toString()
      .split("\n");
    expect(lines).toHaveLength(5);
    expect(JSON.parse(lines[0])).toEqual({ create: { _index: "nodetap-2024.05.01" } });
    expect(JSON.parse(lines[1])).toEqual({
      "@timestamp": "2024-05-01T23:59:59.999999999Z",
      message: 'a "q"\nb',
      stream: "stdout",
      log: { file: { path: POD.file } },
      kubernetes: {
        namespace: "prod",
        pod: { name: "api", uid: "0b6c" },
        container: { name: "api", restart_count: 1 },
        node: { name: "node-1" },
      },
      nodetap: { source: "pods" },
    });
    expect(JSON.parse(lines[2])).toEqual({ create: { _index: "nodetap-2024.05.02" } });
    expect(JSON.parse(lines[3])).toEqual({
      "@timestamp": "2024-05-02T00:00:00.000000001Z",
      message: "host",
      log: { file: { path: "/var/log/syslog" } },
      host: { name: "n1" },
      attributes: { unit: "x" },
      nodetap: { source: "host", truncated: true },
    });
  });

  it("adds deterministic ids when asked: same record, same id; any field differs, another id", () => {
    const enc = new BulkEncoder("logs-nodetap-default", true);
    const r = makeRecord("2024-05-01T10:00:00.000000001Z", "stdout", "x", POD);
    const id = (JSON.parse(enc.encode([r]).toString().split("\n")[0]) as { create: { _id: string } }).create._id;
    expect(id).toBe(documentId({ ...r }));
    expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(documentId({ ...r, message: "y" })).not.toBe(id);
    expect(documentId({ ...r, time: "2024-05-01T10:00:00.000000002Z" })).not.toBe(id);
    expect(documentId({ ...r, origin: { ...POD, kubernetes: { ...POD.kubernetes!, restartCount: 2 } } })).not.toBe(id);
    // The file path is not part of a container record's id: a rotated file re-read under its new name keeps its ids.
    expect(documentId({ ...r, origin: { ...POD, file: `${POD.file}.20240501-100000` } })).toBe(id);
  });

  it("refuses invalid index names", () => {
    expect(() => new BulkEncoder("Logs", false)).toThrow(/not a valid index name/);
    expect(() => new BulkEncoder("", false)).toThrow(/must not be empty/);
    expect(expandIndex("a-%Y-%m-%d-%H-%%", "2024-05-01T10:00:00.000000000Z")).toBe("a-2024-05-01-10-%");
  });
});

describe("bulk responses", () => {
  const item = (status: number, error?: object) => ({ create: { status, ...(error ? { error } : {}) } });

  it("errors:false is ok without looking at the items", () => {
    expect(bulkOutcome(Buffer.from('{"took":3,"errors":false,"items":[]}'), 5)).toEqual({ kind: "ok" });
  });

  it("maps items one by one: 409 already stored, 429/5xx retried, other errors rejected with the server's reason", () => {
    const body = {
      errors: true,
      items: [
        item(201),
        item(409, { type: "version_conflict_engine_exception", reason: "document already exists" }),
        item(429, { type: "es_rejected_execution_exception", reason: "rejected execution" }),
        item(400, {
          type: "mapper_parsing_exception",
          reason: "failed to parse field [n]",
          caused_by: { type: "illegal_argument_exception", reason: "For input string" },
        }),
        item(503, { type: "unavailable_shards_exception", reason: "primary shard is not active" }),
      ],
    };
    expect(bulkOutcome(Buffer.from(JSON.stringify(body)), 5)).toEqual({
      kind: "partial",
      retry: [2, 4],
      reject: [
        {
          index: 3,
          reason: "item_400",
          status: 400,
          detail: "mapper_parsing_exception: failed to parse field [n] (caused by illegal_argument_exception: For input string)",
        },
      ],
      notes: [{ outcome: "already_stored", records: 1 }],
      reason: "items_429",
      detail: "2 records to retry, 1 rejected, 1 already stored",
    });
  });

  it("only 409s: ok with the count; item count mismatch or garbage: retry the whole batch", () => {
    expect(bulkOutcome(Buffer.from(JSON.stringify({ errors: true, items: [item(409), item(201)] })), 2)).toEqual({
      kind: "ok",
      notes: [{ outcome: "already_stored", records: 1 }],
    });
    expect(bulkOutcome(Buffer.from(JSON.stringify({ errors: true, items: [item(201)] })), 2)).toMatchObject({
      kind: "retry",
      reason: "bad_response",
    });
    expect(bulkOutcome(Buffer.from("<html>"), 2)).toMatchObject({ kind: "retry", reason: "bad_response" });
  });

  it("whole-request statuses: 429/5xx retry with Retry-After, 413 and 4xx reject", () => {
    expect(bulkRequestOutcome(200, undefined, "")).toBeUndefined();
    expect(bulkRequestOutcome(429, "3", "")).toMatchObject({ kind: "retry", retryAfterMs: 3000 });
    expect(bulkRequestOutcome(503, undefined, "")).toMatchObject({ kind: "retry", reason: "status_5xx" });
    expect(bulkRequestOutcome(413, undefined, "")).toMatchObject({ kind: "reject", status: 413 });
    expect(bulkRequestOutcome(401, undefined, "unauthorized")).toMatchObject({ kind: "reject", status: 401, detail: "unauthorized" });
  });
});
