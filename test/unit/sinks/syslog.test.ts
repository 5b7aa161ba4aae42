import { describe, expect, it } from "vitest";
import { makeRecord, type LogOrigin } from "../../../agent/logs/record.js";
import { SyslogEncoder, headerField, sdValue, splitFrames, syslogTime, utf8Prefix } from "../../../agent/logs/sinks/syslog/encoder.js";

const POD: LogOrigin = {
  source: "pods",
  file: "/var/log/pods/prod_api_0b6c/api/0.log",
  node: "node-1",
  kubernetes: { namespace: "prod", podName: "api", podUid: "0b6c", containerName: "api", restartCount: 0 },
};
const base = { facility: "local3" as const, appName: "", hostname: "", structuredData: true };

describe("SyslogEncoder (RFC 5424 in octet-counting frames)", () => {
  it("writes PRI, microsecond timestamp, host, app, msgid, structured data and the message", () => {
    const enc = new SyslogEncoder(base, 65536);
    const body = enc.encode([
      makeRecord("2024-05-01T10:00:00.123456789Z", "stderr", 'boom ]"x', POD),
      makeRecord("2024-05-01T10:00:01.000000000Z", "stdout", "ok", POD),
    ]);
    const frames = splitFrames(body).map((f) => f.toString("utf8"));
    expect(frames[0]).toBe(
      '<155>1 2024-05-01T10:00:00.123456Z node-1 api - stderr [k8s@32473 namespace="prod" pod="api" pod_uid="0b6c" container="api" restart_count="0" node="node-1" source="pods" file="/var/log/pods/prod_api_0b6c/api/0.log"] boom ]"x',
    );
    expect(frames[1]).toMatch(/^<158>1 2024-05-01T10:00:01\.000000Z node-1 api - stdout \[k8s@32473 .*\] ok$/);
    // The length prefix counts bytes.
    expect(body.toString("utf8").startsWith(`${Buffer.byteLength(frames[0])} <155>`)).toBe(true);
  });

  it("uses journald priority and unit, and puts journald fields in their own SD element", () => {
    const enc = new SyslogEncoder({ ...base, facility: "daemon" }, 65536);
    const [frame] = splitFrames(
      enc.encode([
        makeRecord("2024-05-01T10:00:00.000000000Z", "", "started", { source: "journald", node: "n1" }, false, {
          priority: "4",
          unit: "kubelet.service",
        }),
      ]),
    );
    expect(frame.toString()).toBe(
      '<28>1 2024-05-01T10:00:00.000000Z n1 kubelet.service - - [k8s@32473 node="n1" source="journald"][journald@32473 priority="4" unit="kubelet.service"] started',
    );
  });

  it("cuts messages at maxMessageBytes on a UTF-8 boundary and counts them per batch", () => {
    const enc = new SyslogEncoder({ ...base, structuredData: false }, 120);
    const long = "é".repeat(200);
    const body = enc.encode([
      makeRecord("2024-05-01T10:00:00.000000000Z", "stdout", long, POD),
      makeRecord("2024-05-01T10:00:00.000000000Z", "stdout", "short", POD),
    ]);
    const [a, b] = splitFrames(body);
    expect(a.length).toBeLessThanOrEqual(120);
    expect(a.toString("utf8")).not.toContain("\uFFFD");
    expect(b.toString("utf8").endsWith(" short")).toBe(true);
    expect(enc.truncatedIn(body)).toBe(1);
  });

  it("sanitizes header fields and escapes SD values", () => {
    expect(headerField("my app", 48)).toBe("my_app");
    expect(headerField("", 48)).toBe("-");
    expect(headerField("x".repeat(60), 48)).toHaveLength(48);
    expect(sdValue('a"b\\c]d')).toBe('a\\"b\\\\c\\]d');
    expect(syslogTime("2024-05-01T10:00:00.123456789Z")).toBe("2024-05-01T10:00:00.123456Z");
    expect(utf8Prefix(Buffer.from("aé"), 2).toString()).toBe("a");
  });
});
