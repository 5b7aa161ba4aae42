import { describe, expect, it } from "vitest";
import { DockerDecoder, parseDockerLine } from "../../../agent/logs/parsers/docker.js";
import { counterValue, decodeAll, decoderContext, fixture, newMetrics } from "./helpers.js";

describe("DockerDecoder on a recorded json-file log", () => {
  it("merges 16 KiB pieces, drops the final newline, keeps escapes, forwards bad JSON whole", async () => {
    const { registry, metrics } = newMetrics();
    const out = decodeAll(new DockerDecoder(decoderContext(metrics)), fixture("docker/json-file-sample.txt"));
    expect(
      out.map((o) => [
        o.record.time,
        o.record.stream,
        o.record.message.length > 50 ? `${o.record.message.slice(0, 3)}..${o.record.message.length}` : o.record.message,
      ]),
    ).toEqual([
      ["2024-05-01T10:00:00.123456789Z", "stdout", "hello from docker"],
      ["2024-05-01T10:00:01.000000002Z", "stderr", "oops"],
      ["2024-05-01T10:00:01.000000001Z", "stdout", `AAA..${16384 + 100}`],
      ["2024-05-01T10:00:02.500000000Z", "stdout", 'tab\tand "quotes"'],
      ["2000-01-01T00:00:00.000000000Z", "", '{"broken json'],
    ]);
    expect(out[2].record.message.endsWith("B".repeat(100))).toBe(true);
    expect(await counterValue(registry, "nodetap_log_parse_errors_total", { format: "docker" })).toBe(1);
  });

  it("parses the docker line shape and rejects others", () => {
    expect(parseDockerLine('{"log":"x\\n","stream":"stderr","time":"2024-05-01T10:00:00Z"}')).toEqual({
      log: "x\n",
      stream: "stderr",
      time: "2024-05-01T10:00:00.000000000Z",
    });
    expect(parseDockerLine('{"msg":"x"}')).toBeUndefined();
    expect(parseDockerLine("plain")).toBeUndefined();
  });
});
