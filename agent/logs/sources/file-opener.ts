import fs from "node:fs/promises";
import type { BigIntStats } from "node:fs";
import type { Logger } from "pino";
import type { CheckpointStore } from "../checkpoint.js";
import type { LogMetrics } from "../metrics.js";
import type { KubernetesMetadata, LogOrigin } from "../record.js";
import { kubernetesMetadataFromPath } from "../transforms/kubernetes.js";
import { computeFingerprint, holeBefore, identityKey, lineStartBefore, matchAndExtend, type FileIdentity } from "./file-identity.js";
import type { FileSourceSpec, TailSettings } from "./file-source-spec.js";
import { FileTailer, type TailerDeps } from "./file-tailer.js";

/** Where to resume a file that has no checkpoint of its own (see FileOpener.open). */
export interface ResumePoint {
  offset: number;
  /**
   * The offset to record as acknowledged at first (default: offset): lower while records of the
   * same stream before `offset` are still in flight in the same delivery lane.
   */
  committed?: number;
  fingerprintBytes: number;
  fingerprint: string;
}

export interface FileOpenerDeps {
  readonly metrics: LogMetrics;
  readonly logger: Logger;
  readonly checkpoints: CheckpointStore;
  readonly nodeName: string;
  readonly tailerDeps: TailerDeps;
  /** Whether a tailer for this identity exists already (files are opened concurrently). */
  isTracked(key: string): boolean;
  skipPod?(meta: KubernetesMetadata): boolean;
}

/**
 * Turns a discovered path into a FileTailer: checks what it is (regular file, not a directory,
 * fifo, link loop or unreadable file, each skipped with one log line and a counted reason), and
 * where to start: at its checkpoint when device, inode and fingerprint match, else at the start
 * (or at the end for startAt=end on a source's first run).
 */
export class FileOpener {
  private readonly skippedLogged = new Set<string>();

  constructor(
    private readonly settings: TailSettings,
    private readonly deps: FileOpenerDeps,
  ) {}

  /** stat() of a candidate path; undefined (logged once, counted) when it is not a readable regular file. */
  async stat(file: string): Promise<BigIntStats | undefined> {
    try {
      const st = await fs.stat(file, { bigint: true });
      if (st.isFile()) return st;
      const dir = st.isDirectory();
      this.skipOnce(
        file,
        dir ? "directory" : "not_regular",
        dir ? "matches an include glob but is a directory" : "is not a regular file (fifo, socket or device)",
      );
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      if (code === "ELOOP") this.skipOnce(file, "loop", "is a symbolic link loop");
      else if (code === "EACCES" || code === "EPERM") this.skipOnce(file, "permission", "cannot be accessed: permission denied");
      else this.skipOnce(file, "stat", `cannot be stat'ed: ${(err as Error).message}`);
    }
    return undefined;
  }

  private skipOnce(file: string, reason: string, what: string): void {
    const key = `${reason}:${file}`;
    if (this.skippedLogged.has(key)) return;
    if (this.skippedLogged.size < 10_000) this.skippedLogged.add(key);
    this.deps.metrics.fileErrors.inc({ reason });
    this.deps.logger.warn({ file, reason }, `log file skipped: ${what}`);
  }

  private originFor(file: string, spec: FileSourceSpec): LogOrigin {
    const kubernetes = spec.kubernetes ? kubernetesMetadataFromPath(file) : undefined;
    return { source: spec.name, file, node: this.deps.nodeName, kubernetes };
  }

  /**
   * Opens a newly found file; undefined when it is skipped, unreadable or already tracked.
   * `resume` starts a file without checkpoint of its own at another file's checkpoint when it
   * begins with the same bytes (a copytruncate copy, an unpacked .gz); `originFile` is the path
   * records name (the .gz rather than its unpacked copy).
   */
  async open(
    file: string,
    spec: FileSourceSpec,
    startAtEnd: boolean,
    opts: { resume?: ResumePoint; originFile?: string } = {},
  ): Promise<FileTailer | undefined> {
    const origin = this.originFor(opts.originFile ?? file, spec);
    if (origin.kubernetes && this.deps.skipPod?.(origin.kubernetes)) return undefined;
    let handle;
    try {
      handle = await fs.open(file, "r");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT")
        this.skipOnce(file, code === "EACCES" || code === "EPERM" ? "permission" : "open", `cannot be opened: ${(err as Error).message}`);
      return undefined;
    }
    try {
      const st = await handle.stat({ bigint: true });
      const key = identityKey(st.dev, st.ino);
      if (this.deps.isTracked(key) || !st.isFile()) {
        await handle.close();
        return undefined;
      }
      const size = Number(st.size);
      const dev = String(st.dev);
      const ino = String(st.ino);
      const own = this.deps.checkpoints.file(dev, ino);
      const cp = own ?? opts.resume;
      let identity: FileIdentity;
      let offset = 0;
      // A copy may be shorter than what was read of the original (lines written after the copy).
      const fits = cp !== undefined && (cp.offset <= size || own === undefined);
      // Grown to what the file holds now: a checkpoint of a file seen short (or empty) carries a
      // fingerprint that a later generation of a copytruncated file would match as well.
      // Its own checkpoint's generation is gone where a hole now ends at its offset (see
      // holeBefore): not resumed, so the restart's recovery reads that generation from its copy.
      const rewritten = own !== undefined && fits && (await holeBefore(handle, own.offset));
      const extended =
        cp !== undefined && fits && !rewritten
          ? await matchAndExtend(handle, size, cp.fingerprintBytes, cp.fingerprint, this.settings.fingerprintBytes)
          : undefined;
      let resumedFrom: string | undefined;
      if (cp !== undefined && extended !== undefined) {
        identity = { dev, ino, fingerprintBytes: extended.bytes, fingerprint: extended.hash };
        resumedFrom = cp.fingerprint;
        // A copy shorter than what was read of the original can end inside a line (a copy still
        // being written, or one that caught a write half done): start at that line's start, read
        // before in full, not in its middle, which would go out as a line of its own.
        offset = cp.offset <= size ? cp.offset : await lineStartBefore(handle, size, this.settings.maxLineBytes);
      } else {
        const fp = await computeFingerprint(handle, size, this.settings.fingerprintBytes);
        identity = { dev, ino, fingerprintBytes: fp.bytes, fingerprint: fp.hash };
        if (startAtEnd && spec.startAt === "end") offset = size;
      }
      if (this.deps.isTracked(key)) {
        // Opened meanwhile under another name.
        await handle.close();
        return undefined;
      }
      this.deps.logger.debug({ file, offset, size, resumed: offset > 0 }, "tailing file");
      const tailer = new FileTailer(key, identity, spec, origin, handle, offset, size, this.deps.tailerDeps, resumedFrom);
      tailer.path = file;
      await tailer.armDataAt(handle, size);
      if (resumedFrom !== undefined && cp === own) tailer.firstDataAt = own?.dataFrom;
      if (rewritten && own !== undefined) tailer.declined = { fingerprint: own.fingerprint, offset: own.offset };
      return tailer;
    } catch (err) {
      await handle.close().catch(() => undefined);
      this.skipOnce(file, "open", `cannot be read: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** Reattaches a closed tailer to `file` after checking it is still the same file. */
  async reopen(t: FileTailer, file: string, state: "active" | "rotated"): Promise<boolean> {
    try {
      const handle = await fs.open(file, "r");
      const st = await handle.stat({ bigint: true });
      if (identityKey(st.dev, st.ino) !== t.key) {
        await handle.close();
        return false;
      }
      t.reopen(handle, state);
      return true;
    } catch {
      return false;
    }
  }
}
