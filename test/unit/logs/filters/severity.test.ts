import { describe, expect, it } from "vitest";
import { normalizeSeverity, severityNameOf, severityOf, SEVERITY_NUMBERS } from "../../../../agent/logs/filters/severity.js";
import { journalOrigin, rec } from "./helpers.js";

describe("normalizeSeverity", () => {
  it.each([
    ["info", "info"],
    ["INFO", "info"],
    ["Info", "info"],
    ["iNfO", "info"],
    [" info ", "info"],
    ["information", "info"],
    ["Informational", "info"],
    ["notice", "info"],
    ["warn", "warn"],
    ["WARNING", "warn"],
    ["W", "warn"],
    ["err", "error"],
    ["ERROR", "error"],
    ["E", "error"],
    ["severe", "error"],
    ["crit", "fatal"],
    ["critical", "fatal"],
    ["emerg", "fatal"],
    ["emergency", "fatal"],
    ["alert", "fatal"],
    ["panic", "fatal"],
    ["FATAL", "fatal"],
    ["dbg", "debug"],
    ["D", "debug"],
    ["DEBUG", "debug"],
    ["trc", "trace"],
    ["trace", "trace"],
    ["I", "info"],
    ["10", "trace"],
    ["20", "debug"],
    ["30", "info"],
    ["40", "warn"],
    ["50", "error"],
    ["60", "fatal"],
  ])("%j -> %s", (text, name) => {
    expect(normalizeSeverity(text)).toBe(name);
  });

  it.each(["", "verbose-ish", "levelinfo", "35", "3", "information-overload", "x".repeat(100), "__proto__", "toString", "constructor"])(
    "%j is no level",
    (text) => {
      expect(normalizeSeverity(text)).toBeUndefined();
    },
  );

  it("numbers are OTLP's", () => {
    expect(SEVERITY_NUMBERS).toEqual({ trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 });
  });
});

describe("severityOf", () => {
  it("reads the attribute severity", () => {
    expect(severityOf(rec("x", { attributes: { severity: "warn" } }))).toBe(13);
    expect(severityOf(rec("x", { attributes: { severity: "WARNING" } }))).toBe(13);
    expect(severityOf(rec("x"))).toBeUndefined();
    expect(severityOf(rec("x", { attributes: { severity: "bogus" } }))).toBeUndefined();
  });

  it("falls back to journald's priority", () => {
    const byPriority = ["0", "1", "2", "3", "4", "5", "6", "7"].map((p) =>
      severityNameOf(rec("x", { origin: journalOrigin, attributes: { priority: p } })),
    );
    expect(byPriority).toEqual(["fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug"]);
    expect(severityOf(rec("x", { attributes: { priority: "8" } }))).toBeUndefined();
    expect(severityOf(rec("x", { attributes: { priority: "34" } }))).toBeUndefined();
  });

  it("the attribute severity comes before priority", () => {
    expect(severityNameOf(rec("x", { attributes: { severity: "debug", priority: "3" } }))).toBe("debug");
    expect(severityNameOf(rec("x", { attributes: { severity: "nonsense", priority: "3" } }))).toBe("error");
  });
});
