import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allStrings, cfg, one, outcome, rec, T0 } from "./helpers.js";

describe("json", () => {
  it("fields become attributes; level, time and message are mapped", async () => {
    const { apply, registry } = one(cfg("json"));
    const out = apply('{"level":"WARNING","time":"2024-05-01T12:00:00.5+02:00","msg":"disk low","free":12,"ok":false,"who":null}')!;
    expect(out.message).toBe("disk low");
    expect(out.time).toBe("2024-05-01T10:00:00.500000000Z");
    expect(out.attributes).toEqual({ free: "12", ok: "false", who: "null", severity: "warn" });
    expect(await outcome(registry, "json-0", "parsed")).toBe(1);
  });

  it("merges over the record's attributes without changing them", () => {
    const { apply } = one(cfg("json"));
    const attributes = Object.freeze({ unit: "a", free: "old" });
    const input = rec('{"free":1}', { attributes });
    const out = apply(input)!;
    expect(out).not.toBe(input);
    expect(out.attributes).toEqual({ unit: "a", free: "1" });
    expect(input.attributes).toEqual({ unit: "a", free: "old" });
    expect(input.message).toBe('{"free":1}');
    expect(out.origin).toBe(input.origin);
    expect(Object.keys(out).sort()).toEqual(Object.keys(input).sort());
  });

  it("the message stays the line when no message key is there", () => {
    const line = '{"a":"b"}';
    expect(one(cfg("json")).apply(line)!.message).toBe(line);
  });

  it("the first present key of each list wins; the others stay attributes", () => {
    const out = one(cfg("json")).apply('{"severity":"error","level":"debug","message":"m2","msg":"m1","ts":1714557600,"time":"bad"}')!;
    expect(out.attributes?.severity).toBe("debug");
    expect(out.message).toBe("m1");
    // "time" comes first in timeKeys and does not parse: the time stays, the value is kept.
    expect(out.time).toBe(T0);
    expect(out.attributes).toMatchObject({ message: "m2", time: "bad", ts: "1714557600" });
  });

  it("an unrecognized level stays under its key and sets no severity", () => {
    const out = one(cfg("json")).apply('{"lvl":"loud","msg":"x"}')!;
    expect(out.attributes).toEqual({ lvl: "loud" });
  });

  it("pino's numeric level and epoch-millisecond time", () => {
    const out = one(cfg("json")).apply('{"level":50,"time":1714557600123,"msg":"failed"}')!;
    expect(out.attributes).toEqual({ severity: "error" });
    expect(out.time).toBe("2024-05-01T10:00:00.123000000Z");
  });

  it("a message key that is not text stays an attribute", () => {
    const out = one(cfg("json")).apply('{"msg":{"a":1},"message":"text"}')!;
    expect(out.message).toBe("text");
    expect(out.attributes).toEqual({ "msg.a": "1" });
  });

  it("flattens nested objects to maxDepth; deeper values and arrays are JSON text", () => {
    const line = '{"http":{"status":200,"req":{"path":"/x","h":{"a":"b"}}},"tags":["a",1],"e":{}}';
    expect(one(cfg("json")).apply(line)!.attributes).toEqual({
      "http.status": "200",
      "http.req.path": "/x",
      "http.req.h.a": "b",
      tags: '["a",1]',
      e: "{}",
    });
    expect(one(cfg("json", { maxDepth: 2 })).apply(line)!.attributes).toEqual({
      "http.status": "200",
      "http.req": '{"path":"/x","h":{"a":"b"}}',
      tags: '["a",1]',
      e: "{}",
    });
    expect(one(cfg("json", { maxDepth: 1 })).apply(line)!.attributes).toMatchObject({
      http: '{"status":200,"req":{"path":"/x","h":{"a":"b"}}}',
    });
  });

  it("maps a dotted key written flat or nested (ECS log.level)", () => {
    expect(one(cfg("json")).apply('{"log.level":"warn"}')!.attributes).toEqual({ severity: "warn" });
    expect(one(cfg("json")).apply('{"log":{"level":"warn","logger":"x"}}')!.attributes).toEqual({ severity: "warn", "log.logger": "x" });
  });

  it("prefix goes before every field's attribute name, not before severity", () => {
    const out = one(cfg("json", { prefix: "app." })).apply('{"level":"info","user":"ann","lvl":"?"}')!;
    expect(out.attributes).toEqual({ "app.user": "ann", "app.lvl": "?", severity: "info" });
  });

  it("keeps maxFields fields and counts the rest", async () => {
    const { apply, registry } = one(cfg("json", { maxFields: 2 }));
    const out = apply('{"a":1,"b":2,"c":3,"d":{"e":4},"level":"info","msg":"m"}')!;
    expect(out.attributes).toEqual({ a: "1", b: "2", severity: "info" });
    expect(out.message).toBe("m");
    expect(await outcome(registry, "json-0", "fields_dropped")).toBe(2);
  });

  it.each(["not json", "[1,2]", '"text"', "42", "{broken", '{"a":1} trailing', "{}x", ""])(
    "%j is unparsed and goes on unchanged",
    async (line) => {
      const { apply, registry } = one(cfg("json"));
      const input = rec(line);
      expect(apply(input)).toBe(input);
      expect(await outcome(registry, "json-0", "unparsed")).toBe(1);
    },
  );

  it("an empty object changes nothing", () => {
    const input = rec("{}");
    expect(one(cfg("json")).apply(input)).toBe(input);
  });

  it("a line over maxBytes is not parsed (too_large), multi-byte characters counted as bytes", async () => {
    const { apply, registry } = one(cfg("json", { maxBytes: 64 }));
    const big = rec(`{"a":"${"é".repeat(30)}"}`); // 38 characters, 68 bytes
    expect(apply(big)).toBe(big);
    expect(apply(`{"a":"${"e".repeat(30)}"}`)!.attributes).toEqual({ a: "e".repeat(30) });
    expect(await outcome(registry, "json-0", "too_large")).toBe(1);
  });

  it("a 1 MB line is too_large without being parsed", async () => {
    const { apply, registry } = one(cfg("json"));
    const line = `{"a":"${"x".repeat(1 << 20)}"}`;
    const input = rec(line);
    const parse = JSON.parse;
    let parsed = 0;
    JSON.parse = ((...args: Parameters<typeof parse>) => {
      parsed++;
      return parse(...args);
    }) as typeof JSON.parse;
    try {
      expect(apply(input)).toBe(input);
    } finally {
      JSON.parse = parse;
    }
    expect(parsed).toBe(0);
    expect(await outcome(registry, "json-0", "too_large")).toBe(1);
  });

  it("100,000-deep nesting does not overflow: unparsed, or deep values kept", async () => {
    const { apply, registry } = one(cfg("json", { maxBytes: 1 << 20 }));
    const deepArray = `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const input = rec(deepArray);
    expect(apply(input)).toBe(input);
    const deepObject = `{"level":"info",${'"a":{'.repeat(100_000)}${"}".repeat(100_000)}}`;
    const input2 = rec(deepObject);
    expect(apply(input2)).toBe(input2);
    expect(apply("[".repeat(100_000))).not.toBeNull();
    expect(await outcome(registry, "json-0", "unparsed")).toBe(3);
    expect(await outcome(registry, "json-0", "error")).toBe(0);
  });

  it("__proto__ and other Object.prototype names are plain attributes", () => {
    const out = one(cfg("json")).apply('{"__proto__":{"x":1},"constructor":"c","toString":"t","hasOwnProperty":1}')!;
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.getPrototypeOf(out.attributes)).toBe(Object.prototype);
    expect(out.attributes?.["__proto__.x"]).toBe("1");
    expect(Object.keys(out.attributes!).sort()).toEqual(["__proto__.x", "constructor", "hasOwnProperty", "toString"]);
    const flat = one(cfg("json", { maxDepth: 1 })).apply('{"__proto__":{"polluted":true}}')!;
    expect(Object.hasOwn(flat.attributes!, "__proto__")).toBe(true);
    expect(flat.attributes!["__proto__"]).toBe('{"polluted":true}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const prefixed = one(cfg("json", { prefix: "__proto__" })).apply('{"":"v"}')!;
    expect(Object.hasOwn(prefixed.attributes!, "__proto__")).toBe(true);
  });

  it("lone surrogates are kept as text", () => {
    const out = one(cfg("json")).apply('{"msg":"a\\ud800b","k\\udc00":"\\udfff"}')!;
    expect(out.message).toBe("a\ud800b");
    expect(out.attributes).toEqual({ "k\udc00": "\udfff" });
  });

  it("property: any input never throws and gives string attributes", async () => {
    const { apply, registry } = one(cfg("json", { maxDepth: 2, maxFields: 8 }));
    const lines = fc.oneof(
      fc.string({ unit: "binary" }),
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify({ level: "info", msg: "m", v })),
      fc.dictionary(fc.string(), fc.jsonValue()).map((o) => JSON.stringify(o)),
      fc.object().map((o) => {
        try {
          return JSON.stringify(o) ?? "";
        } catch {
          return "";
        }
      }),
    );
    fc.assert(
      fc.property(lines, (line) => {
        const out = apply(rec(line, { attributes: { keep: "me" } }));
        expect(out).not.toBeNull();
        expect(allStrings(out!)).toBe(true);
        expect(out!.attributes?.keep ?? "me").toBeTypeOf("string");
      }),
      { numRuns: 2000 },
    );
    expect(await outcome(registry, "json-0", "error")).toBe(0);
  });
});
