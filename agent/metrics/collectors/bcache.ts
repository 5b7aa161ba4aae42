import { readdirSync } from "../../host/missing-paths.js";
import path from "node:path";
import { readText } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { errorCode } from "../host-file.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";
import { parseGoFloat } from "../parsers/go-float.js";
import { parseInt64, parseUint } from "../parsers/numbers.js";
import { floatToUint64, goFields, goScanLines, sortGoNames } from "../parsers/go-text.js";

/**
 * node_exporter's bcache collector (collector/bcache_linux.go with procfs's bcache package):
 * for each /sys/fs/bcache/<uuid> (names matching "*-*"), the cache set's values, each
 * bdev<N>'s dirty data, writeback_rate_debug and stats_total counters, and each cache<N>'s error
 * and write counters, plus its priority_stats with --collector.bcache.priorityStats.
 *
 * No series when /sys/fs/bcache is missing or unreadable (procfs's Glob ignores I/O errors). A
 * cache set with a missing or malformed file fails the whole collector, as in procfs.
 *
 * Deliberate departures from procfs, for input the kernel does not write: the stats_five_minute
 * directories (read by procfs, never emitted) are not read; a value file without its trailing
 * newline, a size with an unknown suffix (procfs: 0) or one outside uint64 (Go: the platform's
 * conversion) is a CollectorError rather than a made-up number; an empty file (a panic in procfs)
 * is a CollectorError.
 */

const UUID = ["uuid"];
const BDEV = ["uuid", "backing_device"];
const CACHE = ["uuid", "cache_device"];
const bc = (name: string) => `node_bcache_${name}`;

/** The cache set's files (relative to /sys/fs/bcache/<uuid>) with their family and scale. */
const SET_VALUES: ReadonlyArray<readonly [file: string, desc: MetricDesc, scale: number]> = [
  ["average_key_size", gauge(bc("average_key_size_sectors"), "Average data per key in the btree (sectors).", UUID), 1],
  ["btree_cache_size", gauge(bc("btree_cache_size_bytes"), "Amount of memory currently used by the btree cache.", UUID), 1],
  [
    "cache_available_percent",
    gauge(
      bc("cache_available_percent"),
      "Percentage of cache device without dirty data, usable for writeback (may contain clean cached data).",
      UUID,
    ),
    1,
  ],
  ["congested", gauge(bc("congested"), "Congestion.", UUID), 1],
  [
    "root_usage_percent",
    gauge(bc("root_usage_percent"), "Percentage of the root btree node in use (tree depth increases if too high).", UUID),
    1,
  ],
  ["tree_depth", gauge(bc("tree_depth"), "Depth of the btree.", UUID), 1],
  [
    "internal/active_journal_entries",
    gauge(bc("active_journal_entries"), "Number of journal entries that are newer than the index.", UUID),
    1,
  ],
  ["internal/btree_nodes", gauge(bc("btree_nodes"), "Total nodes in the btree.", UUID), 1],
  // procfs stores the microseconds as "nanoseconds" and node_exporter scales them by 1e-9: kept as is.
  ["internal/btree_read_average_duration_us", gauge(bc("btree_read_average_duration_seconds"), "Average btree read duration.", UUID), 1e-9],
  [
    "internal/cache_read_races",
    counter(
      bc("cache_read_races_total"),
      "Counts instances where while data was being read from the cache, the bucket was reused and invalidated - i.e. where the pointer was stale after the read completed.",
      UUID,
    ),
    1,
  ],
];

const dirtyDataDesc = gauge(bc("dirty_data_bytes"), "Amount of dirty data for this backing device in the cache.", BDEV);

/** The writeback_rate_debug values node_exporter emits, in its order. */
const WRITEBACK: ReadonlyArray<readonly [key: keyof WritebackRateDebug, desc: MetricDesc]> = [
  ["target", gauge(bc("dirty_target_bytes"), "Current dirty data target threshold for this backing device in bytes.", BDEV)],
  ["rate", gauge(bc("writeback_rate"), "Current writeback rate for this backing device in bytes.", BDEV)],
  [
    "proportional",
    gauge(bc("writeback_rate_proportional_term"), "Current result of proportional controller, part of writeback rate", BDEV),
  ],
  ["integral", gauge(bc("writeback_rate_integral_term"), "Current result of integral controller, part of writeback rate", BDEV)],
  ["change", gauge(bc("writeback_change"), "Last writeback rate change step for this backing device.", BDEV)],
];

/** <bdev>/stats_total files, in node_exporter's emission order. */
const PERIOD: ReadonlyArray<readonly [file: string, desc: MetricDesc]> = [
  ["bypassed", counter(bc("bypassed_bytes_total"), "Amount of IO (both reads and writes) that has bypassed the cache.", BDEV)],
  ["cache_hits", counter(bc("cache_hits_total"), "Hits counted per individual IO as bcache sees them.", BDEV)],
  ["cache_misses", counter(bc("cache_misses_total"), "Misses counted per individual IO as bcache sees them.", BDEV)],
  ["cache_bypass_hits", counter(bc("cache_bypass_hits_total"), "Hits for IO intended to skip the cache.", BDEV)],
  ["cache_bypass_misses", counter(bc("cache_bypass_misses_total"), "Misses for IO intended to skip the cache.", BDEV)],
  [
    "cache_miss_collisions",
    counter(
      bc("cache_miss_collisions_total"),
      "Instances where data insertion from cache miss raced with write (data already present).",
      BDEV,
    ),
  ],
  // Emitted only when not 0 (node_exporter leaves a zero readahead count out).
  ["cache_readaheads", counter(bc("cache_readaheads_total"), "Count of times readahead occurred.", BDEV)],
];
const READAHEADS = "cache_readaheads";

const CACHE_VALUES: ReadonlyArray<readonly [file: string, desc: MetricDesc]> = [
  ["io_errors", gauge(bc("io_errors"), "Number of errors that have occurred, decayed by io_error_halflife.", CACHE)],
  [
    "metadata_written",
    counter(bc("metadata_written_bytes_total"), "Sum of all non data writes (btree writes and all other metadata).", CACHE),
  ],
  ["written", counter(bc("written_bytes_total"), "Sum of all data that has been written to the cache.", CACHE)],
];
const unusedDesc = gauge(bc("priority_stats_unused_percent"), "The percentage of the cache that doesn't contain any data.", CACHE);
const metadataDesc = gauge(bc("priority_stats_metadata_percent"), "Bcache's metadata overhead.", CACHE);

// ---------------------------------------------------------------------------------------------
// Parsers (procfs's dehumanize and friends)

/** bch_hprint's suffixes (drivers/md/bcache/util.c). */
const MULTIPLIERS: Readonly<Record<string, number>> = {
  k: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
  T: 2 ** 40,
  P: 2 ** 50,
  E: 2 ** 60,
  Z: 2 ** 70,
  Y: 2 ** 80,
};

function goFloat(text: string, what: string): number {
  const value = parseGoFloat(text);
  if (value === undefined)
    throw new CollectorError(`${what}: strconv.ParseFloat: parsing ${JSON.stringify(text.slice(0, 40))}: invalid syntax`);
  return value;
}

/** procfs's parsePseudoFloat: bch_hprint's "20.4" has a fraction in 1024ths printed as hundredths. */
function parsePseudoFloat(text: string, what: string): number {
  const parts = text.split(".");
  const intPart = goFloat(parts[0], what);
  if (parts.length === 1) return intPart;
  return intPart + goFloat(parts[1], what) / 10.24;
}

/** procfs's dehumanize: "1.1M" -> 1150976, "512" -> 512 (a uint64, as a float). */
export function dehumanize(text: string, what = "bcache value"): number {
  if (text === "") throw new CollectorError(`${what}: zero-length reply`);
  const last = text.charCodeAt(text.length - 1);
  let value: number;
  if (last > 57 /* '9' */) {
    const multiplier = MULTIPLIERS[text[text.length - 1]];
    if (multiplier === undefined) throw new CollectorError(`${what}: unknown size suffix in ${JSON.stringify(text.slice(0, 40))}`);
    value = parsePseudoFloat(text.slice(0, -1), what) * multiplier;
  } else {
    value = goFloat(text, what);
  }
  return floatToUint64(value, what, text);
}

/** procfs's dehumanizeSigned: an optional "-" before a dehumanized size (an int64). */
export function dehumanizeSigned(text: string, what = "bcache value"): number {
  const negative = text.startsWith("-");
  const value = dehumanize(negative ? text.slice(1) : text, what);
  if (value >= 2 ** 63) throw new CollectorError(`${what}: ${JSON.stringify(text.slice(0, 40))} is outside the int64 range`);
  return negative ? -value + 0 : value;
}

/** procfs's readValue on a file's content: the trailing newline cut, the rest dehumanized. */
export function parseBcacheValue(text: string, what = "bcache value"): number {
  if (!text.endsWith("\n")) throw new CollectorError(`${what}: ${text === "" ? "empty file" : "no trailing newline"}`);
  return dehumanize(text.slice(0, -1), what);
}

export interface WritebackRateDebug {
  readonly rate: number;
  readonly dirty: number;
  readonly target: number;
  readonly proportional: number;
  readonly integral: number;
  readonly change: number;
  readonly nextIO: number;
}

const lastField = (line: string) => {
  const fields = goFields(line);
  return fields[fields.length - 1];
};
const trimSuffix = (text: string, suffix: string) => (text.endsWith(suffix) ? text.slice(0, -suffix.length) : text);

/** procfs's parseWritebackRateDebug over the file's lines: every value it knows is checked, absent ones are 0. */
export function parseWritebackRateDebug(text: string, what = "writeback_rate_debug"): WritebackRateDebug {
  const out = { rate: 0, dirty: 0, target: 0, proportional: 0, integral: 0, change: 0, nextIO: 0 };
  for (const line of goScanLines(text, what)) {
    if (line.startsWith("rate:")) out.rate = dehumanize(trimSuffix(lastField(line), "/sec"), what);
    else if (line.startsWith("dirty:")) out.dirty = dehumanize(lastField(line), what);
    else if (line.startsWith("target:")) out.target = dehumanize(lastField(line), what);
    else if (line.startsWith("proportional:")) out.proportional = dehumanizeSigned(lastField(line), what);
    else if (line.startsWith("integral:")) out.integral = dehumanizeSigned(lastField(line), what);
    else if (line.startsWith("change:")) out.change = dehumanizeSigned(trimSuffix(lastField(line), "/sec"), what);
    else if (line.startsWith("next io:")) {
      const raw = trimSuffix(lastField(line), "ms");
      const value = parseInt64(raw);
      if (Number.isNaN(value))
        throw new CollectorError(`${what}: strconv.ParseInt: parsing ${JSON.stringify(raw.slice(0, 40))}: invalid syntax`);
      out.nextIO = value;
    }
  }
  return out;
}

export interface PriorityStats {
  readonly unusedPercent: number;
  readonly metadataPercent: number;
}

/** procfs's parsePriorityStats over the file's lines: "Unused:" and "Metadata:" percentages, others ignored. */
export function parsePriorityStats(text: string, what = "priority_stats"): PriorityStats {
  const out = { unusedPercent: 0, metadataPercent: 0 };
  for (const line of goScanLines(text, what)) {
    const key = line.startsWith("Unused:") ? "unusedPercent" : line.startsWith("Metadata:") ? "metadataPercent" : undefined;
    if (key === undefined) continue;
    const raw = trimSuffix(lastField(line), "%");
    const value = parseUint(raw);
    if (Number.isNaN(value))
      throw new CollectorError(`${what}: strconv.ParseUint: parsing ${JSON.stringify(raw.slice(0, 40))}: invalid syntax`);
    out[key] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading /sys/fs/bcache

interface BcacheSet {
  readonly uuid: string;
  readonly values: number[];
  readonly bdevs: ReadonlyArray<{ name: string; dirtyData: number; writeback: WritebackRateDebug; total: number[] }>;
  readonly caches: ReadonlyArray<{ name: string; values: number[]; priority?: PriorityStats }>;
}

function readFile(file: string): string {
  try {
    return readText(file);
  } catch (err) {
    throw new CollectorError(`failed to read: ${file}: ${errorCode(err) ?? String(err)}`, { cause: err });
  }
}

const readValue = (file: string) => parseBcacheValue(readFile(file), file);

/** filepath.Glob(dir/<pattern>)'s names: sorted, [] when the directory cannot be listed. */
function globNames(dir: string, pattern: RegExp): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return sortGoNames(names.filter((name) => pattern.test(name)));
}

function readSet(dir: string, uuid: string, priorityStats: boolean): BcacheSet {
  const values = SET_VALUES.map(([file]) => readValue(path.join(dir, file)));
  const bdevs = globNames(dir, /^bdev[0-9]/).map((name) => {
    const bdevDir = path.join(dir, name);
    const dirtyData = readValue(path.join(bdevDir, "dirty_data"));
    const debugFile = path.join(bdevDir, "writeback_rate_debug");
    const writeback = parseWritebackRateDebug(readFile(debugFile), debugFile);
    const total = PERIOD.map(([file]) => readValue(path.join(bdevDir, "stats_total", file)));
    return { name, dirtyData, writeback, total };
  });
  const caches = globNames(dir, /^cache[0-9]/).map((name) => {
    const cacheDir = path.join(dir, name);
    const cacheValues = CACHE_VALUES.map(([file]) => readValue(path.join(cacheDir, file)));
    const priorityFile = path.join(cacheDir, "priority_stats");
    const priority = priorityStats ? parsePriorityStats(readFile(priorityFile), priorityFile) : undefined;
    return { name, values: cacheValues, priority };
  });
  return { uuid, values, bdevs, caches };
}

/** Every cache set under `root` (/sys/fs/bcache), read in full before anything is emitted. */
export function readBcacheSets(root: string, priorityStats: boolean): BcacheSet[] {
  return globNames(root, /-/).map((uuid) => readSet(path.join(root, uuid), uuid, priorityStats));
}

function emitSet(out: MetricSink, set: BcacheSet): void {
  SET_VALUES.forEach(([, desc, scale], i) => out.add(desc, scale === 1 ? set.values[i] : set.values[i] * scale, set.uuid));
  for (const bdev of set.bdevs) {
    out.add(dirtyDataDesc, bdev.dirtyData, set.uuid, bdev.name);
    for (const [key, desc] of WRITEBACK) out.add(desc, bdev.writeback[key], set.uuid, bdev.name);
    PERIOD.forEach(([file, desc], i) => {
      if (file !== READAHEADS || bdev.total[i] !== 0) out.add(desc, bdev.total[i], set.uuid, bdev.name);
    });
  }
  for (const cache of set.caches) {
    CACHE_VALUES.forEach(([, desc], i) => out.add(desc, cache.values[i], set.uuid, cache.name));
    if (cache.priority !== undefined) {
      out.add(unusedDesc, cache.priority.unusedPercent, set.uuid, cache.name);
      out.add(metadataDesc, cache.priority.metadataPercent, set.uuid, cache.name);
    }
  }
}

export const collector: CollectorDefinition = {
  name: "bcache",
  defaultEnabled: true,
  create({ paths, config }) {
    const priorityStats = config.collectors.bcache.priorityStats;
    return {
      name: "bcache",
      update(out) {
        for (const set of readBcacheSets(paths.sys("fs/bcache"), priorityStats)) emitSet(out, set);
      },
    };
  },
};
