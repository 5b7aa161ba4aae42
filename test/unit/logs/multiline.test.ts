import { describe, expect, it } from "vitest";
import { MultilineDecoder } from "../../../agent/logs/parsers/multiline.js";
import { multilineRuleFactory, type MultilinePreset } from "../../../agent/logs/parsers/multiline-rules.js";
import { PlainDecoder } from "../../../agent/logs/parsers/plain.js";
import { CriDecoder } from "../../../agent/logs/parsers/cri.js";
import type { LogRecord } from "../../../agent/logs/record.js";
import { counterValue, decodeAll, decoderContext, fixture, newMetrics } from "./helpers.js";

function joined(preset: MultilinePreset, file: string, startPattern = ""): string[] {
  const { metrics } = newMetrics();
  const rule = multilineRuleFactory(preset, startPattern);
  if (!rule) throw new Error("no rule");
  const d = new MultilineDecoder(
    new PlainDecoder(decoderContext(metrics)),
    rule,
    { flushAfterMs: 1000, maxLines: 500, maxBytes: 1 << 20 },
    metrics,
  );
  return decodeAll(d, fixture(file)).map((o) => o.record.message);
}

describe("multiline presets on recorded stack traces", () => {
  it("java: the exception, frames and causes join the log line that reported them", () => {
    const recs = joined("java", "multiline/java-stack.txt");
    expect(recs).toHaveLength(4);
    expect(recs[0]).toContain("Starting");
    expect(recs[1].split("\n")).toEqual([
      "2024-05-01 10:00:01.456 ERROR [main] c.e.App - Request failed",
      "java.lang.IllegalStateException: boom",
      "\tat com.example.App.handle(App.java:42)",
      "\tat com.example.App.main(App.java:10)",
      "Caused by: java.io.IOException: disk gone",
      "\tat com.example.Disk.read(Disk.java:7)",
      "\t... 2 more",
    ]);
    expect(recs[2]).toContain("Recovered");
    expect(recs[3]).toBe('Exception in thread "worker" java.lang.NullPointerException\n\tat com.example.Worker.run(Worker.java:3)');
  });

  it("python: a traceback through its exception line, chained tracebacks included", () => {
    const recs = joined("python", "multiline/python-traceback.txt");
    expect(recs[0]).toBe("INFO:root:starting");
    expect(recs[1]).toBe("ERROR:root:failed to handle");
    expect(recs[2].split("\n")[0]).toBe("Traceback (most recent call last):");
    expect(recs[2].endsWith("ValueError: bad value")).toBe(true);
    expect(recs[3]).toBe("INFO:root:continuing");
    expect(recs[4]).toContain("During handling of the above exception");
    expect(recs[4].endsWith("RuntimeError: database unavailable")).toBe(true);
    expect(recs[5]).toBe("INFO:root:done");
    expect(recs).toHaveLength(6);
  });

  it("go: a panic with its goroutine dump", () => {
    const recs = joined("go", "multiline/go-panic.txt");
    expect(recs).toHaveLength(3);
    expect(recs[1].startsWith("panic: runtime error")).toBe(true);
    expect(recs[1].endsWith("exit status 2")).toBe(true);
    expect(recs[1].split("\n")).toHaveLength(8);
  });

  it("custom start pattern", () => {
    const recs = joined("none", "multiline/java-stack.txt", "^\\d{4}-\\d\\d-\\d\\d ");
    expect(recs).toHaveLength(3);
    expect(recs[2]).toContain("Exception in thread");
  });
});

describe("MultilineDecoder limits", () => {
  function make(limits: { flushAfterMs: number; maxLines: number; maxBytes: number }) {
    const { registry, metrics } = newMetrics();
    const rule = multilineRuleFactory("none", "^START")!;
    return { registry, d: new MultilineDecoder(new PlainDecoder(decoderContext(metrics)), rule, limits, metrics) };
  }

  it("emits at maxLines and counts it, then starts a new record", async () => {
    const { registry, d } = make({ flushAfterMs: 1000, maxLines: 3, maxBytes: 1 << 20 });
    const out = decodeAll(d, Buffer.from("START\na\nb\nc\nd\n"));
    expect(out.map((o) => o.record.message)).toEqual(["START\na\nb", "c\nd"]);
    expect(await counterValue(registry, "nodetap_log_multiline_capped_total", { reason: "max_lines" })).toBe(1);
  });

  it("flushes a held record after flushAfter and reports its start offset while held", () => {
    const { d } = make({ flushAfterMs: 50, maxLines: 10, maxBytes: 1 << 20 });
    const got: LogRecord[] = [];
    d.decode(Buffer.from("START x"), 7, false, (r) => got.push(r));
    d.decode(Buffer.from("  more"), 15, false, (r) => got.push(r));
    expect(d.pendingStart()).toBe(7);
    expect(d.flushExpired(Date.now(), (r) => got.push(r))).toBe(0);
    expect(d.flushExpired(Date.now() + 60, (r) => got.push(r))).toBe(1);
    expect(got.map((r) => r.message)).toEqual(["START x\n  more"]);
    expect(d.pendingStart()).toBe(Infinity);
  });

  it("joins per stream on CRI input, keeping the first line's time", () => {
    const { metrics } = newMetrics();
    const d = new MultilineDecoder(
      new CriDecoder(decoderContext(metrics)),
      multilineRuleFactory("java", "")!,
      { flushAfterMs: 1000, maxLines: 100, maxBytes: 1 << 20 },
      metrics,
    );
    const text = [
      "2024-05-01T10:00:00Z stdout F ERROR failed",
      "2024-05-01T10:00:00.1Z stderr F unrelated stderr",
      "2024-05-01T10:00:00.2Z stdout F java.lang.RuntimeException: x",
      "2024-05-01T10:00:00.3Z stdout F \tat a.B.c(B.java:1)",
      "",
    ].join("\n");
    const out = decodeAll(d, Buffer.from(text));
    const byStream = Object.fromEntries(out.map((o) => [o.record.stream, o.record]));
    expect(byStream.stdout.message).toBe("ERROR failed\njava.lang.RuntimeException: x\n\tat a.B.c(B.java:1)");
    expect(byStream.stdout.time).toBe("2024-05-01T10:00:00.000000000Z");
    expect(byStream.stderr.message).toBe("unrelated stderr");
  });
});
