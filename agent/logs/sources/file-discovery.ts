import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { LogMetrics } from "../metrics.js";
import type { FileSourceSpec } from "./file-source-spec.js";
import { expandGlob } from "./glob.js";

/** Most inotify watches (directories) held; past it, changes there are found by polling only. */
const MAX_WATCHED_DIRECTORIES = 8192;
/** Bound on matches per include pattern and scan, so a runaway glob cannot stall the agent. */
const MAX_MATCHES_PER_PATTERN = 50_000;
const MAX_DIRECTORIES_PER_PATTERN = 50_000;

export type WatchEvent = (dir: string, filename: string | null, kind: "rename" | "change") => void;

/**
 * Finds the files the sources' globs name (excludes applied; first source wins for a path) and
 * keeps fs.watch watchers on the directories involved, so a write or a rotation is noticed at
 * once rather than at the next scan. Watching is best effort: scans and polls still run.
 */
export class FileDiscovery {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private watchProblemLogged = false;
  private readonly globErrorsLogged = new Set<string>();
  /** Include globs that matched nothing at the last scan (warned about once each). */
  private readonly emptyGlobsWarned = new Set<string>();
  /** Files per source found by the last scan (excludes applied). */
  lastCounts: Record<string, number> = {};

  constructor(
    private readonly specs: readonly FileSourceSpec[],
    private readonly logger: Logger,
    private readonly metrics: LogMetrics,
    private readonly onEvent: WatchEvent,
  ) {}

  /** Path -> the source that claims it, and the directories read while expanding. */
  async scan(): Promise<{ files: Map<string, FileSourceSpec>; directories: Set<string> }> {
    const files = new Map<string, FileSourceSpec>();
    const directories = new Set<string>();
    const counts: Record<string, number> = {};
    for (const spec of this.specs) {
      counts[spec.name] ??= 0;
      for (const pattern of spec.include) {
        const result = await expandGlob(pattern, { maxMatches: MAX_MATCHES_PER_PATTERN, maxDirectories: MAX_DIRECTORIES_PER_PATTERN });
        for (const d of result.directories) directories.add(d);
        for (const e of result.errors) this.reportGlobError(e.path, e.code);
        if (result.matches.length >= MAX_MATCHES_PER_PATTERN) this.reportGlobError(pattern, "TOO_MANY_MATCHES");
        this.noteEmptyGlob(spec.name, pattern, result.matches.length === 0);
        for (const file of result.matches) {
          if (!files.has(file) && !spec.exclude.matches(file)) {
            files.set(file, spec);
            counts[spec.name]++;
          }
        }
      }
    }
    this.lastCounts = counts;
    return { files, directories };
  }

  /** Warns once when an include glob matches nothing (a typo, or logs not where they were expected). */
  private noteEmptyGlob(source: string, pattern: string, empty: boolean): void {
    if (!empty) {
      this.emptyGlobsWarned.delete(pattern);
      return;
    }
    if (this.emptyGlobsWarned.has(pattern)) return;
    this.emptyGlobsWarned.add(pattern);
    this.logger.warn({ source, glob: pattern }, "an include glob matches no file (yet); it is scanned again every tail.scanInterval");
  }

  private reportGlobError(where: string, code: string): void {
    const key = `${where}:${code}`;
    if (this.globErrorsLogged.has(key)) return;
    this.globErrorsLogged.add(key);
    this.metrics.fileErrors.inc({ reason: code === "EACCES" ? "permission" : code === "ELOOP" ? "loop" : "glob" });
    this.logger.warn(
      { path: where, code },
      "cannot read a directory named by an include glob; files there are skipped until it can be read",
    );
  }

  /** Watches exactly `dirs` (bounded), closing watchers of directories no longer involved. */
  watchDirectories(dirs: Iterable<string>): void {
    const wanted = new Set<string>();
    for (const d of dirs) {
      if (wanted.size >= MAX_WATCHED_DIRECTORIES) break;
      wanted.add(d);
    }
    for (const [dir, w] of this.watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) if (!this.watchers.has(dir)) this.watch(dir);
  }

  private watch(dir: string): void {
    try {
      const w = fs.watch(dir, { persistent: false }, (eventType, filename) => {
        this.onEvent(dir, filename === null ? null : path.join(dir, filename.toString()), eventType === "rename" ? "rename" : "change");
      });
      w.on("error", () => {
        // The directory went away or the watch broke: scans and polls cover it.
        w.close();
        this.watchers.delete(dir);
      });
      this.watchers.set(dir, w);
    } catch (err) {
      if (!this.watchProblemLogged) {
        this.watchProblemLogged = true;
        this.logger.warn(
          { dir, err: (err as Error).message },
          "fs.watch failed; relying on periodic scans and polls for this and further directories",
        );
      }
    }
  }

  isWatched(dir: string): boolean {
    return this.watchers.has(dir);
  }

  get watchedDirectories(): number {
    return this.watchers.size;
  }

  close(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}
