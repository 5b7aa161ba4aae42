import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { CheckpointStore, FileCheckpoint } from "../checkpoint.js";
import type { LogMetrics } from "../metrics.js";
import { fingerprintMatches, identityKey } from "./file-identity.js";
import type { ResumePoint } from "./file-opener.js";
import type { FileSourceSpec } from "./file-source-spec.js";
import { findRenamedFile } from "./renamed-file-finder.js";
import {
  UNPACK_DIR,
  copiedBelowOffset,
  currentPathOf,
  findCopyOf,
  isZlibError,
  nsOf,
  startsLikeAny,
  unpackForDrain,
  type FingerprintRef,
  type UnpackedCopy,
} from "./rotated-copies.js";
import { activePathOf, rotatedFilesOf, type RotatedCandidate } from "./rotation-names.js";
import { rotationHome } from "./stream-targets.js";

/** What the tail manager lends the recovery. */
export interface RecoveryHost {
  readonly logger: Logger;
  readonly metrics: LogMetrics;
  readonly checkpoints: CheckpointStore;
  spec(source: string): FileSourceSpec | undefined;
  /** A tailer exists for this device:inode. */
  isTracked(key: string): boolean;
  /** A tailer reads this checkpoint's file generation (same identity and fingerprint). */
  isResumed(cp: FileCheckpoint): boolean;
  /** Whether the source's globs name `file` (the scan opens it). */
  scanOpens(spec: FileSourceSpec, file: string): boolean;
  slotFree(): boolean;
  /**
   * Opens `file` to be drained (read to its end, then closed), as part of `stream` (`target`: the
   * stream's symlink target; `copyOf`: the .gz an unpacked copy came from).
   */
  openDrain(
    file: string,
    spec: FileSourceSpec,
    opts: { stream: string; resume?: ResumePoint; originFile?: string; target?: string; copyOf?: string },
  ): Promise<boolean>;
}

/**
 * Slack on the previous run's last scan time: a file created just before that scan and renamed
 * away before the scan saw it. Kept below tail.rotateWait's usual values, so a rotated file read
 * to its end and forgotten just before a crash is not read again whole.
 */
const UNSEEN_SLACK_MS = 1000;

/**
 * Finds, after a restart, the data that rotated away while nodetap was down, so that no
 * checkpointed line is lost however the files were renamed:
 * - a checkpointed file under any name in its directory (by device and inode), drained even
 *   when the source's globs do not name it (`syslog.3` for a source including `syslog`);
 * - a checkpointed file that no longer exists, in a rotated file that starts with the same
 *   bytes: copytruncate's copy, or the file compressed (`.gz`, unpacked to the state directory);
 * - rotated files of a known stream that have no checkpoint and changed after the previous
 *   run's last scan: created and rotated away while nodetap was down (read whole, oldest first),
 *   compressed ones too unless they start like a file read before (a checkpoint's or one read to
 *   its end and forgotten: logrotate's and the kubelet's compressed copies of what was read).
 * A checkpoint is dropped only when its file provably no longer exists; that loss is counted
 * (nodetap_log_files_lost_total, nodetap_log_lost_bytes_total) and logged with the path.
 */
export class RotationRecovery {
  private pending: FileCheckpoint[] = [];
  private running = false;
  /**
   * Rotated copies (.gz or copytruncate's) drained for a checkpoint at start-up, by device and
   * inode: not new files for recoverUnseen. Not by path: a numbered chain (`name.1.gz` ->
   * `name.2.gz`) can shift while recovery runs, and the next copy then lies at a claimed path
   * (the crash matrix's copytruncate-compress lost that whole generation). Dropped once
   * recoverUnseen ran, its one reader.
   */
  private claimed: Set<string> | undefined = new Set<string>();
  /** Unpacked copies of .gz files by the identity of the copy, removed once drained. */
  readonly unpacked = new Map<string, string>();

  constructor(private readonly host: RecoveryHost) {}

  /**
   * Checkpoints the first scan did not resume. Until each is recovered it stays in the checkpoint
   * file (`recovering`): the scan may have put a new generation of the same inode in its place.
   */
  setPending(checkpoints: FileCheckpoint[]): void {
    this.pending = checkpoints.filter((cp) => !this.host.isResumed(cp));
    this.host.checkpoints.setRecovering(this.pending);
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Works through the pending checkpoints as open-file slots allow; returns how many still wait for one. */
  async recoverPending(stopping: () => boolean): Promise<number> {
    if (this.pending.length === 0 || this.running) return 0;
    this.running = true;
    try {
      const later: FileCheckpoint[] = [];
      let waiting = 0;
      for (const cp of this.pending) {
        if (stopping()) {
          later.push(cp);
          continue;
        }
        const outcome = await this.recoverOne(cp);
        if (outcome === "later" || outcome === "waiting") later.push(cp);
        if (outcome === "waiting") waiting++;
      }
      if (later.length !== this.pending.length) this.host.checkpoints.setRecovering(later);
      this.pending = later;
      return waiting;
    } finally {
      this.running = false;
    }
  }

  private streamOf(cp: FileCheckpoint): string {
    return cp.stream ?? activePathOf(cp.path) ?? cp.path;
  }

  /**
   * Where the .gz an unpacked copy came from is now: a numbered chain (`app.log.1.gz` ->
   * `app.log.3.gz`) moves it while nodetap is down, and the stream's rotated files are read
   * oldest first by their names (the crash matrix's compress × sink-refusing: 6,000-9,500 lines
   * late with the name the copy was unpacked under). Its last known name once it is gone.
   */
  private async currentNameOf(stream: string, cp: FileCheckpoint): Promise<string | undefined> {
    for (const c of await this.rotatedFilesOf(stream, cp.target)) {
      if (identityKey(c.stat.dev, c.stat.ino) === cp.copyOf && (await startsLikeAny(c, [cp]))) return c.path;
    }
    return cp.origin;
  }

  /** The stream's rotated files, next to its symlink's target where it has one. */
  rotatedFilesOf(stream: string, target: string | undefined): Promise<RotatedCandidate[]> {
    const home = rotationHome(stream, target);
    return rotatedFilesOf(path.dirname(home), path.basename(home));
  }

  private async recoverOne(cp: FileCheckpoint): Promise<"done" | "later" | "waiting"> {
    const h = this.host;
    if (h.isResumed(cp)) return "done";
    const spec = h.spec(cp.source);
    const stream = this.streamOf(cp);
    if (spec === undefined || !(h.scanOpens(spec, cp.path) || h.scanOpens(spec, stream))) {
      this.removeOwn(cp);
      h.logger.info({ file: cp.path, source: cp.source }, "dropping the checkpoint of a file no source includes any more");
      return "done";
    }
    const key = identityKey(cp.dev, cp.ino);
    // The same inode tailed as a new generation (copytruncate): the old data can only be in a copy.
    const inodeReused = h.isTracked(key);
    if (!inodeReused) {
      const found = await this.locate(cp);
      if (found !== undefined) {
        if (h.scanOpens(spec, found)) return "later"; // the scan's (waiting for a slot)
        if (!h.slotFree()) return "waiting";
        // An unpacked copy goes on as what it is a copy of: its records name the .gz, it takes
        // its place in the stream's order by the .gz's name, and it still covers that .gz.
        const originFile = cp.copyOf === undefined ? undefined : await this.currentNameOf(stream, cp);
        if (await h.openDrain(found, spec, { stream, target: cp.target, originFile, copyOf: cp.copyOf })) {
          if (path.dirname(found) === path.join(h.checkpoints.dir, UNPACK_DIR)) this.unpacked.set(key, found);
          h.metrics.filesRecovered.inc({ source: cp.source, how: "renamed" });
          h.logger.info({ file: found, was: cp.path, offset: cp.offset }, "draining a file rotated while nodetap was down");
          return "done";
        }
      }
    }
    const tracked = (c: RotatedCandidate) => h.isTracked(identityKey(c.stat.dev, c.stat.ino));
    const copy = await findCopyOf(rotationHome(stream, cp.target), cp, tracked);
    if (copy !== undefined) {
      if (!h.slotFree()) return "waiting";
      if (await this.drainCopy(copy, spec, stream, cp, cp.target)) {
        // The copy holds a checkpoint of its own now (set when it was opened, written with this):
        // this entry would lead every later start back to it, and once the rotator deleted the
        // copy, to a loss that was not one.
        this.removeOwn(cp);
        h.metrics.filesRecovered.inc({ source: cp.source, how: copy.compressed ? "compressed" : "copy" });
        h.logger.info(
          { file: copy.path, was: cp.path, offset: cp.offset },
          "draining the rotated copy of a file changed while nodetap was down",
        );
        return "done";
      }
    }
    // A copy of it drained already under a checkpoint of its own (a crash while a truncation was
    // handled leaves both entries): nothing is lost.
    if ((await findCopyOf(rotationHome(stream, cp.target), cp, (c) => !tracked(c))) !== undefined) {
      this.removeOwn(cp);
      return "done";
    }
    this.lost(cp, inodeReused);
    return "done";
  }

  /**
   * The checkpointed file by device and inode (at its path, else renamed within its directory),
   * if it still starts with the checkpoint's bytes: once a file is deleted, the filesystem gives
   * its inode to the next new file, often a neighbour's (`app.log.1` after `db.log` was removed).
   */
  private async locate(cp: FileCheckpoint): Promise<string | undefined> {
    const st = await fs.stat(cp.path, { bigint: true }).catch(() => undefined);
    const stream = this.streamOf(cp);
    // Renamed next to where the file really was: a symlinked stream's target.
    const home = cp.path === stream ? rotationHome(stream, cp.target) : cp.path;
    const found =
      st !== undefined && identityKey(st.dev, st.ino) === identityKey(cp.dev, cp.ino)
        ? cp.path
        : await findRenamedFile(path.dirname(home), cp.dev, cp.ino);
    if (found === undefined) return undefined;
    const handle = await fs.open(found, "r").catch(() => undefined);
    if (handle === undefined) return undefined;
    try {
      const size = Number((await handle.stat()).size);
      return (await fingerprintMatches(handle, size, cp.fingerprintBytes, cp.fingerprint)) ? found : undefined;
    } finally {
      await handle.close();
    }
  }

  async drainCopy(copy: RotatedCandidate, spec: FileSourceSpec, stream: string, resume?: ResumePoint, target?: string): Promise<boolean> {
    const drained = await this.openCopy(copy, spec, stream, resume, target);
    if (drained) this.claimed?.add(identityKey(copy.stat.dev, copy.stat.ino));
    return drained;
  }

  private async openCopy(
    copy: RotatedCandidate,
    spec: FileSourceSpec,
    stream: string,
    resume: ResumePoint | undefined,
    target: string | undefined,
  ): Promise<boolean> {
    if (!copy.compressed) {
      // Where it is now: a numbered chain may have shifted it since it was listed (gone: not
      // whatever took its name).
      const file = await currentPathOf(copy);
      if (file !== undefined && (await this.host.openDrain(file, spec, { stream, resume, target }))) return true;
      // Compressed since it was listed (gzip removes its input once the .gz is whole).
      const gz = `${copy.path}.gz`;
      const st = await fs.lstat(gz, { bigint: true }).catch(() => undefined);
      const originalGone = await fs.access(copy.path).then(
        () => false,
        () => true,
      );
      if (st?.isFile() !== true || !originalGone) return false;
      return this.drainCopy({ path: gz, stat: st, compressed: true }, spec, stream, resume, target);
    }
    let unpacked: UnpackedCopy;
    try {
      unpacked = await unpackForDrain(copy, this.host.checkpoints.dir);
    } catch (err) {
      const zlibError = isZlibError(err);
      this.host.metrics.fileErrors.inc({ reason: zlibError ? "decompress" : "unpack" });
      this.host.logger.warn(
        {
          file: copy.path,
          err: (err as Error).message,
          unpackDir: zlibError ? undefined : path.join(this.host.checkpoints.dir, UNPACK_DIR),
        },
        zlibError ? "a rotated .gz does not decompress: nothing of it can be read" : "could not unpack a rotated .gz to drain it",
      );
      return false;
    }
    const st = await fs.stat(unpacked.file, { bigint: true });
    if (unpacked.damaged !== undefined) {
      this.host.metrics.fileErrors.inc({ reason: "decompress" });
      this.host.logger.warn(
        { file: copy.path, err: unpacked.damaged.message, decompressedBytes: Number(st.size) },
        "a rotated .gz stops decompressing part way (cut short, or corrupt: then the end of what came out may be garbage): draining what came out, the rest is lost",
      );
    }
    this.unpacked.set(identityKey(st.dev, st.ino), unpacked.file);
    const copyOf = identityKey(copy.stat.dev, copy.stat.ino);
    if (await this.host.openDrain(unpacked.file, spec, { stream, resume, originFile: copy.path, target, copyOf })) return true;
    this.unpacked.delete(identityKey(st.dev, st.ino));
    await fs.rm(unpacked.file, { force: true });
    return false;
  }

  /**
   * Drops `cp`'s entry, not a newer generation's under the same device:inode (a checkpoint from
   * the `recovering` list shares it with the entry of what the file holds now). Generations that
   * start with a hole share their first bytes: the offset tells them apart.
   */
  private removeOwn(cp: FileCheckpoint): void {
    const entry = this.host.checkpoints.file(cp.dev, cp.ino);
    if (entry?.fingerprint === cp.fingerprint && entry.offset === cp.offset) this.host.checkpoints.removeFile(cp.dev, cp.ino);
  }

  private lost(cp: FileCheckpoint, inodeReused: boolean): void {
    const h = this.host;
    const unread = cp.size !== undefined ? Math.max(0, cp.size - cp.offset) : undefined;
    // A reused inode's entry now belongs to the new generation: keep it.
    if (!inodeReused) this.removeOwn(cp);
    // Rotated already and read to its end when last seen (the rotator deleted it since, past its
    // `rotate` count, and its inode may have gone to a new file): nothing is missing. An active
    // file read to its end may have grown since.
    if (unread === 0 && cp.rotated === true) {
      h.logger.debug({ file: cp.path, stream: cp.stream }, "forgetting a rotated file read to its end and deleted since");
      return;
    }
    h.metrics.filesLost.inc({ source: cp.source });
    if (unread !== undefined) h.metrics.lostBytes.inc({ source: cp.source }, unread);
    h.logger.warn(
      { file: cp.path, stream: this.streamOf(cp), source: cp.source, offset: cp.offset, unreadBytes: unread ?? "unknown" },
      "a checkpointed log file is gone (no file with its identity or content left where it rotates to): what was written to it after nodetap last read it, its unread rest, is lost",
    );
  }

  /**
   * Rotated files of `streams` that no checkpoint knows and that changed after the previous
   * run's last scan: opened to be drained from their start, oldest first. Only on a restart of
   * sources that ran before (a first start follows startAt instead).
   */
  async recoverUnseen(
    streams: ReadonlyMap<string, FileSourceSpec>,
    previous: readonly FileCheckpoint[],
    liveTargets: ReadonlyMap<string, string> = new Map(),
  ): Promise<void> {
    try {
      await this.drainUnseen(streams, previous, liveTargets);
    } finally {
      this.claimed = undefined;
    }
  }

  private async drainUnseen(
    streams: ReadonlyMap<string, FileSourceSpec>,
    previous: readonly FileCheckpoint[],
    liveTargets: ReadonlyMap<string, string>,
  ): Promise<void> {
    const since = this.host.checkpoints.previousRunScannedAt;
    if (since === undefined) return;
    const threshold = nsOf(since - UNSEEN_SLACK_MS);
    const previousByKey = new Map(previous.map((cp) => [identityKey(cp.dev, cp.ino), cp]));
    // .gz files whose unpacked copies were being drained under checkpoints of their own when
    // nodetap stopped: those checkpoints' recovery reads on from their offsets. Read whole here,
    // each crash during such a drain sent a whole generation again (kubelet torture: 129,656
    // duplicates of 399,957 lines, 30,488 after).
    const unpackedFrom = new Map<string, FileCheckpoint[]>();
    for (const cp of previous) if (cp.copyOf !== undefined) unpackedFrom.set(cp.copyOf, [...(unpackedFrom.get(cp.copyOf) ?? []), cp]);
    // Every target the stream had: its checkpoints' and its active file's now (a symlink made
    // while nodetap was down, or pointed elsewhere since).
    const targets = new Map<string, Set<string | undefined>>();
    const addTarget = (stream: string, target: string | undefined) => targets.set(stream, (targets.get(stream) ?? new Set()).add(target));
    for (const cp of previous) addTarget(this.streamOf(cp), cp.target);
    for (const [stream, target] of liveTargets) addTarget(stream, target);
    for (const [stream, spec] of streams) {
      const finished = this.host.checkpoints.finishedOf(stream);
      const resumed = previous.filter((cp) => cp.rotated !== true && this.streamOf(cp) === stream && this.host.isResumed(cp));
      for (const target of targets.get(stream) ?? [undefined]) {
        if (!(await this.drainUnseenOf(stream, spec, target, { finished, resumed }, threshold, previousByKey, unpackedFrom))) return;
      }
    }
  }

  /** drainUnseen for one of the stream's places (`target`); false once no drain slot is free. */
  private async drainUnseenOf(
    stream: string,
    spec: FileSourceSpec,
    target: string | undefined,
    read: { finished: readonly FingerprintRef[]; resumed: readonly FileCheckpoint[] },
    threshold: bigint,
    previousByKey: ReadonlyMap<string, FileCheckpoint>,
    unpackedFrom: ReadonlyMap<string, FileCheckpoint[]>,
  ): Promise<boolean> {
    for (const c of await this.rotatedFilesOf(stream, target)) {
      const key = identityKey(c.stat.dev, c.stat.ino);
      if (this.host.isTracked(key) || this.claimed?.has(key) === true || c.stat.mtimeNs < threshold) continue;
      // By identity and content: a deleted .gz's inode goes to the next new file, often the next .gz.
      const copies = unpackedFrom.get(key);
      if (copies !== undefined && (await startsLikeAny(c, copies))) continue;
      // The checkpointed file itself (not a new file that got a deleted file's inode).
      const own = previousByKey.get(key);
      if (own !== undefined && (await startsLikeAny(c, [own]))) continue;
      // A compressed copy of a file read to its end before (logrotate's, the kubelet's).
      if (c.compressed && (await startsLikeAny(c, read.finished))) continue;
      // What the active file's tailer read before the copy was made, in the same offsets.
      if (await anyAsync(read.resumed, (cp) => copiedBelowOffset(c, cp))) {
        this.host.logger.debug({ file: c.path, stream }, "not reading a rotated copy whose lines were read before it was made");
        continue;
      }
      if (!this.host.slotFree()) return false;
      if (await this.drainCopy(c, spec, stream, undefined, target)) {
        this.host.metrics.filesRecovered.inc({ source: spec.name, how: "unseen" });
        this.host.logger.info({ file: c.path, stream }, "draining a file created and rotated away while nodetap was down");
      }
    }
    return true;
  }
}

async function anyAsync<T>(items: readonly T[], test: (item: T) => Promise<boolean>): Promise<boolean> {
  for (const item of items) if (await test(item)) return true;
  return false;
}
