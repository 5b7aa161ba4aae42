import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import type { FileHistory } from "./history.js";
import type { Prng } from "./prng.js";
import type { Scheme } from "./options.js";
import type { LineFormat, TortureWriter } from "./writer.js";

const gzip = promisify(zlib.gzip);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where the writers write and how the agent's sources must be set to tail them. */
export interface Layout {
  /** The active file of each writer. */
  files: string[];
  format: LineFormat;
  /** The `logs.sources` section for the agent. */
  sources: Record<string, unknown>;
}

/** Rotated files the kubelet keeps besides 0.log (containerLogMaxFiles 5). */
export const KUBELET_MAX_FILES = 5;

export function layoutFor(scheme: Scheme, logsDir: string, files: number): Layout {
  if (scheme === "kubelet" || scheme === "kubelet-symlinks") {
    // /var/log/pods/<namespace>_<pod>_<uid>/<container>/0.log; the prefix before /pods/ is free.
    const root = path.join(logsDir, "pods");
    const out: string[] = [];
    for (let i = 0; i < files; i++) {
      const dir = path.join(root, `torture_pod-${i}_00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, "app");
      fs.mkdirSync(dir, { recursive: true });
      out.push(path.join(dir, "0.log"));
    }
    if (scheme === "kubelet-symlinks") {
      // Fluent Bit's include: the kubelet's /var/log/containers/<pod>_<ns>_<container>-<id>.log,
      // symlinks to each 0.log. The kubelet rotates the targets; no rotated name is included.
      const links = path.join(logsDir, "containers");
      fs.mkdirSync(links, { recursive: true });
      out.forEach((file, i) => fs.symlinkSync(file, path.join(links, `pod-${i}_torture_app-${String(i).padStart(64, "c")}.log`)));
      return {
        files: out,
        format: "cri",
        sources: { files: { include: [`${links}/*.log`], format: "cri", startAt: "beginning" } },
      };
    }
    return {
      files: out,
      format: "cri",
      // The pods source's preset, rooted here: rotated 0.log.<timestamp> included, .gz/.tmp not.
      sources: {
        pods: {
          enabled: true,
          include: [`${root}/*/*/*.log`, `${root}/*/*/*.log.*`],
          exclude: ["*.gz", "*.tmp"],
          format: "cri",
          startAt: "beginning",
        },
      },
    };
  }
  fs.mkdirSync(logsDir, { recursive: true });
  const out = Array.from({ length: files }, (_, i) => path.join(logsDir, `f${i}.log`));
  // Only the active names, like the host preset (/var/log/syslog, not syslog.1).
  return { files: out, format: "plain", sources: { files: { include: [`${logsDir}/*.log`], format: "plain", startAt: "beginning" } } };
}

/** Rotates one writer's file the way one real rotator does. */
export interface Rotator {
  rotate(): Promise<void>;
  /**
   * copytruncate only: per rotation, the writer's sequence numbers [from, to) written between
   * the start of the copy and the truncate. Those lines may be in neither file: the rotator's
   * own race, not the agent's.
   */
  readonly raceWindows: Array<[number, number]>;
}

/**
 * `history` is told of every plain file removed or compressed (and, for copytruncate, which
 * lines each copy holds; other writers report their files themselves when they open them).
 */
export function newRotator(scheme: Scheme, writer: TortureWriter, keep: number, prng: Prng, history: FileHistory): Rotator {
  switch (scheme) {
    case "rename-chain":
      return new RenameChain(writer, keep, prng, history, "none");
    case "delaycompress":
      return new RenameChain(writer, keep, prng, history, "delayed");
    case "compress":
      return new RenameChain(writer, keep, prng, history, "at-once");
    case "dateext":
      return new DateExt(writer, keep, prng, history);
    case "copytruncate":
      return new CopyTruncate(writer, keep, history, false);
    case "copytruncate-compress":
      return new CopyTruncate(writer, keep, history, true);
    case "copytruncate-noappend":
      return new CopyTruncate(writer, keep, history, false);
    case "kubelet":
    case "kubelet-symlinks":
      return new Kubelet(writer, prng, history);
  }
}

export const isCopyTruncate = (scheme: Scheme) => scheme.startsWith("copytruncate");

/** Whether writers of this scheme report their files to the history (all but copytruncate's one file). */
export const writerReportsFiles = (scheme: Scheme) => !isCopyTruncate(scheme);

/** Deletes `file` (if there), telling `history` first. */
function remove(file: string, history: FileHistory): void {
  history.gone(file);
  fs.rmSync(file, { force: true });
}

function renameIfExists(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}

/** gzip `file` to `file.gz` through `tmp`, then remove `file` (gzip(1) and the kubelet alike). */
async function compress(file: string, history: FileHistory, tmp = `${file}.gz`): Promise<void> {
  const data = await fs.promises.readFile(file);
  await fs.promises.writeFile(tmp, await gzip(data));
  if (tmp !== `${file}.gz`) await fs.promises.rename(tmp, `${file}.gz`);
  history.gone(file);
  await fs.promises.unlink(file);
}

/**
 * gzip(1) as logrotate runs it: `file.gz` is written piece by piece (a reader can find it cut
 * short, beside the whole `file`), then `file` is removed.
 */
async function gzipInPlace(file: string, history: FileHistory): Promise<void> {
  const packed = await gzip(await fs.promises.readFile(file));
  const out = await fs.promises.open(`${file}.gz`, "w");
  try {
    const piece = Math.ceil(packed.length / 4);
    for (let at = 0; at < packed.length; at += piece) {
      await out.write(packed.subarray(at, at + piece));
      await sleep(2);
    }
  } finally {
    await out.close();
  }
  history.gone(file);
  await fs.promises.unlink(file);
}

/** The delay between the rotator's rename and the application's reopen (its SIGHUP handling). */
const reopenDelayMs = (prng: Prng) => prng.between(0, 30);

/**
 * logrotate `create` (its default): f.(keep-1) -> f.keep, …, f.1 -> f.2, f -> f.1, create f,
 * postrotate makes the writer reopen. With `compress` + `delaycompress` ("delayed"): the chain
 * holds f.N.gz, and after the shift f.2 (last rotation's f.1) is compressed to f.2.gz. With
 * `compress` alone ("at-once"): every rotated file is a .gz, f.1 is gzipped right after the
 * rename (while the writer may still be finishing its last lines in it).
 */
class RenameChain implements Rotator {
  readonly raceWindows: Array<[number, number]> = [];

  constructor(
    private readonly w: TortureWriter,
    private readonly keep: number,
    private readonly prng: Prng,
    private readonly history: FileHistory,
    private readonly compression: "none" | "delayed" | "at-once",
  ) {}

  async rotate(): Promise<void> {
    const f = this.w.file;
    const gz = this.compression === "none" ? "" : ".gz";
    remove(`${f}.${this.keep}${gz}`, this.history);
    for (let i = this.keep - 1; i >= 1; i--) {
      // With delaycompress f.1 is the one plain file of the chain.
      const suffix = i === 1 && this.compression === "delayed" ? "" : gz;
      renameIfExists(`${f}.${i}${suffix}`, `${f}.${i + 1}${suffix}`);
    }
    fs.renameSync(f, `${f}.1`);
    fs.closeSync(fs.openSync(f, "a"));
    await sleep(reopenDelayMs(this.prng));
    this.w.reopen();
    if (this.compression === "delayed" && this.keep >= 2 && fs.existsSync(`${f}.2`)) await compress(`${f}.2`, this.history);
    if (this.compression === "at-once") await gzipInPlace(`${f}.1`, this.history);
  }
}

/** logrotate `dateext` + `dateformat -%Y%m%d-%s`: f -> f-YYYYMMDD-<seconds>, create f, keep the newest `keep`. */
class DateExt implements Rotator {
  readonly raceWindows: Array<[number, number]> = [];
  private lastSeconds = 0;

  constructor(
    private readonly w: TortureWriter,
    private readonly keep: number,
    private readonly prng: Prng,
    private readonly history: FileHistory,
  ) {}

  async rotate(): Promise<void> {
    const f = this.w.file;
    // Unique names even when two rotations fall in the same second (logrotate would refuse).
    const seconds = Math.max(Math.floor(Date.now() / 1000), this.lastSeconds + 1);
    this.lastSeconds = seconds;
    const d = new Date(seconds * 1000);
    const ymd = `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, "0")}${String(d.getUTCDate()).padStart(2, "0")}`;
    fs.renameSync(f, `${f}-${ymd}-${seconds}`);
    fs.closeSync(fs.openSync(f, "a"));
    await sleep(reopenDelayMs(this.prng));
    this.w.reopen();
    const base = path.basename(f) + "-";
    const rotated = fs
      .readdirSync(path.dirname(f))
      .filter((n) => n.startsWith(base))
      .sort();
    for (const old of rotated.slice(0, Math.max(0, rotated.length - this.keep))) remove(path.join(path.dirname(f), old), this.history);
  }
}

/**
 * logrotate `copytruncate`: shift the chain, copy f to f.1, truncate f; the writer keeps its
 * descriptor (O_APPEND, so it goes on at the new end). The copy runs off the event loop so the
 * writer keeps writing meanwhile, as a real application would. With `compress` (no
 * delaycompress) the chain holds f.N.gz and f.1 is gzipped right after the truncate.
 */
class CopyTruncate implements Rotator {
  readonly raceWindows: Array<[number, number]> = [];
  /** The first line written after the last truncate. */
  private since = 0;

  constructor(
    private readonly w: TortureWriter,
    private readonly keep: number,
    private readonly history: FileHistory,
    private readonly compress: boolean,
  ) {}

  async rotate(): Promise<void> {
    const f = this.w.file;
    const gz = this.compress ? ".gz" : "";
    remove(`${f}.${this.keep}${gz}`, this.history);
    for (let i = this.keep - 1; i >= 1; i--) renameIfExists(`${f}.${i}${gz}`, `${f}.${i + 1}${gz}`);
    const from = this.w.seq;
    await fs.promises.copyFile(f, `${f}.1`);
    const to = this.w.seq;
    fs.truncateSync(f, 0);
    this.raceWindows.push([from, to]);
    this.history.holds(this.w.id, this.since, to, `${f}.1`);
    this.since = to;
    if (this.compress) await gzipInPlace(`${f}.1`, this.history);
  }
}

/**
 * The kubelet's container log rotation (containerLogManager.rotateLog): drop leftover .tmp
 * files, remove the oldest rotated files so that at most MaxFiles-2 stay, gzip every rotated
 * file not yet compressed (through .tmp), rename 0.log to 0.log.YYYYMMDD-HHMMSS, and ask the
 * runtime to reopen (ReopenContainerLog creates the new 0.log).
 */
class Kubelet implements Rotator {
  readonly raceWindows: Array<[number, number]> = [];
  private lastSeconds = 0;

  constructor(
    private readonly w: TortureWriter,
    private readonly prng: Prng,
    private readonly history: FileHistory,
  ) {}

  async rotate(): Promise<void> {
    const f = this.w.file;
    const dir = path.dirname(f);
    const base = path.basename(f) + ".";
    let rotated = fs
      .readdirSync(dir)
      .filter((n) => n.startsWith(base))
      .sort();
    for (const n of rotated.filter((x) => x.endsWith(".tmp"))) fs.rmSync(path.join(dir, n), { force: true });
    rotated = rotated.filter((x) => !x.endsWith(".tmp"));
    const excess = Math.max(0, rotated.length - (KUBELET_MAX_FILES - 2));
    for (const n of rotated.slice(0, excess)) remove(path.join(dir, n), this.history);
    for (const n of rotated.slice(excess)) {
      if (!n.endsWith(".gz")) await compress(path.join(dir, n), this.history, path.join(dir, `${n}.tmp`));
    }
    // Unique names even when the clock second repeats: the stamp moves on at least a second.
    const seconds = Math.max(Math.floor(Date.now() / 1000), this.lastSeconds + 1);
    this.lastSeconds = seconds;
    fs.renameSync(f, `${f}.${kubeletStamp(new Date(seconds * 1000))}`);
    await sleep(reopenDelayMs(this.prng));
    this.w.reopen();
  }
}

/** Go's "20060102-150405" (UTC here). */
function kubeletStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}
