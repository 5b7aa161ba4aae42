import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { readHostFile, readRequiredHostFile, readSysAttribute } from "../../../agent/metrics/host-file.js";
import { MalformedLines } from "../../../agent/metrics/malformed-lines.js";
import { FamilyCollector } from "../../../agent/metrics/model.js";
import { noProblems, noteProblem } from "../../../agent/metrics/parsers/parse-problems.js";
import {
  firstField,
  parseDecimal,
  parseHex,
  parseUnsigned,
  quoteExcerpt,
  splitFields,
  splitLines,
} from "../../../agent/metrics/parsers/text.js";
import { sanitizeMetricName } from "../../../agent/metrics/parsers/metric-name.js";

let dir = "";
afterEach(() => {
  if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
  dir = "";
});

function file(name: string, content: string): string {
  if (dir === "") dir = fs.mkdtempSync(path.join(os.tmpdir(), "nodetap-support-"));
  fs.writeFileSync(path.join(dir, name), content);
  return path.join(dir, name);
}

describe("MalformedLines", () => {
  it("emits a cumulative counter per file only once something was skipped, and warns once per distinct problem", () => {
    const warnings: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => warnings.push(line) });
    const lines = new MalformedLines("meminfo", logger);
    const empty = new FamilyCollector();
    lines.record("/proc/meminfo", noProblems());
    lines.emit(empty);
    expect(empty.families.size).toBe(0);

    const problems = noProblems();
    noteProblem(problems, 2, "MemFree: x kB", "value is not a number");
    lines.record("/proc/meminfo", problems);
    lines.record("/proc/meminfo", problems);
    const out = new FamilyCollector();
    lines.emit(out);
    const family = out.families.get("nodetap_collector_malformed_lines_total")!;
    expect(family.desc.type).toBe("counter");
    expect(family.samples).toEqual([{ labelValues: ["meminfo", "/proc/meminfo"], value: 2 }]);
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0])).toMatchObject({
      collector: "meminfo",
      file: "/proc/meminfo",
      first: 'line 3: "MemFree: x kB": value is not a number',
    });
  });

  it("shortens a huge malformed line in the description", () => {
    const problems = noProblems();
    noteProblem(problems, 0, "x".repeat(10_000), "bad");
    expect(problems.first!.length).toBeLessThan(200);
  });
});

describe("host file readers", () => {
  it("returns undefined for a missing file and a CollectorError naming the file otherwise", () => {
    expect(readHostFile("/nonexistent/file")).toBeUndefined();
    expect(() => readRequiredHostFile("/nonexistent/file")).toThrow(/\/nonexistent\/file: file not found/);
    const big = file("big", "x".repeat(100));
    expect(() => readHostFile(big, 10)).toThrow(CollectorError);
  });

  it("reads a trimmed attribute, also past the one-page buffer, and undefined when unreadable", () => {
    expect(readSysAttribute(file("attr", " 42\n"))).toBe("42");
    expect(readSysAttribute(file("long", "y".repeat(10_000)))).toHaveLength(10_000);
    expect(readSysAttribute("/nonexistent")).toBeUndefined();
    expect(readSysAttribute(os.tmpdir())).toBeUndefined(); // EISDIR
  });
});

describe("text helpers", () => {
  it("split like Go's strings.Fields and bufio lines", () => {
    expect(splitFields(" a\tb  c\n")).toEqual(["a", "b", "c"]);
    expect(splitFields("   ")).toEqual([]);
    expect(firstField("  key value")).toBe("key");
    expect(splitLines("a\nb\n")).toEqual(["a", "b"]);
    expect(splitLines("")).toEqual([]);
  });

  it("parse numbers as strictly as strconv", () => {
    expect([parseUnsigned("123"), parseUnsigned("-1"), parseUnsigned(""), parseUnsigned("1e3"), parseUnsigned("0x10")]).toEqual([
      123,
      NaN,
      NaN,
      NaN,
      NaN,
    ]);
    expect([parseHex("000dfb82"), parseHex("0x1"), parseHex("")]).toEqual([916354, NaN, NaN]);
    expect([
      parseDecimal("0.21"),
      parseDecimal("-3"),
      parseDecimal("1e3"),
      parseDecimal("1.2.3"),
      parseDecimal("Infinity"),
      parseDecimal("."),
    ]).toEqual([0.21, -3, 1000, NaN, NaN, NaN]);
  });

  it("quote text for error messages, cut to a bounded excerpt", () => {
    expect(quoteExcerpt('a "b"')).toBe('"a \\"b\\""');
    expect(quoteExcerpt("x".repeat(40))).toBe(`"${"x".repeat(40)}"`);
    expect(quoteExcerpt("x".repeat(41))).toBe(`"${"x".repeat(40)}..."`);
    expect(quoteExcerpt("y".repeat(61), 60)).toBe(`"${"y".repeat(60)}..."`);
  });

  it("sanitize metric names as node_exporter's SanitizeMetricName", () => {
    expect(sanitizeMetricName("package-0")).toBe("package_0");
    expect(sanitizeMetricName("a_-_b.c")).toBe("a_b_c");
  });
});
