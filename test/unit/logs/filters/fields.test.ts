import pino from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../../agent/config/errors.js";
import { FilterChain } from "../../../../agent/logs/filters/chain.js";
import { cfg, one, rec } from "./helpers.js";

describe("fields filter", () => {
  it("renames, then removes, then adds", () => {
    const { apply } = one(
      cfg("fields", { rename: { a: "b", lvl: "severity" }, remove: ["b2", "gone"], add: { cluster: "prod", b: "set" } }),
    );
    const attributes = Object.freeze({ a: "1", b2: "x", lvl: "WARNING", other: "o" });
    const input = rec("m", { attributes });
    const out = apply(input)!;
    expect(out.attributes).toEqual({ b: "set", severity: "warn", other: "o", cluster: "prod" });
    expect(input.attributes).toBe(attributes);
    expect(out.message).toBe("m");
  });

  it("a record nothing changes is the same object", () => {
    const { apply } = one(cfg("fields", { rename: { x: "y" }, remove: ["z"], add: { a: "1" } }));
    const input = rec("m", { attributes: { a: "1" } });
    expect(apply(input)).toBe(input);
  });

  it("adds to a record without attributes", () => {
    expect(one(cfg("fields", { add: { a: "1" } })).apply("m")!.attributes).toEqual({ a: "1" });
  });

  it("inherited names are not attributes; __proto__ is set as data", () => {
    const { apply } = one(cfg("fields", { rename: { toString: "t" }, remove: ["constructor"], add: { __proto__x: "1" } }));
    const input = rec("m", { attributes: { a: "1" } });
    expect(apply(input)!.attributes).toEqual({ a: "1", __proto__x: "1" });
    const proto = one(cfg("fields", { add: JSON.parse('{"__proto__":"p"}') as Record<string, string> })).apply("m")!;
    expect(Object.hasOwn(proto.attributes!, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(proto.attributes)).toBe(Object.prototype);
  });

  it("a severity added must be a level; it is stored normalized", () => {
    expect(one(cfg("fields", { add: { severity: "ERR" } })).apply("m")!.attributes).toEqual({ severity: "error" });
    const build = () =>
      new FilterChain([cfg("fields", { add: { severity: "loud" } })], { registry: new Registry(), logger: pino({ level: "silent" }) });
    expect(build).toThrow(ConfigError);
    try {
      build();
    } catch (err) {
      expect((err as ConfigError).key).toBe("logs.filters[0].add.severity");
    }
  });
});
