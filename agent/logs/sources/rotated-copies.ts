import { createWriteStream } from "node:fs";
import fs, { type FileHandle } from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import { fingerprintOf, identityKey, readAt, readHead } from "./file-identity.js";
import { activePathOf, isCompressedName, isRotationOf, rotatedFilesOf, type RotatedCandidate } from "./rotation-names.js";

/** Directory entries looked at when following a rotated file that was renamed. */
const MAX_DIR_ENTRIES = 10_000;

/**
 * Fewer first bytes than this do not tell files apart (`w=f0`, `2026-12-`, a JSON key): a
 * fingerprint over less (a checkpoint of a file that had just been created) identifies no copy;
 * the copy is then read whole as a file nodetap never saw (duplicates rather than a wrong offset).
 */
export const MIN_MATCH_BYTES = 64;

/** The first bytes a checkpoint's fingerprint was computed over. */
export interface FingerprintRef {
  fingerprintBytes: number;
  fingerprint: string;
}

/**
 * The first `length` bytes of a rotated file (the one listed, wherever the rotator moved it
 * since), decompressed first when it is a .gz.
 */
export async function headOf(candidate: RotatedCandidate, length: number): Promise<Buffer | undefined> {
  const handle = await openCandidate(candidate).catch(() => undefined);
  if (handle === undefined) return undefined;
  if (!candidate.compressed) {
    try {
      return await readHead(handle, length);
    } finally {
      await handle.close();
    }
  }
  return gunzipHead(handle, length);
}

/**
 * A rotated file's size, decompressed for a .gz: gzip's trailer (ISIZE, the size mod 2^32 of the
 * last member; a single member as logrotate and the kubelet write). Undefined when unreadable.
 */
export async function uncompressedSizeOf(candidate: RotatedCandidate): Promise<number | undefined> {
  if (!candidate.compressed) return Number(candidate.stat.size);
  if (candidate.stat.size < 18n) return undefined;
  const handle = await openCandidate(candidate).catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const trailer = Buffer.alloc(4);
    const { bytesRead } = await handle.read(trailer, 0, 4, Number(candidate.stat.size) - 4);
    return bytesRead === 4 ? trailer.readUInt32LE(0) : undefined;
  } finally {
    await handle.close();
  }
}

async function gunzipHead(gz: FileHandle, length: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const input = gz.createReadStream({ highWaterMark: 16 * 1024 });
    const gunzip = zlib.createGunzip();
    const done = (value: Buffer | undefined) => {
      input.destroy();
      gunzip.destroy();
      resolve(value);
    };
    gunzip.on("data", (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= length) done(Buffer.concat(chunks).subarray(0, length));
    });
    gunzip.on("end", () => done(Buffer.concat(chunks).subarray(0, length)));
    gunzip.on("error", () => done(undefined));
    input.on("error", () => done(undefined));
    input.pipe(gunzip);
  });
}

/**
 * The rotated file of the stream `streamPath` whose content starts with the bytes of `ref`: the
 * copy copytruncate made of a checkpointed file, or a checkpointed file compressed after it was
 * renamed (delaycompress, the kubelet). `skip(candidate)` leaves out files already accounted for.
 */
export async function findCopyOf(
  streamPath: string,
  ref: FingerprintRef & { offset?: number },
  skip: (c: RotatedCandidate) => boolean,
): Promise<RotatedCandidate | undefined> {
  if (ref.fingerprintBytes < MIN_MATCH_BYTES) return undefined;
  const candidates = await rotatedFilesOf(path.dirname(streamPath), path.basename(streamPath));
  // Newest first: a copy is usually the most recent rotation.
  for (const c of candidates.reverse()) {
    if (skip(c)) continue;
    if (!c.compressed && Number(c.stat.size) < ref.fingerprintBytes) continue;
    const head = await headOf(c, ref.fingerprintBytes);
    if (head?.length !== ref.fingerprintBytes || fingerprintOf(head) !== ref.fingerprint) continue;
    if (head[0] === 0 && !c.compressed && !(await dataBefore(c, ref.offset ?? 0))) continue;
    return c;
  }
  return undefined;
}

/**
 * Whether the byte before `offset` in the copy is data. A checkpoint's offset follows data (a
 * line's end), so its generation's copy has data there. Generations of a file its writer does not
 * open O_APPEND all start with the same NULs once the file started with a hole, and a later one's
 * copy has a hole there: two such rotations while nodetap was down, the newest copy taken for the
 * checkpoint's, read its hole and then its own lines as the checkpoint's rest (and the older copy
 * was read whole, or with `rotate 1` its rest was gone uncounted).
 */
async function dataBefore(c: RotatedCandidate, offset: number): Promise<boolean> {
  return offset <= 0 || (await holdsDataAt(c, offset - 1));
}

/** Whether the (uncompressed) rotated file `c` has a byte other than NUL at `offset`. */
async function holdsDataAt(c: RotatedCandidate, offset: number): Promise<boolean> {
  const handle = await openCandidate(c).catch(() => undefined);
  if (handle === undefined) return false;
  try {
    const byte = await readAt(handle, offset, 1);
    return byte.length === 1 && byte[0] !== 0;
  } finally {
    await handle.close();
  }
}

/**
 * Whether rotated copy `c` holds only bytes that the generation a resumed checkpoint names had
 * below that checkpoint's offset: a copytruncate of a file whose writer does not open it O_APPEND
 * that nodetap did not notice while it ran. Reading was caught up, so the writer's next line came
 * right where it stood, no hole was met, and the first bytes (an earlier hole's NULs) stayed the
 * same: the tailer read on at the writer's offset, and the copy is what it had read. The evidence,
 * all of it needed: the copy starts like the checkpoint, it ends at or before the offset, reading
 * of that generation met data before the copy's end (`dataFrom`), and in the active file (still
 * the checkpoint's inode) the copy's last byte lies in a hole (a NUL where the copy has data). A rotation by rename, or an O_APPEND copytruncate, leaves no such hole, so a
 * generation that merely starts with the same bytes (a banner, a header) is still read whole.
 */
export async function copiedBelowOffset(
  c: RotatedCandidate,
  cp: FingerprintRef & { path: string; dev: string; ino: string; offset: number; dataFrom?: number },
): Promise<boolean> {
  const length = await uncompressedSizeOf(c);
  if (length === undefined || length === 0 || length > cp.offset || !(await startsLikeAny(c, [cp]))) return false;
  // Read as data, not skipped as NULs: reading met data before the copy's end. Where a rotation
  // came while reading stood in a hole and went unseen, the copy's lines were skipped with the
  // new hole and reading met data only past them: the copy is then read whole, late but whole.
  if (cp.dataFrom === undefined || length - 1 < cp.dataFrom) return false;
  const active = await fs.open(cp.path, "r").catch(() => undefined);
  if (active === undefined) return false;
  try {
    const st = await active.stat({ bigint: true });
    if (identityKey(st.dev, st.ino) !== identityKey(cp.dev, cp.ino)) return false;
    if ((await readAt(active, length - 1, 1))[0] !== 0) return false;
  } finally {
    await active.close();
  }
  return c.compressed || (await holdsDataAt(c, length - 1));
}

/** Where decompressed copies of rotated .gz files are kept while they are drained. */
export const UNPACK_DIR = "unpacked";

/** A rotated .gz decompressed into the state directory. */
export interface UnpackedCopy {
  file: string;
  /**
   * zlib's error where it stopped decompressing (cut short by a full disk or a killed compressor,
   * or corrupt): `file` holds what came out before that point.
   */
  damaged?: Error;
}

/** Whether `err` is zlib's (the data), not the file system's. */
export function isZlibError(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code?.startsWith("Z_") === true;
}

/**
 * Where the rotated file `c` was when it was listed is now: at its path, or under the name the
 * rotator gave it since (a numbered chain shifts `name.1.gz` to `name.2.gz`, and `name.1.gz` is
 * then the next copy). Undefined when it is gone.
 */
export async function currentPathOf(c: RotatedCandidate): Promise<string | undefined> {
  const wanted = identityKey(c.stat.dev, c.stat.ino);
  const st = await fs.lstat(c.path, { bigint: true }).catch(() => undefined);
  if (st !== undefined && identityKey(st.dev, st.ino) === wanted) return c.path;
  // Only among the same stream's rotated names, compressed alike: a deleted file's inode goes to
  // the next new file, often the rotator's next one.
  const active = activePathOf(c.path);
  if (active === undefined) return undefined;
  const dir = path.dirname(c.path);
  const base = path.basename(active);
  const names = (await fs.readdir(dir).catch(() => [] as string[])).slice(0, MAX_DIR_ENTRIES);
  for (const name of names) {
    if (!isRotationOf(name, base) || isCompressedName(name) !== c.compressed) continue;
    const other = await fs.lstat(path.join(dir, name), { bigint: true }).catch(() => undefined);
    if (other?.isFile() === true && identityKey(other.dev, other.ino) === wanted) return path.join(dir, name);
  }
  return undefined;
}

/** Opens the rotated file `c` was when it was listed, wherever it is now (currentPathOf); throws ENOENT when it is gone. */
export async function openCandidate(c: RotatedCandidate): Promise<FileHandle> {
  const wanted = identityKey(c.stat.dev, c.stat.ino);
  // Twice at most: the rotator may move it between the lookup and the open.
  for (let attempt = 0; attempt < 2; attempt++) {
    const file = await currentPathOf(c);
    if (file === undefined) break;
    let handle: FileHandle;
    try {
      handle = await fs.open(file, "r");
    } catch (err) {
      // Not there any more: look again; anything else (EACCES, EMFILE) is the answer.
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    const st = await handle.stat({ bigint: true }).catch(() => undefined);
    if (st !== undefined && identityKey(st.dev, st.ino) === wanted) return handle;
    await handle.close();
  }
  throw Object.assign(new Error(`${c.path} is gone (rotated away or deleted) before it could be read`), { code: "ENOENT" });
}

/**
 * Decompresses a rotated .gz into `<stateDir>/unpacked/` so it can be tailed like any file
 * (offsets and checkpoints as usual); the caller removes it once it is drained. A .gz that stops
 * decompressing part way gives what came out before the fault, as `zcat` does: those lines are
 * still there to read, and only the rest is lost. Deflate has no checksum before its trailer, so a
 * corrupt stretch (rather than a cut) may decode to made-up or repeated text before zlib notices,
 * as with zcat, and zlib reports both alike. Throws zlib's error when nothing decompresses at all,
 * and the read or write error when the .gz cannot be read or the copy not written.
 */
export async function unpackForDrain(copy: RotatedCandidate, stateDir: string): Promise<UnpackedCopy> {
  const gzFile = copy.path;
  const dir = path.join(stateDir, UNPACK_DIR);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const target = path.join(dir, `${path.basename(gzFile, ".gz")}-${Date.now()}-${process.pid}`);
  const tmp = `${target}.tmp`;
  try {
    const damaged = await gunzipTolerant(await openCandidate(copy), tmp);
    if (damaged !== undefined && (await fs.stat(tmp)).size === 0) throw damaged;
    await fs.rename(tmp, target);
    return damaged === undefined ? { file: target } : { file: target, damaged };
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Gunzips the open .gz `gz` into `out`; resolves with the decompressor's error if it failed part way
 * (what it gave before stays in `out`), rejects on a read or write error.
 */
function gunzipTolerant(gz: FileHandle, out: string): Promise<Error | undefined> {
  return new Promise((resolve, reject) => {
    const input = gz.createReadStream({ highWaterMark: 16 * 1024 });
    const gunzip = zlib.createGunzip();
    const output = createWriteStream(out, { mode: 0o600 });
    let damaged: Error | undefined;
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      input.destroy();
      gunzip.destroy();
      output.destroy();
      reject(err);
    };
    input.on("error", fail);
    output.on("error", fail);
    gunzip.on("error", (err) => {
      damaged = err;
      input.unpipe(gunzip);
      input.destroy();
      gunzip.unpipe(output);
      output.end();
    });
    output.on("finish", () => {
      if (!failed) resolve(damaged);
    });
    input.pipe(gunzip).pipe(output);
  });
}

/** Removes unpacked copies that no checkpoint refers to any more (left by a crash). */
export async function removeStaleUnpacked(stateDir: string, inUse: ReadonlySet<string>): Promise<void> {
  const dir = path.join(stateDir, UNPACK_DIR);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const file = path.join(dir, name);
    if (!inUse.has(file)) await fs.rm(file, { force: true });
  }
}

/** A time in ms as a file time in ns (stat's mtimeNs), at least 0. */
export function nsOf(ms: number): bigint {
  return BigInt(Math.max(0, Math.floor(ms))) * 1_000_000n;
}

/** Whether the file (decompressed when a .gz) starts with the bytes of one of `refs`. */
export async function startsLikeAny(c: RotatedCandidate, refs: readonly FingerprintRef[]): Promise<boolean> {
  const heads = new Map<number, Buffer | undefined>();
  for (const ref of refs) {
    if (ref.fingerprintBytes < MIN_MATCH_BYTES) continue;
    if (!heads.has(ref.fingerprintBytes)) heads.set(ref.fingerprintBytes, await headOf(c, ref.fingerprintBytes));
    const head = heads.get(ref.fingerprintBytes);
    if (head?.length === ref.fingerprintBytes && fingerprintOf(head) === ref.fingerprint) return true;
  }
  return false;
}
