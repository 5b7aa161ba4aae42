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
import { fileStartsWith, identityKey } from "./file-identity.js";
import { FileOpener } from "./file-opener.js";
import { rotationHome, symlinkTarget } from "./stream-targets.js";
import type { FileSourceSpec, TailSettings } from "./file-source-spec.js";
import type { FileTailer, TailerDeps } from "./file-tailer.js";
import { PathStatCache } from "./path-stat-cache.js";
import { TrackedFiles } from "./tracked-files.js";
import { checkpointOf } from "./tailer-checkpoint.js";
import { CoalescingRunner } from "./coalescing-runner.js";
import { findRenamedFile } from "./renamed-file-finder.js";
import { ConfiguredSources } from "./configured-sources.js";
import type { FileCheckpoint } from "../checkpoint.js";
import type { ResumePoint } from "./file-opener.js";
import { RotationRecovery, type RecoveryHost } from "./rotation-recovery.js";
import { TruncationRecovery } from "./truncation-recovery.js";
import { removeStaleUnpacked } from "./rotated-copies.js";
import { ReadOrder, type ReadGate } from "./read-order.js";
import { ReadLoop } from "./read-loop.js";
import { activePathOf } from "./rotation-names.js";
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
  /** Per-sink back-pressure with several sinks (routing/router.ts); absent with one sink. */
  readonly gate?: ReadGate;
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
  private readonly tracked = new TrackedFiles();
  private readonly order: ReadOrder;
  private readonly discovery: FileDiscovery;
  private readonly statCache = new PathStatCache();
  private readonly reader: ReadLoop;
  private readonly opener: FileOpener;
  private readonly startAtSources = new Set<string>();
  private readonly sources: ConfiguredSources;
  /** Data that rotated away while nodetap was down (see rotation-recovery.ts). */
  private readonly recovery: RotationRecovery;
  /** The rest of a file truncated while nodetap runs (see truncation-recovery.ts). */
  private readonly truncations: TruncationRecovery;
  /** Lookups of a truncated file's copies, awaited at stop (they open files). */
  private readonly lookups = new Set<Promise<void>>();
  private running = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly scans = new CoalescingRunner(() => this.scanAndNote(), SCAN_SOON_MIN_GAP_MS);
  private stopping = false;
  private waiting = 0;
  private polls = 0;

  constructor(
    private readonly specs: readonly FileSourceSpec[],
    private readonly settings: TailSettings,
    private readonly deps: FileTailManagerDeps,
  ) {
    this.order = new ReadOrder(deps.gate);
    this.reader = new ReadLoop(
      this.order,
      deps.budget,
      settings.readBufferBytes,
      () => this.phase(),
      (t) => this.tracked.forget(t),
    );
    this.sources = new ConfiguredSources(specs);
    this.discovery = new FileDiscovery(specs, deps.logger, deps.metrics, (dir, file, kind) => this.onWatchEvent(dir, file, kind));
    const tailerDeps: TailerDeps = {
      metrics: deps.metrics,
      logger: deps.logger,
      settings,
      budget: deps.budget,
      submit: deps.submit,
      commit: (t, offset) => this.commit(t, offset),
      superseded: (t, previous, emitHeld) => {
        this.order.holdForCopies(t.stream);
        const lookup = (
          this.stopping ? Promise.resolve() : this.truncations.drainSuperseded(t, previous, emitHeld, () => this.commit(t, 0))
        ).finally(() => {
          this.order.releaseCopies(t.stream);
          this.lookups.delete(lookup);
          this.kick();
        });
        this.lookups.add(lookup);
      },
    };
    this.opener = new FileOpener(settings, { ...deps, tailerDeps, isTracked: (key) => this.tracked.has(key) });
    const host = this.recoveryHost();
    this.recovery = new RotationRecovery(host);
    this.truncations = new TruncationRecovery(host, this.recovery);
    deps.gate?.onRoom(() => this.kick());
  }

  private recoveryHost(): RecoveryHost {
    return {
      logger: this.deps.logger,
      metrics: this.deps.metrics,
      checkpoints: this.deps.checkpoints,
      spec: (name) => this.sources.spec(name),
      isTracked: (key) => this.tracked.has(key),
      isResumed: (cp) => {
        const t = this.tracked.get(identityKey(cp.dev, cp.ino));
        if (t === undefined || (t.declined?.fingerprint === cp.fingerprint && t.declined.offset === cp.offset)) return false;
        return t.initialFingerprint === cp.fingerprint || t.identity.fingerprint === cp.fingerprint;
      },
      scanOpens: (spec, file) => this.sources.covers(spec, file),
      slotFree: () => {
        const open = this.tracked.countOpen();
        return open.total < this.settings.maxOpenFiles && open.draining < this.settings.maxOpenRotatedFiles;
      },
      openDrain: (file, spec, opts) => this.openNew(file, spec, true, opts),
    };
  }

  async start(): Promise<void> {
    // Without a previous scan time (a first start, or a file from a version without one) there is
    // nothing to keep for a crash during recovery: record this run's time before any file is
    // found, so that every checkpoint file written carries a time the next run can look back to.
    if (this.deps.checkpoints.previousRunScannedAt === undefined) this.deps.checkpoints.noteScan(Date.now());
    for (const spec of this.specs) if (!this.deps.checkpoints.sourceKnown(spec.name)) this.startAtSources.add(spec.name);
    // As the previous run left them: the first scan overwrites entries of files rewritten in place.
    // With those a run before it had not recovered yet (a copy that waited for a drain slot).
    const cps = this.deps.checkpoints;
    const current = (cp: FileCheckpoint) => cps.file(cp.dev, cp.ino)?.fingerprint === cp.fingerprint;
    const previous = [...cps.allFiles(), ...cps.recoveringFiles().filter((cp) => !current(cp))].map((cp) => ({ ...cp }));
    await this.scan();
    const knownBefore = new Set(this.specs.filter((s) => !this.startAtSources.has(s.name)).map((s) => s.name));
    this.startAtSources.clear();
    for (const spec of this.specs) this.deps.checkpoints.markSourceKnown(spec.name);
    // Nothing is read before what rotated away while nodetap was down has been found: a
    // stream's rotated files are read before its active file.
    this.recovery.setPending(previous);
    this.waiting += await this.recovery.recoverPending(() => this.stopping);
    const liveTargets = new Map<string, string>();
    for (const t of this.tracked.values()) if (t.state === "active" && t.target !== undefined) liveTargets.set(t.stream, t.target);
    await this.recovery.recoverUnseen(this.sources.streamsOf(this.tracked.values(), previous, knownBefore), previous, liveTargets);
    await removeStaleUnpacked(cps.dir, new Set([...cps.allFiles(), ...cps.recoveringFiles()].map((cp) => cp.path)));
    this.running = true;
    this.deps.logger.info(
      { files: this.discovery.lastCounts, rotatedRecovered: this.tracked.countOpen().draining, waitingForSlot: this.waiting },
      "tailing log files",
    );
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
    const scansDone = this.scans.stop();
    for (const t of this.timers) clearInterval(t);
    this.discovery.close();
    this.deps.budget.wakeAll();
    await scansDone;
    await this.reader.whenStopped();
    await Promise.all(this.lookups);
  }

  async closeAll(): Promise<void> {
    for (const t of this.tracked.values()) await t.closeHandle();
  }

  // ---- discovery -------------------------------------------------------------------------

  private scan(): Promise<void> {
    return this.scans.run();
  }

  private async scanAndNote(): Promise<void> {
    try {
      const startedAt = Date.now();
      await this.scanOnce();
      // Not before the start-up recovery is done: a crash before it must find the same
      // previous-run time again, or files rotated away unseen would look old.
      if (this.running) this.deps.checkpoints.noteScan(startedAt);
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, "log file scan failed; retrying at the next interval");
    }
  }

  private onWatchEvent(dir: string, file: string | null, kind: "rename" | "change"): void {
    this.statCache.markDirty(dir);
    const t = file === null ? undefined : this.tracked.atPath(file);
    if (t?.isOpen) {
      this.enqueue(t);
      this.kick();
    }
    // New files show up as "rename" events; writes to files we do not tail (other logs in
    // /var/log) must not set off scans.
    // A scan shortly after: at most one per SCAN_SOON_MIN_GAP_MS however many events come.
    if (kind === "rename" || file === null || (t !== undefined && !t.isOpen)) this.scans.soon();
  }

  private async scanOnce(): Promise<void> {
    const { files, directories } = await this.discovery.scan();
    const seen = new Map<string, string[]>();
    const open = this.tracked.countOpen();
    let waiting = 0;
    const { fresh: stats, cached } = await this.statCache.statForScan(
      [...files.keys()],
      (dir, file) => this.discovery.isWatched(dir) && this.tracked.atPath(file)?.targetElsewhere !== true,
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
      const known = this.tracked.get(key);
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
    // A rotated name that the globs match too (the pods preset's 0.log.<time>) is drained as part
    // of its active file's stream, before it: when that active file is there, or is known from a
    // file tailed or checkpointed under that stream though it is missing right now (between the
    // kubelet's rename and the runtime's reopen; a stream of its own would send the rotated
    // file's lines in a lane of their own, ahead of the older rotated files still read in the
    // stream's lane). A name like `access_log.1700000000` whose base never existed is a file of
    // its own (Apache's rotatelogs).
    const known = fresh.some(([file]) => activePathOf(file) !== undefined) ? this.knownStreams() : new Set<string>();
    await mapConcurrently(fresh, ([file, spec]) => {
      const active = activePathOf(file);
      return active !== undefined && (files.has(active) || known.has(active))
        ? this.openNew(file, spec, true, { stream: active })
        : this.openNew(file, spec);
    });
    await this.detectRotations(seen);
    waiting += await this.recovery.recoverPending(() => this.stopping);
    this.waiting = waiting;
    if (waiting > 0) this.closeIdle(waiting);
    const dirs = new Set(directories);
    for (const t of this.tracked.values()) dirs.add(path.dirname(t.path));
    for (const file of files.keys()) dirs.add(path.dirname(file));
    this.discovery.watchDirectories(dirs);
    if (this.running) this.kick();
  }

  /** The streams of the files tailed now or checkpointed (this run's or the previous one's). */
  private knownStreams(): Set<string> {
    const streams = new Set<string>();
    for (const t of this.tracked.values()) streams.add(t.stream);
    for (const cp of this.deps.checkpoints.allFiles()) streams.add(cp.stream ?? cp.path);
    for (const cp of this.deps.checkpoints.recoveringFiles()) streams.add(cp.stream ?? cp.path);
    return streams;
  }

  /** Opens a newly found file and starts tracking it. Returns whether it is open. */
  private async openNew(
    file: string,
    spec: FileSourceSpec,
    drainOnly = false,
    opts: { stream?: string; resume?: ResumePoint; originFile?: string; target?: string; copyOf?: string } = {},
  ): Promise<boolean> {
    const tailer = await this.opener.open(file, spec, this.startAtSources.has(spec.name), opts);
    if (tailer === undefined) return false;
    if (opts.stream !== undefined) tailer.stream = opts.stream;
    tailer.copyOf = opts.copyOf;
    tailer.target = opts.target;
    if (opts.stream === undefined && !drainOnly) {
      const link = await symlinkTarget(file);
      tailer.target = link?.target;
      tailer.targetElsewhere = link?.elsewhere ?? false;
    }
    if (drainOnly) this.markRotated(tailer);
    this.tracked.add(tailer, file);
    const resumed = opts.resume !== undefined && tailer.readOffset <= opts.resume.offset && tailer.readOffset > 0;
    this.commit(tailer, resumed ? Math.min(opts.resume?.committed ?? tailer.readOffset, tailer.readOffset) : tailer.readOffset);
    this.enqueue(tailer);
    return true;
  }

  private markRotated(t: FileTailer): void {
    t.markRotated();
    const cp = this.deps.checkpoints.file(t.identity.dev, t.identity.ino);
    if (cp !== undefined && cp.rotated !== true) this.deps.checkpoints.setFile({ ...cp, rotated: true });
    this.order.rotated(t);
  }

  private async reopen(t: FileTailer, file: string, state: "active" | "rotated" = "active"): Promise<boolean> {
    if (!(await this.opener.reopen(t, file, state))) return false;
    this.tracked.rename(t, file);
    this.enqueue(t);
    return true;
  }

  /** Tailers whose path no longer names them were renamed or deleted: drain them. */
  private async detectRotations(seen: Map<string, string[]>): Promise<void> {
    for (const t of [...this.tracked.values()]) {
      const paths = seen.get(t.key);
      if (paths?.includes(t.path)) continue;
      if (paths !== undefined) this.tracked.rename(t, paths[0]);
      else this.tracked.unname(t);
      if (t.state === "active") {
        this.markRotated(t);
        this.enqueue(t);
      } else if (t.state === "closed" && paths === undefined) {
        await this.forgetOrDrain(t);
      }
    }
  }

  /** A closed file vanished from the globs: drain it if it grew under a new name, else forget it. */
  private async forgetOrDrain(t: FileTailer): Promise<void> {
    const home = t.path === t.stream ? rotationHome(t.stream, t.target) : t.path;
    const renamed = t.unlinked ? undefined : await findRenamedFile(path.dirname(home), t.identity.dev, t.identity.ino);
    // The same file only if it still starts with its bytes: a deleted file's inode goes to the
    // next new file (copytruncate's next copy, often), which must not be read from this offset.
    if (renamed !== undefined && (await fileStartsWith(renamed, t.identity))) {
      const st = await fs.stat(renamed).catch(() => undefined);
      if (st !== undefined && st.size !== t.readOffset && (await this.reopen(t, renamed, "rotated"))) return;
    }
    this.tracked.forget(t);
  }

  private commit(t: FileTailer, offset: number): void {
    this.deps.checkpoints.setFile(checkpointOf(t, offset));
  }

  /** Files wait for a slot: close active files idle at their end for idleCloseAfter (oldest first). */
  private closeIdle(wanted: number): void {
    for (const t of this.tracked.idleAtEnd(wanted, this.settings.idleCloseAfterMs)) {
      this.order.dequeue(t);
      void t.closeHandle();
    }
  }

  // ---- reading ---------------------------------------------------------------------------

  private enqueue(t: FileTailer): void {
    this.order.enqueue(t);
  }

  private kick(): void {
    this.reader.kick();
  }

  private phase(): "starting" | "running" | "stopping" {
    if (this.stopping) return "stopping";
    return this.running ? "running" : "starting";
  }

  /**
   * Growth that no watch event announced: files in unwatched directories every poll, the others
   * every POLL_WATCHED_EVERY polls; rotated files every poll (their rotateWait is counted here).
   */
  private poll(): void {
    const all = this.polls++ % POLL_WATCHED_EVERY === 0;
    for (const t of this.tracked.values()) {
      // A symlinked file's writes are told under its target's name (in its target's directory, maybe
      // not watched): polled every time.
      if (all || t.state !== "active" || !this.discovery.isWatched(path.dirname(t.path)) || t.target !== undefined) this.enqueue(t);
    }
    this.updateGauges();
    this.kick();
  }

  private housekeeping(): void {
    const now = Date.now();
    let emitted = false;
    for (const t of this.tracked.values()) {
      if (t.isOpen && t.holdsPartialData) {
        t.flushExpired(now);
        emitted = true;
      }
    }
    for (const t of this.tracked.takeFinished()) {
      this.order.noteDrained(t);
      if (!this.tracked.has(t.key)) {
        this.deps.checkpoints.removeFile(t.identity.dev, t.identity.ino);
        const { fingerprintBytes, fingerprint } = t.identity;
        this.deps.checkpoints.noteFinished({ stream: t.stream, fingerprintBytes, fingerprint });
      }
      const unpacked = this.recovery.unpacked.get(t.key);
      if (unpacked !== undefined) {
        this.recovery.unpacked.delete(t.key);
        void fs.rm(unpacked, { force: true });
      }
    }
    if (emitted) this.kick();
  }

  private updateGauges(): void {
    updateFileGauges(this.deps.metrics, this.tracked.values(), this.tracked.finishing, this.waiting);
  }

  status(): Record<string, unknown> {
    return { ...filesStatus([...this.tracked.values()], this.waiting), watchedDirectories: this.discovery.watchedDirectories };
  }
}
