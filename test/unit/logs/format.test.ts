import { describe, expect, it } from "vitest";
import { createFormatDecoder, detectFormat } from "../../../agent/logs/parsers/format.js";
import { decodeAll, decoderContext, fixture, newMetrics } from "./helpers.js";

describe("format auto-detection", () => {
  it("recognizes CRI, docker and plain lines", () => {
    expect(detectFormat(Buffer.from("2024-05-01T10:00:00.000000001Z stdout F x"))).toBe("cri");
    expect(detectFormat(Buffer.from('{"log":"x\\n","stream":"stdout","time":"2024-05-01T10:00:00Z"}'))).toBe("docker");
    expect(detectFormat(Buffer.from('{"level":"info","msg":"json app log"}'))).toBe("plain");
    expect(detectFormat(Buffer.from("May  1 10:00:00 host sshd[1]: Accepted"))).toBe("plain");
  });

  it("decides per file from the first non-empty line", () => {
    const { metrics } = newMetrics();
    const out = decodeAll(
      createFormatDecoder("auto", decoderContext(metrics)),
      Buffer.concat([Buffer.from("\n"), fixture("cri/containerd-sample.txt")]),
    );
    expect(out[0].record.message).toBe("");
    expect(out[1].record).toMatchObject({ stream: "stdout", message: "plain full line" });
    expect(out).toHaveLength(10);
  });
});
