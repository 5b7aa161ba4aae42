import fs from "node:fs";
import { readdirSync, stillMissing } from "../../host/missing-paths.js";
import { CollectorError } from "../collector.js";
import { parseGoFloat } from "../parsers/go-float.js";
import { readSysfsAttribute, type AttributeRead } from "../sysfs-attribute.js";
import type { CounterDir } from "./infiniband-counters.js";

/** Reading and parsing /sys/class/infiniband as procfs's sysfs.InfiniBandClass does, for the infiniband collector (infiniband.ts). */

/**
 * "<id>: <name>" of a port's state and phys_state files (procfs's parseState): exactly one colon,
 * the id a base-10 uint32; undefined otherwise.
 */
export function parseInfiniBandState(text: string): { id: number; name: string } | undefined {
  const parts = text.split(":");
  if (parts.length !== 2) return undefined;
  const idText = parts[0].trim();
  if (!/^\d{1,10}$/.test(idText)) return undefined;
  const id = Number(idText);
  if (id > 0xffffffff) return undefined;
  return { id, name: parts[1].trim() };
}

/**
 * A port's rate file ("100 Gb/sec (4X EDR)") in bytes per second, as procfs's parseRate: the text
 * before the first space parsed as a float32 (Go's ParseFloat(s, 32)) times 125000000, truncated
 * to an integer. undefined where procfs errs, and (unlike Go, whose uint64 conversion of such a
 * float is platform-defined) for a negative, infinite or NaN rate.
 */
export function parseInfiniBandRate(text: string): number | undefined {
  const space = text.indexOf(" ");
  if (space < 0) return undefined;
  const parsed = parseGoFloat(text.slice(0, space + 1).trim());
  if (parsed === undefined || Number.isNaN(parsed)) return undefined;
  const value = Math.fround(parsed);
  if (!Number.isFinite(value) || value < 0) return undefined;
  const rate = Math.trunc(value * 125000000);
  return rate < 2 ** 64 ? rate : undefined;
}

export const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * A counter value as procfs's ValueParser.PUInt64: Go's strconv.ParseUint(text, 0, 64) (decimal,
 * or 0x/0o/0b/leading-0 prefixed, underscores between digits), as a BigInt; undefined where Go errs.
 */
export function parseCounterValue(text: string): bigint | undefined {
  const n = text.length;
  if (n === 0) return undefined;
  if (n <= 15 && /^(0|[1-9]\d*)$/.test(text)) return BigInt(text);
  let base = 10;
  let i = 0;
  let prefix = "";
  if (text[0] === "0" && n > 1) {
    const marker = text[1].toLowerCase();
    if (marker === "x" || marker === "o" || marker === "b") {
      base = marker === "x" ? 16 : marker === "o" ? 8 : 2;
      prefix = `0${marker}`;
      i = 2;
    } else {
      base = 8;
      prefix = "0o";
      i = 1;
    }
  }
  let digits = "";
  let lastWasDigit = i > 0;
  let lastWasUnderscore = false;
  for (; i < n; i++) {
    const c = text[i];
    if (c === "_") {
      if (!lastWasDigit) return undefined;
      lastWasDigit = false;
      lastWasUnderscore = true;
      continue;
    }
    const digit = parseInt(c, 36);
    if (Number.isNaN(digit) || digit >= base) return undefined;
    digits += c;
    lastWasDigit = true;
    lastWasUnderscore = false;
  }
  if (lastWasUnderscore || digits === "") return undefined;
  const value = BigInt(prefix === "" ? digits : prefix + digits);
  return value > MAX_UINT64 ? undefined : value;
}

/** procfs's SysReadFile reads at most 128 bytes of an attribute. */
export const SYS_READ_MAX = 128;

/** The whole collector reports nothing, as node_exporter does when procfs returns a "not exist" error. */
export class NoInfiniBandData extends Error {}

/**
 * Whether procfs skips a counter file that could not be read: missing, forbidden ("permission"),
 * EOPNOTSUPP from read(2), and (counters/ only) EINVAL.
 */
export function skippedReadError(read: AttributeRead & { errno: string }, dir: CounterDir): boolean {
  const { errno, during } = read;
  if (errno === "ENOENT" || errno === "EACCES" || errno === "EPERM") return true;
  if (during === "read" && (errno === "EOPNOTSUPP" || errno === "ENOTSUP")) return true;
  return dir === "counters" && errno === "EINVAL";
}

/** Directory entries; undefined when the directory does not exist (ENOENT). Other errors throw. */
export function readDirectory(dir: string): fs.Dirent[] | undefined {
  if (stillMissing(dir)) return undefined;
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CollectorError(`${dir}: ${(err as Error).message}`, { cause: err });
  }
}

export function byName(a: fs.Dirent, b: fs.Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** A file procfs requires: missing means no data at all, another error fails the scrape. */
export function readRequired(file: string, maxBytes = 4096): string {
  const read = readSysfsAttribute(file, maxBytes);
  if (read.text !== undefined) return read.text;
  if (read.errno === "ENOENT") throw new NoInfiniBandData(`${file}: no such file`);
  throw new CollectorError(`${file}: ${read.errno}`);
}
