import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CollectorError } from "../../../agent/metrics/collector.js";
import { parsePromText } from "../../../agent/metrics/parsers/prom-text.js";
import { goUint64, parseTextFloat } from "../../../agent/metrics/parsers/prom-text-scanner.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { FIXTURE_ROOT } from "../../helpers/fixtures.js";

const parse = (text: string) => parsePromText(text);
const families = (text: string) => Object.fromEntries(parse(text).families.map((f) => [f.name, f]));
const error = (text: string): string => {
  try {
    parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(CollectorError);
    return (err as Error).message;
  }
  throw new Error(`no error for ${JSON.stringify(text)}`);
};

describe("parsePromText", () => {
  it("reads HELP/TYPE, labels with escapes, blanks and tabs like expfmt", () => {
    const f = families(
      [
        '# HELP a Some \\\\ help\\n with \\"quotes\\" ',
        "# TYPE a gauge",
        "# any other comment",
        "",
        '   a{x="1\\"2\\\\3\\n" ,\ty = ""} 1.5e3',
        'a {x="2",} -Inf',
        "b\t7",
        '"c" 8',
        '{"d", l="v"} 9',
        "# HELP e",
        "e 1",
        "",
      ].join("\n"),
    );
    expect(f.a.help).toBe('Some \\ help\n with "quotes" ');
    expect(f.a.type).toBe("gauge");
    expect(f.a.metrics.map((m) => [m.labelNames, m.labelValues, m.value])).toEqual([
      [["x", "y"], ['1"2\\3\n', ""], 1500],
      [["x"], ["2"], -Infinity],
    ]);
    expect([f.b.type, f.b.metrics[0].value, f.c.metrics[0].value]).toEqual(["untyped", 7, 8]);
    expect([f.d.metrics[0].labelNames, f.d.metrics[0].value]).toEqual([["l"], 9]);
    expect(f.e.help).toBeUndefined(); // "# HELP e" without text sets no help
  });

  it("groups summary and histogram lines by their labels, wherever they are", () => {
    const f = families(
      [
        "# TYPE s summary",
        's{q="a",quantile="0.5"} 1',
        's_sum{q="b"} 20',
        's{q="b",quantile="0.5"} 2',
        's_count{q="a"} 3.9',
        's{q="a",quantile="0.9"} 4',
        's{q="a"} 99',
        "# TYPE h histogram",
        'h_bucket{le="+Inf"} 5',
        'h{le="1"} 2',
        "h_bucket 7",
        "h_count 5",
        "h_sum 1.5",
        "s_total 1",
        "",
      ].join("\n"),
    );
    expect(f.s.metrics.map((m) => [m.labelValues, m.quantiles, m.sum, m.count])).toEqual([
      [
        ["a"],
        [
          [0.5, 1],
          [0.9, 4],
        ],
        0,
        3,
      ],
      [["b"], [[0.5, 2]], 20, 0],
    ]);
    expect(f.h.metrics.map((m) => [m.buckets, m.sum, m.count])).toEqual([
      [
        [
          [Infinity, 5],
          [1, 2],
        ],
        1.5,
        5,
      ],
    ]);
    expect(f.s_total.type).toBe("untyped");
  });

  it("keeps x_sum of a counter x as its own family", () => {
    const f = families("# TYPE x counter\nx 1\nx_sum 2\n");
    expect(Object.keys(f)).toEqual(["x", "x_sum"]);
  });

  it("leaves out families that only have HELP or TYPE", () => {
    expect(parse("# HELP x only help\n# TYPE y gauge_histogram\n").families).toEqual([]);
  });

  it("reports timestamps, which node_exporter refuses", () => {
    const result = parse("a 1 1441205977284\nb 2\n");
    expect(result.hasTimestamps).toBe(true);
    expect(result.families[0].metrics[0].timestampMs).toBe(1441205977284);
  });

  it.each([
    ["a 1", /line 1: unexpected end of input stream/],
    ["# HELP a x", /unexpected end of input stream/],
    ["a 1 \n", /expected integer as timestamp, got ""/],
    ["a 1 2 3\n", /spurious string after timestamp/],
    ["a 1\r\n", /expected float as value, got "1\\r"/],
    ["a 0x10\n", /expected float as value/],
    ["a 1_000\n", /expected float as value/],
    ["a 1e400\n", /expected float as value/],
    ["a\n", /expected float as value, got ""/],
    ["1a 1\n", /invalid metric name/],
    ['"a.b" 1\n', /invalid metric name "a.b"/],
    ["# HELP 1a x\n", /invalid metric name in comment/],
    ["# HELP a x\n# HELP a y\n", /line 2: second HELP line for metric name "a"/],
    ["a 1\n# TYPE a gauge\n", /line 2: second TYPE line for metric name "a", or TYPE reported after samples/],
    ["# TYPE a counter \n", /unknown metric type "counter "/],
    ["# TYPE a gauge_histogram\na 1\n", /unexpected type for metric name "a"/],
    ['a{b="1",b="2"} 1\n', /duplicate label names/],
    ['a{__name__="x"} 1\n', /reserved/],
    ['a{b="\\x"} 1\n', /invalid escape sequence/],
    ['a{b="x\n"} 1\n', /contains unescaped new-line/],
    ["a{b=1} 1\n", /expected '"' at start of label value/],
    ["a{b} 1\n", /expected '=' after label name/],
    ['a{b="1" c="2"} 1\n', /unexpected end of label value/],
    ['{b="1"} 1\n', /invalid metric name/],
    ['# TYPE s summary\ns{quantile="x"} 1\n', /expected float as value for 'quantile' label/],
    ["# HELP a bad \\t escape\n", /invalid escape sequence/],
  ])("rejects %j", (text, message) => {
    expect(error(text)).toMatch(message);
  });

  it("rejects U+FFFD in label values only when the bytes were not valid UTF-8", () => {
    expect(parsePromText('a{l="\uFFFD"} 1\n').families[0].metrics[0].labelValues).toEqual(["\uFFFD"]);
    expect(() => parsePromText('a{l="\uFFFD"} 1\n', { invalidUtf8: true })).toThrow(/invalid label value/);
    expect(parsePromText("# HELP a \uFFFD\na 1\n", { invalidUtf8: true }).families[0].help).toBe("\uFFFD");
  });

  it("reads every fixture .prom file", () => {
    const root = path.join(FIXTURE_ROOT, "textfile");
    let files = 0;
    for (const dir of fs.readdirSync(root).filter((d) => !d.endsWith(".out"))) {
      for (const file of fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith(".prom"))) {
        expect(parse(fs.readFileSync(path.join(root, dir, file), "utf8")).families.length).toBeGreaterThan(0);
        files++;
      }
    }
    expect(files).toBe(17);
  });

  it("never throws anything but CollectorError on bad input", () => {
    const seed = fs.readFileSync(path.join(FIXTURE_ROOT, "textfile/summary_extra_dimension/metrics.prom"), "utf8");
    checkParserOnBadInput(parse, seed);
    checkParserOnBadInput(parse, fs.readFileSync(path.join(FIXTURE_ROOT, "textfile/histogram/metrics.prom"), "utf8"));
    checkParserOnBadInput((t) => parsePromText(t, { invalidUtf8: true }), '# HELP x y\n{"x", a="b"} 1\nx{a="c"} 2 3\n');
  });
});

describe("value conversions", () => {
  it("parseTextFloat follows expfmt (no hex, no underscores)", () => {
    expect(parseTextFloat("1.5e3")).toBe(1500);
    expect(parseTextFloat("+Inf")).toBe(Infinity);
    expect(parseTextFloat("NaN")).toBeNaN();
    expect(parseTextFloat("0x1p3")).toBeUndefined();
    expect(parseTextFloat("1_0")).toBeUndefined();
  });

  it("goUint64 converts like Go on amd64", () => {
    expect(goUint64(3.9)).toBe(3);
    expect(goUint64(-1)).toBe(2 ** 64 - 1);
    expect(goUint64(NaN)).toBe(2 ** 63);
    expect(goUint64(Infinity)).toBe(2 ** 63);
  });
});
