import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { listDir, readClassAttribute } from "../../../agent/metrics/sysfs-class.js";
import { goTrimSpace, isMaxUint64, mulUint64, parseUint64 } from "../../../agent/metrics/parsers/uint64.js";
import { checkParserOnBadInput } from "../../helpers/bad-input.js";
import { hostTree, useHostTrees } from "../../helpers/host-tree.js";

useHostTrees();

describe("parseUint64", () => {
  it("is Go's strconv.ParseUint with base 10", () => {
    expect(parseUint64("0", 10)).toBe(0n);
    expect(parseUint64("18446744073709551615", 10)).toBe(18446744073709551615n);
    for (const bad of ["", "18446744073709551616", "+1", "-0", "0x1", "1_000", " 1"]) expect(parseUint64(bad, 10), bad).toBeUndefined();
  });

  it("is Go's strconv.ParseUint with base 0 (prefixes, underscores between digits)", () => {
    expect(parseUint64("0x1F", 0)).toBe(31n);
    expect(parseUint64("0X_1f", 0)).toBe(31n);
    expect(parseUint64("017", 0)).toBe(15n);
    expect(parseUint64("0_17", 0)).toBe(15n);
    expect(parseUint64("0b101", 0)).toBe(5n);
    expect(parseUint64("0o17", 0)).toBe(15n);
    expect(parseUint64("1_000", 0)).toBe(1000n);
    expect(parseUint64("0", 0)).toBe(0n);
    expect(parseUint64("0xffffffffffffffff", 0)).toBe(18446744073709551615n);
    for (const bad of ["", "0x", "0x_", "_1", "1_", "1__0", "08", "0b2", "+1", "-1", "0x10000000000000000"])
      expect(parseUint64(bad, 0), bad).toBeUndefined();
  });

  it("multiplies modulo 2^64 and recognises 2^64-1", () => {
    expect(mulUint64(1n << 62n, 8n)).toBe(0n);
    expect(mulUint64(3906250000n, 4096n)).toBe(16000000000000n);
    expect(isMaxUint64(18446744073709551615n)).toBe(true);
    expect(isMaxUint64(18446744073709551614n)).toBe(false);
  });

  it("never throws on bad input", () => {
    checkParserOnBadInput((text) => parseUint64(text, 0), "0xffffffffffffffff");
    checkParserOnBadInput((text) => parseUint64(text, 10), "3906250000");
    checkParserOnBadInput(goTrimSpace, " \u0085Online\u00a0\n");
  });
});

describe("goTrimSpace", () => {
  it("trims what Go's unicode.IsSpace trims", () => {
    expect(goTrimSpace(" \t16 Gbit\n")).toBe("16 Gbit");
    expect(goTrimSpace("\u0085x\u00a0\u3000")).toBe("x");
    expect(goTrimSpace("\ufeffx")).toBe("\ufeffx");
    expect(goTrimSpace("\n\n")).toBe("");
  });
});

describe("sysfs class I/O", () => {
  it("reads at most 128 bytes, as procfs's SysReadFile, and trims them", () => {
    const tree = hostTree({ "sys/a": `  ${"x".repeat(200)}`, "sys/b": "Online\n" });
    expect(readClassAttribute(path.join(tree.sysfs, "a")).text).toBe("x".repeat(126));
    expect(readClassAttribute(path.join(tree.sysfs, "b")).text).toBe("Online");
    expect(readClassAttribute(path.join(tree.sysfs, "c"))).toEqual({ errno: "ENOENT", during: "open" });
  });

  it("lists a directory sorted by name, or gives the error code", () => {
    const tree = hostTree({ "sys/d/b": "", "sys/d/a10": "", "sys/d/a2": "" });
    fs.mkdirSync(path.join(tree.sysfs, "d", "C"));
    const listing = listDir(path.join(tree.sysfs, "d"));
    expect(listing.entries?.map((e) => e.name)).toEqual(["C", "a10", "a2", "b"]);
    expect(listDir(path.join(tree.sysfs, "none")).errno).toBe("ENOENT");
    expect(listDir(path.join(tree.sysfs, "d", "b")).errno).toBe("ENOTDIR");
  });
});
