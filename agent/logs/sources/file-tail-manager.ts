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
import { fingerprintMatches, identityKey } from "./file-identity.js";
import { FileOpener } from "./file-opener.js";
import { rotationHome, symlinkTarget } from "./stream-targets.js";
import type { FileSourceSpec, TailSettings } from "./file-source-spec.js";
import type { FileTailer, SupersededGeneration, TailerDeps } from "./file-tailer.js";
import { PathStatCache } from "./path-stat-cache.js";
import { findRenamedFile } from "./renamed-file-finder.js";
import { globToRegExp } from "./glob.js";
import type { FileCheckpoint } from "../checkpoint.js";
import type { ResumePoint } from "./file-opener.js";
import { RotationRecovery, type RecoveryHost } from "./rotation-recovery.js";
import { TruncationRecovery } from "./truncation-recovery.js";
import { removeStaleUnpacked } from "./rotated-copies.js";
import { ReadOrder, type ReadGate } from "./read-order.js";
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
  private readonly tailers = new Map<string, FileTailer>();
  private readonly byPath = new Map<string, FileTailer>();
  private readonly order: ReadOrder;
  /** Forgotten tailers whose checkpoint entry goes once their last records are acknowledged. */
  private readonly finishing = new Set<FileTailer>();
  private readonly discovery: FileDiscovery;
  private readonly statCache = new PathStatCache();
  private readonly readBuf: Buffer;
  private readonly opener: FileOpener;
  private readonly startAtSources = new Set<string>();
  /** Include globs per source, to tell whether a checkpointed path is still configured. */
  private readonly includeRes: Map<string, RegExp[]>;
  /** Data that rotated away while nodetap was down (see rotation-recovery.ts). */
  private readonly recovery: RotationRecovery;
  /** The rest of a file truncated while nodetap runs (see truncation-recovery.ts). */
  private readonly truncations: TruncationRecovery;
  /** Lookups of a truncated file's copies, awaited at stop (they open files). */
  private readonly lookups = new Set<Promise<void>>();
  private running = false;
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
    this.order = new ReadOrder(deps.gate);
    this.includeRes = new Map(specs.map((s) => [s.name, s.include.map((p) => globToRegExp(path.normalize(p)))]));
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
        const lookup = this.drainSupersededCopy(t, previous, emitHeld).finally(() => {
          this.order.releaseCopies(t.stream);
          this.lookups.delete(lookup);
          this.kick();
        });
        this.lookups.add(lookup);
      },
    };
    this.opener = new FileOpener(settings, { ...deps, tailerDeps, isTracked: (key) => this.tailers.has(key) });
    const host = this.recoveryHost();
    this.recovery = new RotationRecovery(host);
    this.truncations = new TruncationRecovery(host, this.recovery);
    deps.gate?.onRoom(() => this.kick());
  }

  private recoveryHost(): RecoveryHost {
    const specs = new Map(this.specs.map((s) => [s.name, s]));
    return {
      logger: this.deps.logger,
      metrics: this.deps.metrics,
      checkpoints: this.deps.checkpoints,
      spec: (name) => specs.get(name),
      isTracked: (key) => this.tailers.has(key),
      isResumed: (cp) => {
        const t = this.tailers.get(identityKey(cp.dev, cp.ino));
        if (t === undefined || (t.declined?.fingerprint === cp.fingerprint && t.declined.offset === cp.offset)) return false;
        return t.initialFingerprint === cp.fingerprint || t.identity.fingerprint === cp.fingerprint;
      },
      scanOpens: (spec, file) => this.stillConfigured(spec, file),
      slotFree: () => {
        const open = this.countOpen();
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
    for (const t of this.tailers.values()) if (t.state === "active" && t.target !== undefined) liveTargets.set(t.stream, t.target);
    await this.recovery.recoverUnseen(this.streamsOf(previous, knownBefore), previous, liveTargets);
    await removeStaleUnpacked(cps.dir, new Set([...cps.allFiles(), ...cps.recoveringFiles()].map((cp) => cp.path)));
    this.running = true;
    this.deps.logger.info(
      { files: this.discovery.lastCounts, rotatedRecovered: this.countOpen().draining, waitingForSlot: this.waiting },
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

  /** Active paths of sources that ran before: where files may have rotated away unseen. */
  private streamsOf(previous: FileCheckpoint[], knownSources: ReadonlySet<string>): Map<string, FileSourceSpec> {
    const streams = new Map<string, FileSourceSpec>();
    for (const t of this.tailers.values()) if (t.state === "active" && knownSources.has(t.spec.name)) streams.set(t.stream, t.spec);
    for (const cp of previous) {
      const spec = this.specs.find((s) => s.name === cp.source);
      const stream = cp.stream ?? activePathOf(cp.path) ?? cp.path;
      if (spec && knownSources.has(spec.name) && this.stillConfigured(spec, stream)) streams.set(stream, spec);
    }
    return streams;
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
    await Promise.all(this.lookups);
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
          const startedAt = Date.now();
          await this.scanOnce();
          // Not before the start-up recovery is done: a crash before it must find the same
          // previous-run time again, or files rotated away unseen would look old.
          if (this.running) this.deps.checkpoints.noteScan(startedAt);
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
      (dir, file) => this.discovery.isWatched(dir) && this.byPath.get(file)?.targetElsewhere !== true,
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
    for (const t of this.tailers.values()) dirs.add(path.dirname(t.path));
    for (const file of files.keys()) dirs.add(path.dirname(file));
    this.discovery.watchDirectories(dirs);
    if (this.running) this.kick();
  }

  /** The streams of the files tailed now or checkpointed (this run's or the previous one's). */
  private knownStreams(): Set<string> {
    const streams = new Set<string>();
    for (const t of this.tailers.values()) streams.add(t.stream);
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
    this.tailers.set(tailer.key, tailer);
    this.byPath.set(file, tailer);
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

  /**
   * copytruncate while nodetap runs: what it had not read (or had not acknowledged) is in copies.
   * The file's checkpoint names the old generation until its copy is open with a checkpoint of
   * its own, or its rest was counted lost (no copy to read, or one that cannot be); only then
   * does it move to the new generation's start. A checkpoint written in between (and a crash)
   * would otherwise leave no trace of the old generation's unread rest. When the lookup throws
   * or does not run (shutdown), the entry keeps the old generation, and a restart looks for its
   * copy (or the new generation's first acknowledged read moves it on). The move is written at
   * once, not within checkpoint.interval: a crash in between made the restart find the old
   * generation's checkpoint and no copy, and count its rest lost (again, if it was counted here).
   * What the old generation held unended goes out only where no copy gives it (`emitHeld`).
   */
  private async drainSupersededCopy(t: FileTailer, previous: SupersededGeneration, emitHeld: () => void): Promise<void> {
    if (this.stopping) return;
    try {
      if (!(await this.truncations.drainAfterTruncation(t.stream, t.spec, previous, t.target))) emitHeld();
    } catch (err) {
      this.deps.logger.warn({ stream: t.stream, err: (err as Error).message }, "looking for the copy of a truncated file failed");
      // The new generation is read from here on, and its first acknowledgement moves the entry
      // past the old one: what it held goes out now or never.
      emitHeld();
      return;
    }
    if (t.committedOffset === 0) this.commit(t, 0);
    void this.deps.checkpoints.flush();
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
    if (renamed !== undefined && (await startsWith(renamed, t.identity))) {
      const st = await fs.stat(renamed).catch(() => undefined);
      if (st !== undefined && st.size !== t.readOffset && (await this.reopen(t, renamed, "rotated"))) return;
    }
    this.tailers.delete(t.key);
    if (this.byPath.get(t.path) === t) this.byPath.delete(t.path);
    this.finishing.add(t);
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
      stream: t.stream,
      ...(t.target === undefined ? {} : { target: t.target }),
      ...(t.copyOf === undefined ? {} : { copyOf: t.copyOf }),
      ...(t.copyOf === undefined ? {} : { origin: t.origin.file }),
      size: t.size,
      ...(t.state === "active" ? {} : { rotated: true }),
      ...(t.firstDataAt === undefined ? {} : { dataFrom: t.firstDataAt }),
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
      this.order.dequeue(t);
      void t.closeHandle();
    }
  }

  // ---- reading ---------------------------------------------------------------------------

  private enqueue(t: FileTailer): void {
    this.order.enqueue(t);
  }

  private kick(): void {
    // Nothing is read before start() has found what rotated away while nodetap was down (a
    // watch event on an active file must not start its reading ahead of its rotated files).
    if (this.pumping !== undefined || this.stopping || !this.running) return;
    // pump() starts in a microtask, after `pumping` is set: a gate's room listener called from
    // inside takeNext() (gate.blocked) kicks again, and two pumps would read into one buffer.
    this.pumping = Promise.resolve()
      .then(() => this.pump())
      .finally(() => {
        this.pumping = undefined;
      });
  }

  private async pump(): Promise<void> {
    while (!this.stopping) {
      if (this.deps.budget.exhausted) {
        await this.deps.budget.waitForRoom();
        continue;
      }
      const t = this.order.next();
      if (t === undefined) return;
      const outcome = await t.readOnce(this.readBuf);
      if (outcome === "more") this.enqueue(t);
      if (t.state !== "active") this.order.noteDrained(t);
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
    for (const t of this.tailers.values()) {
      if (t.isOpen && t.holdsPartialData) {
        t.flushExpired(now);
        emitted = true;
      }
    }
    for (const t of this.finishing) {
      if (t.pendingTickets > 0) continue;
      this.finishing.delete(t);
      this.order.noteDrained(t);
      if (!this.tailers.has(t.key)) {
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
    updateFileGauges(this.deps.metrics, this.tailers.values(), this.finishing, this.waiting);
  }

  status(): Record<string, unknown> {
    return { ...filesStatus([...this.tailers.values()], this.waiting), watchedDirectories: this.discovery.watchedDirectories };
  }
}

/** Whether `file` starts with the bytes `identity`'s fingerprint was computed over. */
async function startsWith(file: string, identity: { fingerprintBytes: number; fingerprint: string }): Promise<boolean> {
  const handle = await fs.open(file, "r").catch(() => undefined);
  if (handle === undefined) return false;
  try {
    return await fingerprintMatches(handle, Number((await handle.stat()).size), identity.fingerprintBytes, identity.fingerprint);
  } finally {
    await handle.close();
  }
}
