import { describe, expect, it } from "vitest";
import { CriDecoder, parseCriLine } from "../../../agent/logs/parsers/cri.js";
import { counterValue, decodeAll, decoderContext, fixture, newMetrics } from "./helpers.js";

describe("parseCriLine", () => {
  it("reads time, stream, partial tag and message offset", () => {
    const line = Buffer.from("2024-05-01T10:00:00.1Z stderr P hello world");
    expect(parseCriLine(line)).toEqual({ time: "2024-05-01T10:00:00.100000000Z", stream: "stderr", partial: true, messageStart: 32 });
  });

  it("rejects lines that are not CRI", () => {
    for (const text of [
      "hello",
      "2024-05-01T10:00:00Z stdin F x",
      "2024-05-01T10:00:00Z stdout X x",
      "2024-05-01 10:00:00Z stdout F x",
      "not-a-time-at-all-xx stdout F x",
    ]) {
      expect(parseCriLine(Buffer.from(text))).toBeUndefined();
    }
  });
});

describe("CriDecoder on a recorded containerd log", () => {
  it("merges P pieces per stream up to F, normalizes times, and forwards non-CRI lines whole", async () => {
    const { registry, metrics } = newMetrics();
    const ctx = decoderContext(metrics);
    const out = decodeAll(new CriDecoder(ctx), fixture("cri/containerd-sample.txt"));
    expect(out.map((o) => [o.record.time, o.record.stream, o.record.message])).toEqual([
      ["2024-05-01T10:00:00.000000001Z", "stdout", "plain full line"],
      ["2024-05-01T10:00:00.100000000Z", "stderr", "short fraction"],
      ["2024-05-01T10:00:01.123456790Z", "stderr", "interleaved stderr"],
      ["2024-05-01T10:00:01.123456789Z", "stdout", "first piece second piece last piece"],
      ["2024-05-01T10:00:02.500000000Z", "stdout", "with offset"],
      ["2024-05-01T10:00:03.000000000Z", "stdout", ""],
      ["2024-05-01T10:00:04.000000000Z", "stdout", "extra tags"],
      ["2000-01-01T00:00:00.000000000Z", "", "not a cri line"],
      ["2024-05-01T10:00:05.000000000Z", "stdout", "héllo wörld ✓"],
    ]);
    // The merged record starts at its first piece's line, so a checkpoint never skips it.
    const merged = out[3];
    expect(merged.start).toBe(fixture("cri/containerd-sample.txt").indexOf("2024-05-01T10:00:01.123456789Z"));
    expect(await counterValue(registry, "nodetap_log_parse_errors_total", { format: "cri" })).toBe(1);
    expect(ctx.warnings).toEqual(["cri"]);
  });

  it("holds a partial record and reports where it starts", () => {
    const { metrics } = newMetrics();
    const d = new CriDecoder(decoderContext(metrics));
    const got: string[] = [];
    d.decode(Buffer.from("2024-05-01T10:00:00Z stdout P abc"), 100, false, (r) => got.push(r.message));
    expect(got).toEqual([]);
    expect(d.pendingStart()).toBe(100);
    d.decode(Buffer.from("2024-05-01T10:00:01Z stdout F def"), 140, false, (r) => got.push(r.message));
    expect(got).toEqual(["abcdef"]);
    expect(d.pendingStart()).toBe(Infinity);
  });

  it("caps a merged record at maxMergedBytes and counts the cut once", async () => {
    const { registry, metrics } = newMetrics();
    const d = new CriDecoder(decoderContext(metrics, { maxMergedBytes: 10 }));
    const got: Array<[string, boolean]> = [];
    for (let i = 0; i < 5; i++) d.decode(Buffer.from("2024-05-01T10:00:00Z stdout P 12345"), i * 40, false, () => undefined);
    d.decode(Buffer.from("2024-05-01T10:00:00Z stdout F end"), 200, false, (r) => got.push([r.message, r.truncated]));
    expect(got).toEqual([["1234512345", true]]);
    expect(await counterValue(registry, "nodetap_log_lines_truncated_total", { reason: "merged" })).toBe(1);
  });
});
