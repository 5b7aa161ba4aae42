import { isUtf8 } from "node:buffer";
import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { MAX_HOST_FILE_BYTES } from "../../host/read.js";
import { CollectorError, type Collector, type CollectorDefinition, type ScrapeContext } from "../collector.js";
import { compileGoGlob, hasGlobMeta, type GoGlob } from "../go-glob.js";
import { gauge, type MetricDesc, type MetricSink } from "../model.js";
import { formatGoFloat } from "../parsers/go-float.js";
import { parsePromText, type PromTextFamily, type PromTextMetric } from "../parsers/prom-text.js";
import { ExpositionGuard } from "../exposition-guard.js";

/**
 * node_exporter's textfile collector: the `*.prom` files of each configured directory (a Go glob
 * each), merged into one exposition. A file that does not parse, or that carries client-side
 * timestamps, is left out whole and sets node_textfile_scrape_error to 1, as do an unreadable
 * directory and a family whose HELP differs from the one an earlier file gave it. Files are
 * local paths taken as configured (like node_exporter's flag), not host paths under HostPaths.
 */

const mtimeDesc = gauge("node_textfile_mtime_seconds", "Unixtime mtime of textfiles successfully read.", ["file"]);
const scrapeErrorDesc = gauge("node_textfile_scrape_error", "1 if there was an error opening or reading a file, 0 otherwise");

export interface TextfileContent {
  readonly families: PromTextFamily[];
  /** Modification time in whole seconds, as node_exporter reports it. */
  readonly mtimeSeconds: number;
}

/**
 * Reads and checks one .prom file; throws CollectorError (naming the file) for anything
 * node_exporter would refuse. Exported for tests.
 */
export async function readTextfile(filePath: string, limit = MAX_HOST_FILE_BYTES): Promise<TextfileContent> {
  let handle: fs.FileHandle;
  try {
    // O_NONBLOCK: a FIFO named *.prom must not hang the scrape (node_exporter would block here).
    handle = await fs.open(filePath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new CollectorError(`failed to open textfile data file ${JSON.stringify(filePath)}: ${(err as Error).message}`);
  }
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) throw new CollectorError(`failed to parse textfile data from ${JSON.stringify(filePath)}: not a regular file`);
    if (stat.size > BigInt(limit))
      throw new CollectorError(`textfile ${JSON.stringify(filePath)} is larger than ${limit} bytes, skipping entire file`);
    const bytes = await handle.readFile();
    if (bytes.length > limit)
      throw new CollectorError(`textfile ${JSON.stringify(filePath)} is larger than ${limit} bytes, skipping entire file`);
    let parsed;
    try {
      parsed = parsePromText(bytes.toString("utf8"), { invalidUtf8: !isUtf8(bytes) });
    } catch (err) {
      throw new CollectorError(`failed to parse textfile data from ${JSON.stringify(filePath)}: ${(err as Error).message}`);
    }
    if (parsed.hasTimestamps) {
      throw new CollectorError(`textfile ${JSON.stringify(filePath)} contains unsupported client-side timestamps, skipping entire file`);
    }
    checkLabelNames(filePath, parsed.families);
    return { families: parsed.families, mtimeSeconds: Number(stat.mtimeNs / 1_000_000_000n) };
  } catch (err) {
    if (err instanceof CollectorError) throw err;
    throw new CollectorError(`failed to read textfile ${JSON.stringify(filePath)}: ${(err as Error).message}`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Names starting with `__` are reserved; client_golang refuses them (node_exporter panics on them). */
function checkLabelNames(filePath: string, families: PromTextFamily[]): void {
  for (const family of families) {
    for (const metric of family.metrics) {
      for (const name of metric.labelNames) {
        if (name.startsWith("__")) {
          throw new CollectorError(
            `textfile ${JSON.stringify(filePath)}: label name ${JSON.stringify(name)} of ${family.name} is reserved, skipping entire file`,
          );
        }
      }
    }
  }
}

interface Source {
  readonly pattern: string;
  /** undefined for a plain path, and for a malformed pattern, which node_exporter then reads as a directory name. */
  readonly glob: GoGlob | undefined;
}

class TextfileCollector implements Collector {
  readonly name = "textfile";
  private readonly sources: Source[];
  /** Problems logged in the previous scrape, so that a lasting problem is logged once. */
  private loggedProblems = new Set<string>();

  constructor(
    directories: readonly string[],
    private readonly logger: Logger,
  ) {
    this.sources = directories.map((pattern) => {
      if (!hasGlobMeta(pattern)) return { pattern, glob: undefined };
      try {
        return { pattern, glob: compileGoGlob(pattern) };
      } catch {
        return { pattern, glob: undefined };
      }
    });
  }

  async update(out: MetricSink, ctx: ScrapeContext): Promise<void> {
    const scrape = new ScrapeState();
    for (const dir of await this.directories()) {
      let entries: string[];
      try {
        entries = (await fs.readdir(dir)).sort();
      } catch (err) {
        // node_exporter's default directory is "", which is not an error.
        if (dir !== "") scrape.fail("failed to read textfile collector directory", { path: dir, err: (err as Error).message });
        continue;
      }
      for (const entry of entries) {
        if (!entry.endsWith(".prom")) continue;
        if (ctx.signal.aborted) return;
        const filePath = path.join(dir, entry);
        try {
          scrape.addFile(filePath, await readTextfile(filePath));
        } catch (err) {
          scrape.fail("failed to collect textfile data", { file: entry, err: (err as Error).message });
        }
      }
    }
    scrape.emit(out);
    this.logNew(scrape.problems);
  }

  /** Each configured pattern expanded as filepath.Glob; no match (or a bad pattern) means the pattern itself. */
  private async directories(): Promise<string[]> {
    const result: string[] = [];
    for (const source of this.sources) {
      const matches = source.glob === undefined ? [] : await source.glob.expand().catch(() => []);
      if (matches.length === 0) result.push(source.pattern);
      else result.push(...matches);
    }
    return result;
  }

  private logNew(problems: readonly Problem[]): void {
    const current = new Set<string>();
    for (const p of problems) {
      const key = `${p.message} ${JSON.stringify(p.fields)}`;
      current.add(key);
      if (!this.loggedProblems.has(key)) this.logger.error(p.fields, p.message);
    }
    this.loggedProblems = current;
  }
}

interface Problem {
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** One scrape's files merged the way node_exporter's textfile Update merges them. */
class ScrapeState {
  readonly problems: Problem[] = [];
  private errored = false;
  private readonly accepted: PromTextFamily[] = [];
  /** Per metric name: the first HELP text seen, and a conflicting one once there was one. */
  private readonly helpTexts = new Map<string, [string, string]>();
  private readonly filesByName = new Map<string, string[]>();
  private readonly mtimes = new Map<string, number>();

  /** A problem that sets node_textfile_scrape_error. */
  fail(message: string, fields: Record<string, unknown>): void {
    this.errored = true;
    this.problems.push({ message, fields });
  }

  /** Takes a file's families; one whose HELP differs from an earlier file's is dropped (and fails the scrape). */
  addFile(filePath: string, content: TextfileContent): void {
    for (const family of content.families) {
      const seen = this.helpTexts.get(family.name);
      if (seen !== undefined && ((family.help !== undefined && seen[0] !== family.help) || seen[1] !== "")) {
        this.helpTexts.set(family.name, [seen[0], family.help ?? ""]);
        this.fail("inconsistent metric help text", {
          metric: family.name,
          original_help_text: seen[0],
          new_help_text: family.help ?? "",
          file: this.filesByName.get(family.name)?.[0],
        });
        continue;
      }
      if (family.help !== undefined) this.helpTexts.set(family.name, [family.help, ""]);
      const files = this.filesByName.get(family.name);
      if (files === undefined) this.filesByName.set(family.name, [filePath]);
      else files.push(filePath);
      this.accepted.push(family);
    }
    this.mtimes.set(filePath, content.mtimeSeconds);
  }

  /** The files' families, then node_textfile_mtime_seconds and node_textfile_scrape_error, in node_exporter's order. */
  emit(out: MetricSink): void {
    const guard = new ExpositionGuard();
    for (const family of this.accepted) {
      const help = family.help ?? `Metric read from ${this.filesByName.get(family.name)!.join(", ")}`;
      const rejected = emitFamily(out, guard, family, help);
      if (rejected !== undefined)
        this.problems.push({ message: "textfile series dropped", fields: { metric: family.name, err: rejected } });
    }
    // A .prom file may itself define these names; as in node_exporter, what came first wins.
    const mtimeFamilyOk = guard.acceptFamily(mtimeDesc.name, "gauge", mtimeDesc.help) === undefined;
    for (const filePath of [...this.mtimes.keys()].sort()) {
      if (mtimeFamilyOk && guard.acceptSeries(mtimeDesc.name, ["file"], [filePath]))
        out.add(mtimeDesc, this.mtimes.get(filePath)!, filePath);
    }
    if (
      guard.acceptFamily(scrapeErrorDesc.name, "gauge", scrapeErrorDesc.help) === undefined &&
      guard.acceptSeries(scrapeErrorDesc.name, [], [])
    ) {
      out.add(scrapeErrorDesc, this.errored ? 1 : 0);
    }
  }
}

/**
 * node_exporter's convertMetricFamily: every metric gets the union of the family's label names
 * (missing ones empty); summaries and histograms become their quantile/bucket, _sum and _count
 * samples as client_golang writes them. Returns the reason when series had to be dropped.
 */
function emitFamily(out: MetricSink, guard: ExpositionGuard, family: PromTextFamily, help: string): string | undefined {
  const familyProblem = guard.acceptFamily(family.name, family.type, help);
  if (familyProblem !== undefined) return familyProblem;
  const allNames = new Set<string>();
  for (const metric of family.metrics) for (const n of metric.labelNames) allNames.add(n);
  const descs = new Map<string, MetricDesc>();
  const descFor = (labelNames: string[], sampleSuffix?: string): MetricDesc => {
    const key = `${sampleSuffix ?? ""}\u0000${labelNames.join("\u0000")}`;
    let desc = descs.get(key);
    if (desc === undefined) {
      desc = { name: family.name, help, type: family.type, labelNames, ...(sampleSuffix === undefined ? {} : { sampleSuffix }) };
      descs.set(key, desc);
    }
    return desc;
  };
  let duplicates = 0;
  for (const metric of family.metrics) {
    const [names, values] = completeLabels(metric, allNames);
    if (!guard.acceptSeries(family.name, names, values)) {
      duplicates++;
      continue;
    }
    if (family.type === "summary") {
      const quantileDesc = descFor([...names, "quantile"]);
      for (const [q, v] of lastWins(metric.quantiles!)) out.add(quantileDesc, v, ...values, formatGoFloat(q));
      out.add(descFor(names, "_sum"), metric.sum, ...values);
      out.add(descFor(names, "_count"), metric.count, ...values);
    } else if (family.type === "histogram") {
      const bucketDesc = descFor([...names, "le"], "_bucket");
      const buckets = lastWins(metric.buckets!);
      for (const [bound, count] of buckets) out.add(bucketDesc, count, ...values, formatGoFloat(bound));
      if (!buckets.some(([bound]) => bound === Infinity)) out.add(bucketDesc, metric.count, ...values, "+Inf");
      out.add(descFor(names, "_sum"), metric.sum, ...values);
      out.add(descFor(names, "_count"), metric.count, ...values);
    } else {
      out.add(descFor(names), metric.value, ...values);
    }
  }
  return duplicates > 0 ? `${duplicates} series of ${family.name} were collected before with the same name and label values` : undefined;
}

/** The metric's labels plus the family's other label names with "", sorted by name (as client_golang orders them). */
function completeLabels(metric: PromTextMetric, allNames: Set<string>): [string[], string[]] {
  const pairs: Array<[string, string]> = metric.labelNames.map((n, i) => [n, metric.labelValues[i]]);
  if (pairs.length !== allNames.size) {
    for (const n of allNames) if (!metric.labelNames.includes(n)) pairs.push([n, ""]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
}

/** Quantiles/buckets as node_exporter's Go maps hold them: the last value per bound, sorted by bound. */
function lastWins(entries: Array<[number, number]>): Array<[number, number]> {
  const byBound = new Map<number, number>();
  for (const [bound, value] of entries) byBound.set(bound, value);
  return [...byBound.entries()].sort((a, b) => a[0] - b[0]);
}

export const collector: CollectorDefinition = {
  name: "textfile",
  defaultEnabled: true,
  create({ config, logger }) {
    return new TextfileCollector(config.collectors.textfile.directory, logger);
  },
};
