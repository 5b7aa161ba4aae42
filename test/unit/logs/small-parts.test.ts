import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../agent/config/errors.js";
import { normalizeRfc3339, nowRfc3339, rfc3339FromMicros } from "../../../agent/logs/time.js";
import { resolveSecretValues } from "../../../agent/logs/sinks/shared/secrets.js";
import { NdjsonEncoder } from "../../../agent/logs/sinks/shared/ndjson.js";
import { makeRecord } from "../../../agent/logs/record.js";
import { parseJournalEntry } from "../../../agent/logs/sources/journald.js";
import { fixture } from "./helpers.js";

describe("RFC 3339 times", () => {
  it("normalizes to UTC with nine fractional digits", () => {
    expect(normalizeRfc3339("2024-05-01T10:00:00.123456789Z")).toBe("2024-05-01T10:00:00.123456789Z");
    expect(normalizeRfc3339("2024-05-01T10:00:00Z")).toBe("2024-05-01T10:00:00.000000000Z");
    expect(normalizeRfc3339("2024-05-01T10:00:00.5Z")).toBe("2024-05-01T10:00:00.500000000Z");
    expect(normalizeRfc3339("2024-05-01T12:30:00.25+02:30")).toBe("2024-05-01T10:00:00.250000000Z");
    expect(normalizeRfc3339("2024-05-01T00:00:00.1-0100")).toBe("2024-05-01T01:00:00.100000000Z");
    expect(normalizeRfc3339("yesterday")).toBeUndefined();
    expect(normalizeRfc3339("2024-05-01T10:00:00.5xZ")).toBeUndefined();
    expect(normalizeRfc3339("2024-05-01X10:00:00.5Z")).toBeUndefined();
    expect(normalizeRfc3339("2024-05-01T10:00:00.123456789012Z")).toBe("2024-05-01T10:00:00.123456789Z");
  });

  it("formats microseconds and now", () => {
    expect(rfc3339FromMicros(1714557600123456n)).toBe("2024-05-01T10:00:00.123456000Z");
    expect(nowRfc3339()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });
});

describe("secret header values", () => {
  it("reads env: and file: values, keeps literals", () => {
    const got = resolveSecretValues("h", { a: "env:TOKEN", b: "file:/secret", c: "literal" }, { TOKEN: "t0k" }, () => "from-file\n");
    expect(got).toEqual({ a: "t0k", b: "from-file", c: "literal" });
  });

  it("names the header and the variable, never the value", () => {
    expect(() => resolveSecretValues("logs.sink.http.headers", { Authorization: "env:MISSING" }, {})).toThrow(ConfigError);
    expect(() => resolveSecretValues("logs.sink.http.headers", { Authorization: "env:MISSING" }, {})).toThrow(/Authorization.*MISSING/);
    const err = (() => {
      try {
        resolveSecretValues("k", { X: "file:/nope" }, {}, () => {
          throw Object.assign(new Error("no"), { code: "ENOENT" });
        });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toMatch(/k\.X.*\/nope.*ENOENT/);
    expect(() => resolveSecretValues("k", { X: "a\r\nInjected: 1" }, {})).toThrow(/line break/);
  });
});

describe("NdjsonEncoder", () => {
  it("encodes records with origin metadata as JSON lines", () => {
    const origin = {
      source: "pods",
      file: "/var/log/pods/ns_p_u/c/0.log",
      node: "n1",
      kubernetes: { namespace: "ns", podName: "p", podUid: "u", containerName: "c", restartCount: 0 },
    };
    const enc = new NdjsonEncoder();
    const out = enc.encode([
      makeRecord("2024-05-01T10:00:00.000000000Z", "stderr", 'he said "hi"\u0000\n', origin, true),
      makeRecord("2024-05-01T10:00:01.000000000Z", "", "x", { source: "host" }, false, { unit: "a" }),
    ]);
    const lines = out.toString().split("\n");
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0])).toEqual({
      time: "2024-05-01T10:00:00.000000000Z",
      stream: "stderr",
      message: 'he said "hi"\u0000\n',
      truncated: true,
      source: "pods",
      file: "/var/log/pods/ns_p_u/c/0.log",
      node: "n1",
      kubernetes: { namespace: "ns", pod_name: "p", pod_uid: "u", container_name: "c", restart_count: 0 },
    });
    expect(JSON.parse(lines[1])).toEqual({
      time: "2024-05-01T10:00:01.000000000Z",
      stream: "",
      message: "x",
      attributes: { unit: "a" },
      source: "host",
    });
  });
});

describe("journald entries", () => {
  it("parses recorded journalctl -o json output", () => {
    const origin = { source: "journald" };
    const lines = fixture("journald/entries.jsonl").toString().trim().split("\n");
    const parsed = lines.map((l) => parseJournalEntry(l, origin));
    expect(parsed[0]?.record).toMatchObject({
      time: "2024-05-01T10:00:00.123456000Z",
      message: "Started Session 1 of user root.",
      attributes: {
        unit: "systemd-logind.service",
        identifier: "systemd-logind",
        pid: "612",
        priority: "6",
        hostname: "node-1",
        transport: "journal",
      },
    });
    expect(parsed[0]?.cursor).toBe("s=abc;i=1");
    expect(parsed[1]?.record.message).toBe("hi\ufffd!");
    expect(parsed[2]?.record.message).toBe("");
    expect(parsed[3]).toBeUndefined();
  });
});
