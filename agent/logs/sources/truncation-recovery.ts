import type { FileSourceSpec } from "./file-source-spec.js";
import type { FileTailer, SupersededGeneration } from "./file-tailer.js";
import { identityKey } from "./file-identity.js";
import { MIN_MATCH_BYTES, nsOf, startsLikeAny, uncompressedSizeOf } from "./rotated-copies.js";
import type { RecoveryHost, RotationRecovery } from "./rotation-recovery.js";
import type { RotatedCandidate } from "./rotation-names.js";

/**
 * Slack on the time a tailer last saw a generation, against the coarse clock of file
 * modification times: a copy made just after that stat may carry a slightly earlier time.
 */
const SEEN_SLACK_MS = 1000;

/**
 * Whether a rotated file was last written before the truncation of `previous` was seen. Date.now()
 * rounds down to the ms and a file's mtime is never later than the clock, so anything written
 * before the detection has an mtime below the detection's ms + 1 (a copy made within that ms
 * was dropped, and the lines written after the tailer's last look with it).
 */
function writtenBeforeDetection(c: RotatedCandidate, previous: SupersededGeneration): boolean {
  return c.stat.mtimeNs < nsOf(previous.detectedAt + 1);
}

/**
 * A file truncated while nodetap runs (logrotate's copytruncate, a plain `: > file`, a writer
 * that does not append leaving a hole): its old generation's unread rest is read from the copy
 * the rotator made of it, found by its first bytes, or counted lost.
 */
export class TruncationRecovery {
  constructor(
    private readonly host: RecoveryHost,
    /** The stream's rotated files and how to drain one (the restart's recovery does the same). */
    private readonly copies: Pick<RotationRecovery, "rotatedFilesOf" | "drainCopy">,
  ) {}

  /**
   * copytruncate while nodetap runs: what it had not read (or had not acknowledged) is in copies.
   * The file's checkpoint names the old generation until its copy is open with a checkpoint of
   * its own, or its rest was counted lost (no copy to read, or one that cannot be); only then
   * does it move to the new generation's start (`commitNewStart`). A checkpoint written in between
   * (and a crash) would otherwise leave no trace of the old generation's unread rest. When the
   * lookup throws, or the caller does not run it (shutdown), the entry keeps the old generation, and a restart
   * looks for its copy (or the new generation's first acknowledged read moves it on). The move is
   * written at once, not within checkpoint.interval: a crash in between made the restart find the
   * old generation's checkpoint and no copy, and count its rest lost (again, if it was counted here).
   * What the old generation held unended goes out only where no copy gives it (`emitHeld`).
   */
  async drainSuperseded(
    file: Pick<FileTailer, "stream" | "spec" | "target" | "committedOffset">,
    previous: SupersededGeneration,
    emitHeld: () => void,
    commitNewStart: () => void,
  ): Promise<void> {
    try {
      if (!(await this.drainAfterTruncation(file.stream, file.spec, previous, file.target))) emitHeld();
    } catch (err) {
      this.host.logger.warn({ stream: file.stream, err: (err as Error).message }, "looking for the copy of a truncated file failed");
      // The new generation is read from here on, and its first acknowledgement moves the entry
      // past the old one: what it held goes out now or never.
      emitHeld();
      return;
    }
    if (file.committedOffset === 0) commitNewStart();
    void this.host.checkpoints.flush();
  }

  /**
   * copytruncate while nodetap runs: the generation `stream`'s file held before it was truncated
   * is in the copy the rotator made of it, read on from what went out. Copies made after that one
   * hold generations that came and went while the file's reading waited (the in-flight budget,
   * the stream's rotated files first, a stalled process): read whole, oldest first. When no copy
   * starts like the generation (it was seen too short to tell, or its copy is gone), every copy
   * made since the tailer last saw the file is read whole, except copies of files read before.
   * A copy found but not drainable, or none where the generation had bytes not read yet, makes
   * that rest lost: counted (files and bytes lost) and logged, as a restart would find no more.
   * `target`: the stream's symlink target, next to which the copies are.
   * True when the generation's rest is read from a copy (then the copy gives a line that reading
   * stopped inside whole, from its start); false when it is not, or was counted lost.
   */
  async drainAfterTruncation(stream: string, spec: FileSourceSpec, previous: SupersededGeneration, target?: string): Promise<boolean> {
    const h = this.host;
    // A copy written after the truncation was seen holds a later generation, except a .gz: its
    // mtime is when gzip wrote it, after logrotate's copy and truncate (copytruncate + compress);
    // such a .gz can be the generation's copy when its first bytes say so, not a copy read whole.
    const candidates = (await this.copies.rotatedFilesOf(stream, target)).filter(
      (c) => !h.isTracked(identityKey(c.stat.dev, c.stat.ino)) && (c.compressed || writtenBeforeDetection(c, previous)),
    );
    let matched = -1;
    if (previous.fingerprintBytes >= MIN_MATCH_BYTES) {
      for (let i = candidates.length - 1; i >= 0 && matched < 0; i--) {
        if (await startsLikeAny(candidates[i], [previous])) matched = i;
      }
    }
    let unread: RotatedCandidate[];
    let restFromCopy = false;
    if (matched >= 0) {
      unread = candidates.slice(matched + 1);
      const copy = candidates[matched];
      const resume = {
        offset: previous.issued,
        committed: previous.committed,
        fingerprintBytes: previous.fingerprintBytes,
        fingerprint: previous.fingerprint,
      };
      if (await this.copies.drainCopy(copy, spec, stream, resume, target)) {
        // A copy that ends before where reading stopped lacks the head of a line held here.
        restFromCopy = ((await uncompressedSizeOf(copy)) ?? 0) >= previous.readEnd;
        h.logger.info(
          { file: copy.path, stream, offset: previous.issued, committed: previous.committed },
          "draining the rest of a truncated file from its copy",
        );
      } else if (await this.copyTailedAlready(stream, previous, target)) {
        restFromCopy = true;
      } else {
        // Gone since it was found, unreadable, or not gzip after all: a restart would fail alike.
        this.truncatedRestLost(spec, stream, previous, `its copy ${copy.path} could not be opened or decompressed`);
      }
    } else {
      const since = nsOf(previous.seenAt - SEEN_SLACK_MS);
      const finished = h.checkpoints.finishedOf(stream);
      unread = [];
      const newest = candidates.at(-1);
      for (const c of candidates) {
        // A .gz finished since the truncation was seen is the generation's copy only as the newest
        // (compress); behind a newer copy it is an older one (delaycompress compresses it now).
        const inTime = writtenBeforeDetection(c, previous) || (c.compressed && c === newest);
        if (c.stat.mtimeNs >= since && inTime && !(await startsLikeAny(c, finished))) unread.push(c);
      }
    }
    let drained = 0;
    for (const c of unread) {
      if (!(await this.copies.drainCopy(c, spec, stream, undefined, target))) continue;
      drained++;
      h.metrics.filesRecovered.inc({ source: spec.name, how: "unread_generation" });
      h.logger.info(
        { file: c.path, stream },
        "draining a copy of a generation of a truncated file that came and went while its reading waited",
      );
    }
    if (matched >= 0) return restFromCopy;
    // Copies read whole: one of them is the generation's, as far as can be told (none is, where
    // the generation was long enough to match by its first bytes).
    if (drained > 0 && previous.fingerprintBytes < MIN_MATCH_BYTES) return true;
    if (await this.copyTailedAlready(stream, previous, target)) return true;
    // Truncated with bytes not read yet, and no copy next to it: a plain truncation (`: > file`),
    // or a rotator that puts its copies elsewhere (logrotate's olddir).
    if (previous.unreadBytes > 0) this.truncatedRestLost(spec, stream, previous, "no rotated copy next to it starts like it");
    return false;
  }

  /**
   * Whether a copy of the truncated generation is read already: a source whose globs name rotated
   * files too (`app.log*`, the pods preset's `*.log.*`) opens the copy as a file of its own, read
   * whole. Where the generation was seen too short to tell its copy, any rotated file tailed and
   * made since it was last seen may be it.
   */
  private async copyTailedAlready(stream: string, previous: SupersededGeneration, target: string | undefined): Promise<boolean> {
    const since = nsOf(previous.seenAt - SEEN_SLACK_MS);
    for (const c of await this.copies.rotatedFilesOf(stream, target)) {
      if (!this.host.isTracked(identityKey(c.stat.dev, c.stat.ino)) || !writtenBeforeDetection(c, previous)) continue;
      if (previous.fingerprintBytes < MIN_MATCH_BYTES ? c.stat.mtimeNs >= since : await startsLikeAny(c, [previous])) return true;
    }
    return false;
  }

  private truncatedRestLost(spec: FileSourceSpec, stream: string, previous: SupersededGeneration, why: string): void {
    const h = this.host;
    h.metrics.filesLost.inc({ source: spec.name });
    h.metrics.lostBytes.inc({ source: spec.name }, previous.unreadBytes);
    h.logger.warn(
      { stream, source: spec.name, offset: previous.committed, unreadBytes: previous.unreadBytes, why },
      "a log file was truncated before nodetap read all of it, and its unread rest cannot be read: it is lost",
    );
  }
}
