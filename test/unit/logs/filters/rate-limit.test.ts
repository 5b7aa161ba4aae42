import { describe, expect, it } from "vitest";
import type { LogRecord } from "../../../../agent/logs/record.js";
import { cfg, hostOrigin, outcome, podOf, rec, setup } from "./helpers.js";

function passed(apply: (r: LogRecord, now: number) => LogRecord | null, r: LogRecord, now: number, n: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (apply(r, now) !== null) ok++;
  return ok;
}

describe("rateLimit filter", () => {
  it("lets burst lines through, then linesPerSecond", async () => {
    const { chain, registry } = setup([cfg("rateLimit", { name: "rl", linesPerSecond: 10, burst: 20 })]);
    const apply = chain.apply.bind(chain);
    const r = rec("x");
    expect(passed(apply, r, 1000, 30)).toBe(20);
    expect(passed(apply, r, 1500, 10)).toBe(5);
    expect(passed(apply, r, 2500, 20)).toBe(10);
    // Tokens come back up to burst, no more.
    expect(passed(apply, r, 100_000, 50)).toBe(20);
    expect(await outcome(registry, "rl", "rate_limited")).toBe(10 + 5 + 10 + 30);
  });

  it("burst 0 is linesPerSecond rounded up", () => {
    const { chain } = setup([cfg("rateLimit", { linesPerSecond: 2.5 })]);
    expect(passed(chain.apply.bind(chain), rec("x"), 0, 10)).toBe(3);
  });

  it("a clock going back gives no tokens", () => {
    const { chain } = setup([cfg("rateLimit", { linesPerSecond: 1, burst: 1 })]);
    const r = rec("x");
    expect(passed(chain.apply.bind(chain), r, 10_000, 1)).toBe(1);
    expect(passed(chain.apply.bind(chain), r, 5_000, 1)).toBe(0);
    expect(passed(chain.apply.bind(chain), r, 10_500, 1)).toBe(0);
    expect(passed(chain.apply.bind(chain), r, 11_000, 1)).toBe(1);
  });

  it("each container has its own bucket; per pod, namespace and file share", () => {
    const a = podOf("ns", "p", "a");
    const b = podOf("ns", "p", "b");
    const other = podOf("ns2", "q", "a");
    const count = (per: "container" | "pod" | "namespace" | "file") => {
      const { chain } = setup([cfg("rateLimit", { linesPerSecond: 1, burst: 1, per })]);
      return [a, b, other, hostOrigin].map((origin) => passed(chain.apply.bind(chain), rec("x", { origin }), 0, 3));
    };
    expect(count("container")).toEqual([1, 1, 1, 1]);
    expect(count("pod")).toEqual([1, 0, 1, 1]);
    expect(count("namespace")).toEqual([1, 0, 1, 1]);
    expect(count("file")).toEqual([1, 1, 1, 1]);
  });

  it("warns on a key's first drop in 10 s with the number dropped since", () => {
    const { chain, logs } = setup([cfg("rateLimit", { name: "rl", linesPerSecond: 1, burst: 1 })]);
    const r = rec("x");
    passed(chain.apply.bind(chain), r, 0, 5); // 4 dropped: one warning
    passed(chain.apply.bind(chain), r, 5_000, 5); // 4 dropped (1 passes): no warning yet
    passed(chain.apply.bind(chain), r, 10_000, 3); // warning: 4 + 4 + 1
    const warnings = logs.filter((l) => l.level === 40);
    expect(warnings.map((w) => [w.filter, w.key, w.dropped])).toEqual([
      ["rl", "ns/pod/c", 1],
      ["rl", "ns/pod/c", 8],
    ]);
  });

  it("sweeps buckets that stayed full for a minute", () => {
    const { chain } = setup([cfg("rateLimit", { linesPerSecond: 100, burst: 100 })]);
    for (let i = 0; i < 1000; i++) chain.apply(rec("x", { origin: podOf("ns", `p${i}`, "c") }), 0);
    const filter = (chain as unknown as { filters: Array<{ size: number }> }).filters[0];
    expect(filter.size).toBe(1000);
    chain.apply(rec("x", { origin: podOf("ns", "busy", "c") }), 30_000);
    expect(filter.size).toBe(1001);
    // Swept every 10 s; full since 10 ms, for 54.99 s: kept.
    chain.apply(rec("x", { origin: podOf("ns", "busy", "c") }), 55_000);
    expect(filter.size).toBe(1001);
    // Full for over a minute: gone; the busy bucket stays.
    chain.apply(rec("x", { origin: podOf("ns", "busy", "c") }), 71_000);
    expect(filter.size).toBe(1);
  });
});
