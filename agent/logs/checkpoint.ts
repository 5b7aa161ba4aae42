import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { LogMetrics } from "./metrics.js";

/**
 * Durable read positions: per file identity, the offset up to which every line has been
 * acknowledged by the sink (entries are updated only from AckTracker commits), plus named
 * cursors for non-file sources (journald). Written atomically (tmp file, fsync, rename, fsync of
 * the directory) on an interval and at shutdown.
 */

export interface FileCheckpoint {
  dev: string;
  ino: string;
  /** Length and hash of the file's first bytes when the offset was committed (see file-identity.ts). */
  fingerprintBytes: number;
  fingerprint: string;
  path: string;
  source: string;
  offset: number;
  /** The active path this file was tailed under before it was rotated (its stream); absent in old checkpoints. */
  stream?: string;
  /** The stream's symlink target, where its path is a symlink: its rotated files are next to it (stream-targets.ts). */
  target?: string;
  /** For a copy unpacked from a .gz: the .gz's device:inode (a restart must not read that .gz whole as a file it never saw). */
  copyOf?: string;
  /** For a copy unpacked from a .gz: the .gz's path, which its records name and its place in the stream's order is taken from. */
  origin?: string;
  /** The file's size when last read, to tell how much was lost if it disappears. */
  size?: number;
  /** It had rotated out of its stream (no more writes expected) when last read. */
  rotated?: boolean;
  /**
   * Where reading of this file generation first met data (past the hole a copytruncate of a file
   * written without O_APPEND leaves at its start): a rotated copy whose data ends past it was read
   * (rotated-copies.ts, copiedBelowOffset). Absent: not known.
   */
  dataFrom?: number;
}

/**
 * A file read to its end and forgotten: its stream and fingerprint, so that a compressed copy of
 * it found after a restart (`syslog.2.gz`, `0.log.<time>.gz`) is known as read and not read again.
 */
export interface FinishedFile {
  stream: string;
  fingerprintBytes: number;
  fingerprint: string;
  /** When it was forgotten (ms since the epoch). */
  at: number;
}

/** Finished files remembered per stream: the few rotated files not yet compressed when nodetap stops. */
const FINISHED_PER_STREAM = 4;
/** Finished files remembered in all (the checkpoint file is rewritten often: it stays small). */
const FINISHED_MAX = 4096;
/** A compressed copy is made at the next rotation or two; a week covers any rotation schedule. */
const FINISHED_KEEP_MS = 7 * 24 * 3600 * 1000;

interface CheckpointFileV1 {
  version: 1;
  writtenAt: string;
  /** Sources that have run before: for them a file without checkpoint appeared while nodetap was down. */
  sources: string[];
  files: FileCheckpoint[];
  cursors: Record<string, string>;
  /**
   * Start of the last discovery scan that completed before this write (ms since the epoch): a
   * rotated file without checkpoint that changed after it was possibly never seen.
   */
  scannedAt?: number;
  finished?: FinishedFile[];
  /**
   * Checkpoints of file generations a restart has yet to find the rotated copy of: the file's
   * inode may be tailed again under `files` (copytruncate) while the copy waits for a slot.
   */
  recovering?: FileCheckpoint[];
}

export const CHECKPOINT_FILE = "checkpoints.json";

export class CheckpointStore {
  private readonly files = new Map<string, FileCheckpoint>();
  private readonly cursors = new Map<string, string>();
  private readonly knownSources = new Set<string>();
  private finished: FinishedFile[] = [];
  private recovering: FileCheckpoint[] = [];
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  /**
   * The checkpoint file existed but could not be used (unparsable, unknown version, bad entry):
   * what was read before is unknown, so every source counts as known and reads from the beginning.
   */
  private recoveredFrom = false;
  /** scannedAt of the previous run's last checkpoint write, if any. */
  private previousScanAt?: number;
  private lastScanAt?: number;

  private constructor(
    readonly dir: string,
    /** No checkpoint file existed: nodetap runs for the first time with this directory. */
    readonly firstStart: boolean,
    private readonly logger: Logger,
    private readonly metrics: LogMetrics,
  ) {}

  /** The checkpoint file existed but was unusable and was set aside; every source reads from its beginning. */
  get recovered(): boolean {
    return this.recoveredFrom;
  }

  static async open(dir: string, logger: Logger, metrics: LogMetrics): Promise<CheckpointStore> {
    const file = path.join(dir, CHECKPOINT_FILE);
    let text: string | undefined;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (text === undefined) return new CheckpointStore(dir, true, logger, metrics);
    const store = new CheckpointStore(dir, false, logger, metrics);
    try {
      store.load(JSON.parse(text) as unknown);
    } catch (err) {
      // Nothing of a partly loaded document is trusted. Every source counts as known, so none
      // starts at the end (startAt: end): all files and the journal are read from their
      // beginning (duplicates, never loss). The bad file is kept aside for inspection.
      store.files.clear();
      store.recovering = [];
      store.cursors.clear();
      store.knownSources.clear();
      store.recoveredFrom = true;
      store.dirty = true;
      const kept = `${file}.corrupt-${Date.now()}`;
      let keptAs: string | undefined = kept;
      await fs.rename(file, kept).catch((renameErr: Error) => {
        keptAs = undefined;
        logger.warn({ file, kept, err: renameErr.message }, "could not keep the unusable checkpoint file aside");
      });
      metrics.checkpointErrors.inc({ op: "load" });
      logger.warn(
        { file, kept: keptAs, reason: (err as Error).message },
        "checkpoint file unusable; every source (including startAt: end ones) is read from its beginning",
      );
    }
    return store;
  }

  private load(data: unknown): void {
    const doc = data as Partial<CheckpointFileV1>;
    if (typeof doc !== "object" || doc === null || doc.version !== 1 || !Array.isArray(doc.files)) {
      throw new Error("not a version 1 checkpoint document");
    }
    for (const s of doc.sources ?? []) if (typeof s === "string") this.knownSources.add(s);
    for (const e of doc.files) {
      if (!isFileCheckpoint(e)) throw new Error(`bad file entry ${JSON.stringify(e).slice(0, 200)}`);
      this.files.set(checkpointKey(e.dev, e.ino), { ...e });
    }
    for (const e of doc.recovering ?? []) {
      if (!isFileCheckpoint(e)) throw new Error(`bad recovering entry ${JSON.stringify(e).slice(0, 200)}`);
      this.recovering.push({ ...e });
    }
    if (typeof doc.scannedAt === "number" && Number.isFinite(doc.scannedAt)) this.previousScanAt = doc.scannedAt;
    // Only a hint against reading a compressed copy twice: entries that do not parse are skipped.
    if (Array.isArray(doc.finished)) this.finished = doc.finished.filter(isFinishedFile);
    for (const [name, cursor] of Object.entries(doc.cursors ?? {})) if (typeof cursor === "string") this.cursors.set(name, cursor);
  }

  /**
   * Whether `source` ran with this checkpoint directory before; always true after a recovery
   * from an unusable checkpoint file (it may have, and reading from the end could lose lines).
   */
  sourceKnown(source: string): boolean {
    return this.recoveredFrom || this.knownSources.has(source);
  }

  markSourceKnown(source: string): void {
    if (this.knownSources.has(source)) return;
    this.knownSources.add(source);
    this.dirty = true;
  }

  /** When the previous run last completed a scan (undefined: unknown, e.g. first start or an old file). */
  get previousRunScannedAt(): number | undefined {
    return this.previousScanAt;
  }

  /** Records the start time of a completed scan; written with the next checkpoint write (it does not make one). */
  noteScan(startedAtMs: number): void {
    this.lastScanAt = startedAtMs;
  }

  file(dev: string, ino: string): FileCheckpoint | undefined {
    return this.files.get(checkpointKey(dev, ino));
  }

  allFiles(): IterableIterator<FileCheckpoint> {
    return this.files.values();
  }

  setFile(entry: FileCheckpoint): void {
    this.files.set(checkpointKey(entry.dev, entry.ino), entry);
    this.dirty = true;
  }

  removeFile(dev: string, ino: string): void {
    if (this.files.delete(checkpointKey(dev, ino))) this.dirty = true;
  }

  /** Checkpoints still waiting for recovery (see CheckpointFileV1.recovering), as loaded or last set. */
  recoveringFiles(): readonly FileCheckpoint[] {
    return this.recovering;
  }

  setRecovering(entries: readonly FileCheckpoint[]): void {
    if (entries.length === 0 && this.recovering.length === 0) return;
    this.recovering = entries.map((e) => ({ ...e }));
    this.dirty = true;
  }

  /** Remembers a file read to its end whose checkpoint is dropped (see FinishedFile). */
  noteFinished(entry: Omit<FinishedFile, "at">): void {
    if (entry.fingerprintBytes <= 0) return;
    const now = Date.now();
    const same = (f: FinishedFile) => f.stream === entry.stream;
    const ofStream = this.finished.filter(same);
    const drop = new Set(ofStream.slice(0, Math.max(0, ofStream.length - FINISHED_PER_STREAM + 1)));
    this.finished = this.finished.filter((f) => !drop.has(f) && now - f.at < FINISHED_KEEP_MS);
    this.finished.push({ ...entry, at: now });
    if (this.finished.length > FINISHED_MAX) this.finished.splice(0, this.finished.length - FINISHED_MAX);
    this.dirty = true;
  }

  /** Files of `stream` read to their end and forgotten, oldest first. */
  finishedOf(stream: string): FinishedFile[] {
    return this.finished.filter((f) => f.stream === stream);
  }

  get fileCount(): number {
    return this.files.size;
  }

  cursor(name: string): string | undefined {
    return this.cursors.get(name);
  }

  setCursor(name: string, cursor: string): void {
    if (this.cursors.get(name) === cursor) return;
    this.cursors.set(name, cursor);
    this.dirty = true;
  }

  startPeriodicFlush(intervalMs: number): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  stopPeriodicFlush(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Writes the checkpoint file if anything changed; failures are logged and retried next time. */
  flush(force = false): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (!this.dirty && !force) return;
      this.dirty = false;
      const doc: CheckpointFileV1 = {
        version: 1,
        writtenAt: new Date().toISOString(),
        sources: [...this.knownSources],
        files: [...this.files.values()],
        cursors: Object.fromEntries(this.cursors),
        scannedAt: this.lastScanAt ?? this.previousScanAt,
        finished: this.finished,
        ...(this.recovering.length > 0 ? { recovering: this.recovering } : {}),
      };
      try {
        await writeAtomically(path.join(this.dir, CHECKPOINT_FILE), JSON.stringify(doc));
        this.metrics.checkpointWrites.inc();
      } catch (err) {
        this.dirty = true;
        this.metrics.checkpointErrors.inc({ op: "write" });
        this.logger.error({ dir: this.dir, err: (err as Error).message }, "checkpoint write failed; will retry");
      }
    });
    return this.writing;
  }
}

export function checkpointKey(dev: string, ino: string): string {
  return `${dev}:${ino}`;
}

function isFileCheckpoint(e: unknown): e is FileCheckpoint {
  const c = e as FileCheckpoint;
  return (
    typeof c === "object" &&
    c !== null &&
    typeof c.dev === "string" &&
    typeof c.ino === "string" &&
    typeof c.fingerprint === "string" &&
    Number.isInteger(c.fingerprintBytes) &&
    typeof c.path === "string" &&
    typeof c.source === "string" &&
    Number.isSafeInteger(c.offset) &&
    c.offset >= 0 &&
    (c.stream === undefined || typeof c.stream === "string") &&
    (c.target === undefined || typeof c.target === "string") &&
    (c.copyOf === undefined || typeof c.copyOf === "string") &&
    (c.origin === undefined || typeof c.origin === "string") &&
    (c.size === undefined || (Number.isSafeInteger(c.size) && c.size >= 0)) &&
    (c.rotated === undefined || typeof c.rotated === "boolean") &&
    (c.dataFrom === undefined || (Number.isSafeInteger(c.dataFrom) && c.dataFrom >= 0))
  );
}

function isFinishedFile(e: unknown): e is FinishedFile {
  const f = e as FinishedFile;
  return (
    typeof f === "object" &&
    f !== null &&
    typeof f.stream === "string" &&
    Number.isInteger(f.fingerprintBytes) &&
    typeof f.fingerprint === "string" &&
    Number.isFinite(f.at)
  );
}

/** tmp + fsync + rename + fsync(dir): after a crash the file is either the old or the new version. */
export async function writeAtomically(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await fs.open(tmp, "w", 0o644);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  const dir = await fs.open(path.dirname(file), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
