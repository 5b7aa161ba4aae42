import { CollectorError } from "../collector.js";
import { isGoFloat, parseInt64 } from "./numbers.js";
import { quoteExcerpt, splitFields } from "./text.js";

/**
 * /proc/mdstat, parsed with procfs's exact rules (parseMDStat): the file is read as a whole, and
 * a device entry procfs cannot parse makes the whole file unusable (CollectorError), because
 * that is what node_exporter reports. The regular expressions procfs uses are implemented as
 * linear scans with the same leftmost-first, greedy semantics, so that a hostile line cannot
 * make a scrape slow.
 */

export interface MdStat {
  name: string;
  /** active, inactive, or recovering/resyncing/checking/reshaping while a sync runs. */
  activityState: string;
  disksActive: number;
  disksTotal: number;
  disksFailed: number;
  disksSpare: number;
  blocksTotal: number;
  blocksSynced: number;
}

const PERSONALITIES_PREFIX = "Personalities : ";
const MAX_INT32 = 2147483647;

export function parseMdstat(text: string, source = "/proc/mdstat"): MdStat[] {
  const fail = (problem: string): never => {
    throw new CollectorError(`${source}: ${problem}`);
  };
  const stats: MdStat[] = [];
  const lines = text.split("\n");
  const knownRaidTypes = new Set<string>();

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "" || line[0] === " " || line.startsWith("unused")) continue;
    if (knownRaidTypes.size === 0 && line.startsWith(PERSONALITIES_PREFIX)) {
      for (const word of splitFields(line.slice(PERSONALITIES_PREFIX.length))) knownRaidTypes.add(word.slice(1, -1));
      continue;
    }

    const deviceFields = splitFields(line);
    if (deviceFields.length < 3) fail(`line ${i + 1}: expected at least 3 fields, got ${show(line)}`);
    const name = deviceFields[0];
    let state = deviceFields[2];
    let componentsStart = 0;
    if (deviceFields.length > 3) {
      // The personality is the 4th field, or the 5th after a "(read-only)"-style flag.
      if (isRaidType(deviceFields[3], knownRaidTypes)) componentsStart = 4;
      else if (deviceFields.length > 4 && isRaidType(deviceFields[4], knownRaidTypes)) componentsStart = 5;
    }
    if (lines.length <= i + 3) fail(`too few lines for md device ${show(name)}`);

    const status = evalStatusLine(line, lines[i + 1]);
    if (typeof status === "string") fail(`md device ${show(name)}: ${status}`);
    const { active, total, size } = status as StatusLine;

    const syncLine = lines[i + 2].includes("bitmap") ? lines[i + 3] : lines[i + 2];
    let blocksSynced = size;
    const recovering = syncLine.includes("recovery");
    const reshaping = syncLine.includes("reshape");
    const resyncing = syncLine.includes("resync");
    const checking = syncLine.includes("check");
    if (recovering || resyncing || checking || reshaping) {
      state = recovering ? "recovering" : reshaping ? "reshaping" : checking ? "checking" : "resyncing";
      if (syncLine.includes("PENDING") || syncLine.includes("DELAYED")) {
        blocksSynced = 0;
      } else {
        const synced = evalRecoveryLine(syncLine);
        if (typeof synced === "string") fail(`md device ${show(name)}: ${synced}`);
        blocksSynced = synced as number;
      }
    }

    for (let f = componentsStart; f < deviceFields.length; f++) {
      const index = lastBracketedNumber(deviceFields[f]);
      if (index !== undefined && !(parseInt64(index) <= MAX_INT32)) {
        fail(`md device ${show(name)}: component ${show(deviceFields[f])} has an invalid descriptor index`);
      }
    }

    stats.push({
      name,
      activityState: state,
      disksActive: active,
      disksTotal: total,
      disksFailed: count(line, "(F)"),
      disksSpare: count(line, "(S)"),
      blocksTotal: size,
      blocksSynced,
    });
  }
  return stats;
}

function isRaidType(field: string, known: ReadonlySet<string>): boolean {
  return known.has(field) && !field.includes("(") && !field.includes("[");
}

interface StatusLine {
  active: number;
  total: number;
  size: number;
}

/** procfs's evalStatusLine; a string is the reason the line is unusable. */
function evalStatusLine(deviceLine: string, statusLine: string): StatusLine | string {
  const statusFields = splitFields(statusLine);
  if (statusFields.length < 1) return `unexpected status line ${show(statusLine)}`;
  const size = parseInt64(statusFields[0]);
  if (Number.isNaN(size)) return `unexpected status line ${show(statusLine)}`;
  if (deviceLine.includes("raid0") || deviceLine.includes("linear")) {
    // Only member disks carry a [number] on the device line.
    const members = count(deviceLine, "[");
    return { active: members, total: members, size };
  }
  if (deviceLine.includes("inactive")) return { active: 0, total: 0, size };
  const disks = matchStatusDisks(statusLine);
  if (disks === undefined) return `could not find the [n/m] [U_] disk counts in ${show(statusLine)}`;
  const total = parseInt64(disks.total);
  const active = parseInt64(disks.active);
  if (Number.isNaN(total) || Number.isNaN(active)) return `unexpected status line ${show(statusLine)}`;
  return { active, total, size };
}

/**
 * procfs's `(\d+) blocks .*\[(\d+)/(\d+)\] \[([U_]+)\]`: the disk counts of the last
 * "[n/m] [UU_]" group that follows the first "<digits> blocks ".
 */
function matchStatusDisks(line: string): { total: string; active: string } | undefined {
  let blocks = line.indexOf(" blocks ");
  while (blocks !== -1 && !(blocks > 0 && isDigit(line.charCodeAt(blocks - 1)))) blocks = line.indexOf(" blocks ", blocks + 1);
  if (blocks === -1) return undefined;
  const earliest = blocks + " blocks ".length;
  for (let open = line.lastIndexOf("["); open >= earliest; open = line.lastIndexOf("[", open - 1)) {
    const totalEnd = digitsEnd(line, open + 1);
    if (totalEnd === open + 1 || line[totalEnd] !== "/") continue;
    const activeEnd = digitsEnd(line, totalEnd + 1);
    if (activeEnd === totalEnd + 1 || !line.startsWith("] [", activeEnd)) continue;
    let p = activeEnd + 3;
    while (line[p] === "U" || line[p] === "_") p++;
    if (p === activeEnd + 3 || line[p] !== "]") continue;
    return { total: line.slice(open + 1, totalEnd), active: line.slice(totalEnd + 1, activeEnd) };
  }
  return undefined;
}

/** procfs's evalRecoveryLine: the synced block count, or the reason the line is unusable. */
function evalRecoveryLine(line: string): number | string {
  const blocks = firstParenthesizedFraction(line);
  if (blocks === undefined) return `unexpected recovery line ${show(line)}`;
  const synced = parseInt64(blocks[0]);
  if (Number.isNaN(synced) || Number.isNaN(parseInt64(blocks[1]))) return `unexpected recovery line ${show(line)}`;
  // procfs also parses the percentage, finish time and speed, and fails on any of them.
  const pct = greedyCapture(line, "= ", lastOf("%"));
  if (pct === undefined || !isGoFloat(pct.trim())) return `unexpected recovery percentage in ${show(line)}`;
  const finish = greedyCapture(line, "finish=", lastOf("min"));
  if (finish === undefined || !isGoFloat(finish)) return `unexpected recovery finish time in ${show(line)}`;
  const speed = greedyCapture(line, "speed=", lastUppercaseFrom);
  if (speed === undefined || !isGoFloat(speed)) return `unexpected recovery speed in ${show(line)}`;
  return synced;
}

/**
 * `prefix(.+)SUFFIX` with leftmost-first greedy semantics: the text after the first `prefix`
 * up to the last suffix at least one character later. `lastSuffix(line, from)` returns the
 * last suffix position >= from, or -1.
 */
function greedyCapture(line: string, prefix: string, lastSuffix: (line: string, from: number) => number): string | undefined {
  const start = line.indexOf(prefix);
  if (start === -1) return undefined;
  const from = start + prefix.length;
  const end = lastSuffix(line, from + 1);
  return end === -1 ? undefined : line.slice(from, end);
}

function lastOf(suffix: string): (line: string, from: number) => number {
  return (line, from) => {
    const at = line.lastIndexOf(suffix);
    return at >= from ? at : -1;
  };
}

function lastUppercaseFrom(line: string, from: number): number {
  for (let i = line.length - 1; i >= from; i--) {
    const c = line.charCodeAt(i);
    if (c >= 65 && c <= 90) return i;
  }
  return -1;
}

/** procfs's `\((\d+/\d+)\)`: the first "(n/m)". */
function firstParenthesizedFraction(line: string): [string, string] | undefined {
  for (let open = line.indexOf("("); open !== -1; open = line.indexOf("(", open + 1)) {
    const numEnd = digitsEnd(line, open + 1);
    if (numEnd === open + 1 || line[numEnd] !== "/") continue;
    const denEnd = digitsEnd(line, numEnd + 1);
    if (denEnd === numEnd + 1 || line[denEnd] !== ")") continue;
    return [line.slice(open + 1, numEnd), line.slice(numEnd + 1, denEnd)];
  }
  return undefined;
}

/** The digits of the last "[digits]" in a component field such as "sdb1[3](S)". */
function lastBracketedNumber(field: string): string | undefined {
  for (let close = field.lastIndexOf("]"); close > 0; close = field.lastIndexOf("]", close - 1)) {
    let start = close;
    while (start > 0 && isDigit(field.charCodeAt(start - 1))) start--;
    if (start < close && start > 0 && field[start - 1] === "[") return field.slice(start, close);
  }
  return undefined;
}

function digitsEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  return i;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function count(text: string, needle: string): number {
  let n = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) n++;
  return n;
}

function show(text: string): string {
  return quoteExcerpt(text, 80);
}
