import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { AckTicket } from "../ack-tracker.js";
import type { CheckpointStore } from "../checkpoint.js";
import type { InFlightBudget } from "../in-flight-budget.js";
import type { LogMetrics } from "../metrics.js";
import type { KubernetesMetadata, LogRecord } from "../record.js";
import { mapConcurrently } from "./concurrency.js";
import { FileDiscovery } from "./file-discovery.js";
import { identityKey } from "./file-identity.js";
import { FileOpener } from "./file-opener.js";
import type { FileSourceSpec, TailSettings } from "./file-source-spec.js";
import type { FileTailer, TailerDeps } from "./file-tailer.js";
import { PathStatCache } from "./path-stat-cache.js";
import { findRenamedFile } from "./renamed-file-finder.js";
import { globToRegExp } from "./glob.js";
import type { FileCheckpoint } from "../checkpoint.js";
import { filesStatus, updateFileGauges } from "./file-tail-report.js";

export interface FileTailManagerDeps {
  readonly metrics: LogMetrics;
  readonly logger: Logger;
  readonly checkpoints: CheckpointStore;
  readonly budget: InFlightBudget;
  readonly nodeName: string;
  submit(records: LogRecord[], ticket: AckTicket<number>, lane: string): void;
  /** Pods whose logs must not be read (the agent's own pod when it prints records to stdout). */
  skipPod?(meta: KubernetesMetadata): boolean;
}

const HOUSEKEEPING_MS = 100;
const POLL_WATCHED_EVERY = 5;
const SCAN_SOON_MIN_GAP_MS = 100;

/**
 * Runs the file sources: discovery (scan + watch), one FileTailer per file identity, rotation
 * and deletion handling, bounded open files, and a single read loop that pauses while the
 * in-flight budget is used up. Rotated and deleted files are read first: they hold descriptors
 * and may be compressed or removed soon.
 */
export class FileTailManager {
  private readonly tailers = new Map<string, FileTailer>();
  private readonly byPath = new Map<string, FileTailer>();
  private readonly readQueue = new Set<FileTailer>();
  private readonly drainQueue = new Set<FileTailer>();
  /** Forgotten tailers whose checkpoint entry goes once their last records are acknowledged. */
  private readonly finishing = new Set<FileTailer>();
  private readonly discovery: FileDiscovery;
  private readonly statCache = new PathStatCache();
  private readonly readBuf: Buffer;
  private readonly opener: FileOpener;
  private readonly startAtSources = new Set<string>();
  /** Include globs per source, to tell whether a checkpointed path is still configured. */
  private readonly includeRes: Map<string, RegExp[]>;
  /**
   * Checkpoints found at start that no tailer owns yet: left to the scan while the file is still
   * at its checkpointed path, drained when found renamed (as slots allow), dropped otherwise.
   */
  private pendingRecovery: FileCheckpoint[] = [];
  private recovering = false;
  private timers: NodeJS.Timeout[] = [];
  private scanning?: Promise<void>;
  private rescanWanted = false;
  private scanSoonTimer?: NodeJS.Timeout;
  private pumping?: Promise<void>;
  private stopping = false;
  private waiting = 0;
  private polls = 0;
  private lastScanSoonAt = 0;

  constructor(
    private readonly specs: readonly FileSourceSpec[],
    private readonly settings: TailSettings,
    private readonly deps: FileTailManagerDeps,
  ) {
    this.readBuf = Buffer.allocUnsafe(settings.readBufferBytes);
    this.includeRes = new Map(specs.map((s) => [s.name, s.include.map((p) => globToRegExp(path.normalize(p)))]));
    this.discovery = new FileDiscovery(specs, deps.logger, deps.metrics, (dir, file, kind) => this.onWatchEvent(dir, file, kind));
    const tailerDeps: TailerDeps = {
      metrics: deps.metrics,
      logger: deps.logger,
      settings,
      budget: deps.budget,
      submit: deps.submit,
      commit: (t, offset) => this.commit(t, offset),
    };
    this.opener = new FileOpener(settings, { ...deps, tailerDeps, isTracked: (key) => this.tailers.has(key) });
  }

  async start(): Promise<void> {
    for (const spec of this.specs) if (!this.deps.checkpoints.sourceKnown(spec.name)) this.startAtSources.add(spec.name);
    await this.scan();
    this.startAtSources.clear();
    for (const spec of this.specs) this.deps.checkpoints.markSourceKnown(spec.name);
    this.pendingRecovery = [...this.deps.checkpoints.allFiles()].filter((cp) => !this.tailers.has(identityKey(cp.dev, cp.ino)));
    this.waiting += await this.recoverRenamed();
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.settings.scanIntervalMs, () => void this.scan());
    every(this.settings.pollIntervalMs, () => this.poll());
    every(HOUSEKEEPING_MS, () => this.housekeeping());
    this.kick();
  }

  /** Stops discovery and reading; records already read stay in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    if (this.scanSoonTimer) clearTimeout(this.scanSoonTimer);
    this.discovery.close();
    this.deps.budget.wakeAll();
    await this.scanning;
    await this.pumping;
  }

  async closeAll(): Promise<void> {
    for (const t of this.tailers.values()) await t.closeHandle();
  }

  // ---- discovery -------------------------------------------------------------------------

  private scan(): Promise<void> {
    if (this.scanning) {
      this.rescanWanted = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.rescanWanted = false;
        try {
          await this.scanOnce();
        } catch (err) {
          this.deps.logger.error({ err: (err as Error).message }, "log file scan failed; retrying at the next interval");
        }
      } while (this.rescanWanted && !this.stopping);
    })().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  /** A scan shortly after a watch event; at most one per SCAN_SOON_MIN_GAP_MS however many events come. */
  private scanSoon(): void {
    if (this.scanSoonTimer || this.stopping) return;
    const wait = Math.max(25, this.lastScanSoonAt + SCAN_SOON_MIN_GAP_MS - Date.now());
    this.scanSoonTimer = setTimeout(() => {
      this.scanSoonTimer = undefined;
      this.lastScanSoonAt = Date.now();
      void this.scan();
    }, wait);
  }

  private onWatchEvent(dir: string, file: string | null, kind: "rename" | "change"): void {
    this.statCache.markDirty(dir);
    const t = file === null ? undefined : this.byPath.get(file);
    if (t?.isOpen) {
      this.enqueue(t);
      this.kick();
    }
    // New files show up as "rename" events; writes to files we do not tail (other logs in
    // /var/log) must not set off scans.
    if (kind === "rename" || file === null || (t !== undefined && !t.isOpen)) this.scanSoon();
  }

  private async scanOnce(): Promise<void> {
    const { files, directories } = await this.discovery.scan();
    const seen = new Map<string, string[]>();
    const open = this.countOpen();
    let waiting = 0;
    const { fresh: stats, cached } = await this.statCache.statForScan(
      [...files.keys()],
      (dir) => this.discovery.isWatched(dir),
      (paths) => mapConcurrently(paths, (file) => this.opener.stat(file)),
    );
    const fresh: Array<[string, FileSourceSpec]> = [];
    for (const [file, spec] of files) {
      if (this.stopping) return;
      const st = stats.get(file) ?? cached.get(file);
      if (st === undefined) continue;
      const key = identityKey(st.dev, st.ino);
      const paths = seen.get(key);
      if (paths) paths.push(file);
      else seen.set(key, [file]);
      if (paths) continue; // another name of a file already handled in this scan
      const known = this.tailers.get(key);
      if (known !== undefined) {
        // A closed file is reopened when it changed size (a cached stat is not current: skip).
        if (!known.isOpen && stats.has(file) && Number(st.size) !== known.readOffset) {
          if (open.total < this.settings.maxOpenFiles && (await this.reopen(known, file))) open.total++;
          else waiting++;
        }
        continue;
      }
      if (open.total >= this.settings.maxOpenFiles || open.draining >= this.settings.maxOpenRotatedFiles) {
        waiting++;
        continue;
      }
      fresh.push([file, spec]);
      open.total++;
    }
    await mapConcurrently(fresh, ([file, spec]) => this.openNew(file, spec));
    await this.detectRotations(seen);
    waiting += await this.recoverRenamed();
    this.waiting = waiting;
    if (waiting > 0) this.closeIdle(waiting);
    const dirs = new Set(directories);
    for (const t of this.tailers.values()) dirs.add(path.dirname(t.path));
    for (const file of files.keys()) dirs.add(path.dirname(file));
    this.discovery.watchDirectories(dirs);
    this.kick();
  }

  /** Opens a newly found file and starts tracking it. Returns whether it is open. */
  private async openNew(file: string, spec: FileSourceSpec, drainOnly = false): Promise<boolean> {
    const tailer = await this.opener.open(file, spec, this.startAtSources.has(spec.name));
    if (tailer === undefined) return false;
    if (drainOnly) tailer.markRotated();
    this.tailers.set(tailer.key, tailer);
    this.byPath.set(file, tailer);
    this.commit(tailer, tailer.readOffset);
    this.enqueue(tailer);
    return true;
  }

  private async reopen(t: FileTailer, file: string, state: "active" | "rotated" = "active"): Promise<boolean> {
    if (!(await this.opener.reopen(t, file, state))) return false;
    this.setPath(t, file);
    this.enqueue(t);
    return true;
  }

  private setPath(t: FileTailer, file: string): void {
    if (this.byPath.get(t.path) === t) this.byPath.delete(t.path);
    t.path = file;
    this.byPath.set(file, t);
  }

  /** Tailers whose path no longer names them were renamed or deleted: drain them. */
  private async detectRotations(seen: Map<string, string[]>): Promise<void> {
    for (const t of [...this.tailers.values()]) {
      const paths = seen.get(t.key);
      if (paths?.includes(t.path)) continue;
      if (paths !== undefined) this.setPath(t, paths[0]);
      else if (this.byPath.get(t.path) === t) this.byPath.delete(t.path);
      if (t.state === "active") {
        t.markRotated();
        this.enqueue(t);
      } else if (t.state === "closed" && paths === undefined) {
        await this.forgetOrDrain(t);
      }
    }
  }

  /** A closed file vanished from the globs: drain it if it grew under a new name, else forget it. */
  private async forgetOrDrain(t: FileTailer): Promise<void> {
    const renamed = t.unlinked ? undefined : await findRenamedFile(path.dirname(t.path), t.identity.dev, t.identity.ino);
    if (renamed !== undefined) {
      const st = await fs.stat(renamed).catch(() => undefined);
      if (st !== undefined && st.size !== t.readOffset && (await this.reopen(t, renamed, "rotated"))) return;
    }
    this.tailers.delete(t.key);
    if (this.byPath.get(t.path) === t) this.byPath.delete(t.path);
    this.finishing.add(t);
  }

  /**
   * After a restart: checkpointed files that no glob path names any more were rotated while
   * nodetap was down. Find them by identity next to their old name and drain them, within the
   * open-file bounds (the rest waits for the next scan). A file still at its checkpointed path
   * is the scan's (it may be waiting for a slot); a checkpoint whose path no source's globs
   * match any more (source removed, path excluded) is dropped. Returns the files left waiting.
   */
  private async recoverRenamed(): Promise<number> {
    if (this.pendingRecovery.length === 0 || this.recovering) return 0;
    this.recovering = true;
    try {
      const specs = new Map(this.specs.map((s) => [s.name, s]));
      const open = this.countOpen();
      const later: FileCheckpoint[] = [];
      let waiting = 0;
      for (const cp of this.pendingRecovery) {
        if (this.tailers.has(identityKey(cp.dev, cp.ino))) continue; // the scan found it
        if (this.stopping) {
          later.push(cp);
          continue;
        }
        const spec = specs.get(cp.source);
        if (spec === undefined || !this.stillConfigured(spec, cp.path)) {
          this.deps.checkpoints.removeFile(cp.dev, cp.ino);
          this.deps.logger.info({ file: cp.path, source: cp.source }, "dropping the checkpoint of a file no source includes any more");
          continue;
        }
        const st = await fs.stat(cp.path, { bigint: true }).catch(() => undefined);
        if (st !== undefined && identityKey(st.dev, st.ino) === identityKey(cp.dev, cp.ino)) {
          later.push(cp); // not renamed: the scan opens it (when a slot is free)
          continue;
        }
        if (open.total >= this.settings.maxOpenFiles || open.draining >= this.settings.maxOpenRotatedFiles) {
          later.push(cp);
          waiting++;
          continue;
        }
        const renamed = await findRenamedFile(path.dirname(cp.path), cp.dev, cp.ino);
        if (renamed === undefined || !(await this.openNew(renamed, spec, true))) {
          this.deps.checkpoints.removeFile(cp.dev, cp.ino);
          continue;
        }
        open.total++;
        open.draining++;
        this.deps.logger.info({ file: renamed, was: cp.path, offset: cp.offset }, "draining a file rotated while nodetap was down");
      }
      this.pendingRecovery = later;
      return waiting;
    } finally {
      this.recovering = false;
    }
  }

  /** Whether `file` is still named by one of the source's include globs and not excluded. */
  private stillConfigured(spec: FileSourceSpec, file: string): boolean {
    if (spec.exclude.matches(file)) return false;
    return (this.includeRes.get(spec.name) ?? []).some((re) => re.test(file));
  }

  private commit(t: FileTailer, offset: number): void {
    const id = t.identity;
    this.deps.checkpoints.setFile({
      dev: id.dev,
      ino: id.ino,
      fingerprintBytes: id.fingerprintBytes,
      fingerprint: id.fingerprint,
      path: t.path,
      source: t.spec.name,
      offset,
    });
  }

  private countOpen(): { total: number; draining: number } {
    let total = 0;
    let draining = 0;
    for (const t of this.tailers.values()) {
      if (!t.isOpen) continue;
      total++;
      if (t.state === "rotated") draining++;
    }
    return { total, draining };
  }

  /** Files wait for a slot: close active files idle at their end for idleCloseAfter (oldest first). */
  private closeIdle(wanted: number): void {
    const now = Date.now();
    const idle = [...this.tailers.values()]
      .filter(
        (t) =>
          t.isOpen &&
          t.state === "active" &&
          t.lagBytes === 0 &&
          !t.holdsPartialData &&
          now - t.lastGrowthAt >= this.settings.idleCloseAfterMs,
      )
      .sort((a, b) => a.lastGrowthAt - b.lastGrowthAt)
      .slice(0, wanted);
    for (const t of idle) {
      this.readQueue.delete(t);
      void t.closeHandle();
    }
  }

  // ---- reading ---------------------------------------------------------------------------

  private enqueue(t: FileTailer): void {
    if (!t.isOpen) return;
    if (t.state === "active") this.readQueue.add(t);
    else this.drainQueue.add(t);
  }

  private takeNext(): FileTailer | undefined {
    for (const queue of [this.drainQueue, this.readQueue]) {
      for (const t of queue) {
        queue.delete(t);
        return t;
      }
    }
    return undefined;
  }

  private kick(): void {
    if (this.pumping !== undefined || this.stopping) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
    });
  }

  private async pump(): Promise<void> {
    while (!this.stopping) {
      if (this.deps.budget.exhausted) {
        await this.deps.budget.waitForRoom();
        continue;
      }
      const t = this.takeNext();
      if (t === undefined) return;
      const outcome = await t.readOnce(this.readBuf);
      if (outcome === "more") this.enqueue(t);
      if (t.state === "closed" && t.unlinked) this.forgetDeleted(t);
    }
  }

  private forgetDeleted(t: FileTailer): void {
    if (this.tailers.get(t.key) === t) this.tailers.delete(t.key);
    if (this.byPath.get(t.path) === t) this.byPath.delete(t.path);
    this.finishing.add(t);
  }

  /**
   * Growth that no watch event announced: files in unwatched directories every poll, the others
   * every POLL_WATCHED_EVERY polls; rotated files every poll (their rotateWait is counted here).
   */
  private poll(): void {
    const all = this.polls++ % POLL_WATCHED_EVERY === 0;
    for (const t of this.tailers.values()) {
      if (all || t.state !== "active" || !this.discovery.isWatched(path.dirname(t.path))) this.enqueue(t);
    }
    this.updateGauges();
    this.kick();
  }

  private housekeeping(): void {
    const now = Date.now();
    let emitted = false;
    for (const t of this.tailers.values()) {
      if (t.isOpen && t.holdsPartialData) {
        t.flushExpired(now);
        emitted = true;
      }
    }
    for (const t of this.finishing) {
      if (t.pendingTickets > 0) continue;
      this.finishing.delete(t);
      if (!this.tailers.has(t.key)) this.deps.checkpoints.removeFile(t.identity.dev, t.identity.ino);
    }
    if (emitted) this.kick();
  }

  private updateGauges(): void {
    updateFileGauges(this.deps.metrics, this.tailers.values(), this.finishing, this.waiting);
  }

  status(): Record<string, unknown> {
    return { ...filesStatus([...this.tailers.values()], this.waiting), watchedDirectories: this.discovery.watchedDirectories };
  }
}
