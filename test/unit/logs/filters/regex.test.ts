import fc from "fast-check";
import pino from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../../agent/config/errors.js";
import { FilterChain } from "../../../../agent/logs/filters/chain.js";
import { allStrings, cfg, one, outcome, rec, T0 } from "./helpers.js";

const NGINX = "^(?<time>\\S+) (?<severity>\\w+) (?<status>\\d{3})? ?(?<message>.*)$";

function errorOf(pattern: string): ConfigError {
  try {
    new FilterChain([cfg("regex", { pattern })], { registry: new Registry(), logger: pino({ level: "silent" }) });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("no ConfigError");
}

describe("regex filter", () => {
  it("named groups become attributes; severity, time and message groups are mapped", async () => {
    const { apply, registry } = one(cfg("regex", { pattern: NGINX }));
    const out = apply("2024-05-01T10:00:00.25Z WARNING 503 upstream timed out")!;
    expect(out.message).toBe("upstream timed out");
    expect(out.time).toBe("2024-05-01T10:00:00.250000000Z");
    expect(out.attributes).toEqual({ status: "503", severity: "warn" });
    expect(await outcome(registry, "regex-0", "parsed")).toBe(1);
  });

  it("a group that did not take part is left out", () => {
    const out = one(cfg("regex", { pattern: NGINX })).apply("x INFO hello")!;
    expect(out.attributes).toEqual({ severity: "info", time: "x" });
    expect(out.time).toBe(T0);
  });

  it("an unrecognized level stays under its group's name", () => {
    const out = one(cfg("regex", { pattern: "^(?<severity>\\w+): (?<message>.*)" })).apply("LOUD: hi")!;
    expect(out.attributes).toEqual({ severity: "LOUD" });
    expect(out.message).toBe("hi");
  });

  it("other group names for the mapping; an empty one maps nothing", () => {
    const f = cfg("regex", { pattern: "^(?<lvl>\\w) (?<text>.*)", severityGroup: "lvl", messageGroup: "", timeGroup: "" });
    expect(one(f).apply("E oops")!.attributes).toEqual({ text: "oops", severity: "error" });
    expect(one(f).apply("E oops")!.message).toBe("E oops");
  });

  it("a message that does not match goes on unchanged", async () => {
    const { apply, registry } = one(cfg("regex", { pattern: "^(?<a>\\d+)$" }));
    const input = rec("abc");
    expect(apply(input)).toBe(input);
    expect(await outcome(registry, "regex-0", "unparsed")).toBe(1);
  });

  it("Go-style leading flags", () => {
    expect(one(cfg("regex", { pattern: "(?i)^(?<w>ERROR)" })).apply("error here")!.attributes).toEqual({ w: "error" });
  });

  it.each([
    ["", "is required"],
    ["(", "not a valid regular expression"],
    ["^\\d+$", "no named group"],
    ["(\\d+) (?:x)", "no named group"],
  ])("%j is a ConfigError on logs.filters[0].pattern", (pattern, problem) => {
    const err = errorOf(pattern);
    expect(err.key).toBe("logs.filters[0].pattern");
    expect(err.problem).toContain(problem);
  });

  it("property: any input never throws and gives string attributes", async () => {
    const { apply, registry } = one(
      cfg("regex", { pattern: "^(?<time>\\S*)\\s*(?<severity>\\S*)\\s*(?<__proto__x>[a-z]+)?(?<message>.*)$" }),
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (line) => {
        const out = apply(rec(line));
        expect(out).not.toBeNull();
        expect(allStrings(out!)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    expect(await outcome(registry, "regex-0", "error")).toBe(0);
  });
});
