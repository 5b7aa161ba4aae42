import fs from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { sha256Hex } from "./sha256.js";

/**
 * Which file a tailer reads, independent of its name: device and inode, plus a hash of the
 * file's first bytes. Device and inode survive renames (rotation by rename, the kubelet's
 * 0.log -> 0.log.<timestamp>); the fingerprint tells a new file that got a freed inode, or a
 * file rewritten by copytruncate, from the one a checkpoint was written for.
 *
 * A file shorter than the fingerprint size is fingerprinted over what it has, and the
 * fingerprint grows with the file as long as the earlier bytes still match.
 */
export interface FileIdentity {
  readonly dev: string;
  readonly ino: string;
  fingerprintBytes: number;
  fingerprint: string;
}

export function fingerprintOf(bytes: Buffer): string {
  return sha256Hex(bytes).slice(0, 32);
}

/** Reads up to `length` bytes from the start of the file. */
export function readHead(handle: FileHandle, length: number): Promise<Buffer> {
  return readAt(handle, 0, length);
}

/**
 * Whether the byte before `offset` is a NUL now, where data was read (a line's end: the line
 * splitter keeps a checkpoint before NULs no line follows yet): then the file was rewritten
 * since. A copytruncate of a file whose writer does not open it O_APPEND leaves a hole there
 * and, once the file starts with one, the same first bytes (NULs) and no smaller size.
 */
export async function holeBefore(handle: FileHandle, offset: number): Promise<boolean> {
  if (offset <= 0) return false;
  const byte = await readAt(handle, offset - 1, 1);
  return byte.length === 1 && byte[0] === 0;
}

/** Reads up to `length` bytes at `position` (fewer where the file ends first). */
export async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** The fingerprint of the first min(size, maxBytes) bytes. */
export async function computeFingerprint(handle: FileHandle, size: number, maxBytes: number): Promise<{ bytes: number; hash: string }> {
  const head = await readHead(handle, Math.min(size, maxBytes));
  return { bytes: head.length, hash: fingerprintOf(head) };
}

/** Whether the file still starts with the bytes `fingerprint` was computed over. */
export async function fingerprintMatches(
  handle: FileHandle,
  size: number,
  fingerprintBytes: number,
  fingerprint: string,
): Promise<boolean> {
  if (size < fingerprintBytes) return false;
  const head = await readHead(handle, fingerprintBytes);
  return head.length === fingerprintBytes && fingerprintOf(head) === fingerprint;
}

/**
 * When the file still starts with the bytes `fingerprint` was computed over: the fingerprint of
 * its first min(size, maxBytes) bytes, read in the same go (a fingerprint taken of a file that
 * was shorter then, grown to what the file holds now). Undefined when the start differs.
 */
export async function matchAndExtend(
  handle: FileHandle,
  size: number,
  fingerprintBytes: number,
  fingerprint: string,
  maxBytes: number,
): Promise<{ bytes: number; hash: string } | undefined> {
  if (size < fingerprintBytes) return undefined;
  const head = await readHead(handle, Math.max(fingerprintBytes, Math.min(size, maxBytes)));
  if (head.length < fingerprintBytes || fingerprintOf(head.subarray(0, fingerprintBytes)) !== fingerprint) return undefined;
  return head.length === fingerprintBytes
    ? { bytes: fingerprintBytes, hash: fingerprint }
    : { bytes: head.length, hash: fingerprintOf(head) };
}

/**
 * The start of the line that holds the byte before `end`: `end` itself when that byte is a \n
 * (or `end` is 0), else just past the last \n before it, looked for within `maxLineBytes`; 0
 * when there is none that close (a longer line is read again from the file's start).
 */
export async function lineStartBefore(handle: FileHandle, end: number, maxLineBytes: number): Promise<number> {
  if (end === 0) return 0;
  const from = Math.max(0, end - maxLineBytes);
  const buf = await readAt(handle, from, end - from);
  if (buf.length < end - from) return 0;
  const nl = buf.lastIndexOf(0x0a);
  return nl === buf.length - 1 ? end : nl >= 0 ? from + nl + 1 : 0;
}

export function identityKey(dev: bigint | string | number, ino: bigint | string | number): string {
  return `${dev}:${ino}`;
}

/** Whether the file at `file` starts with the bytes `identity`'s fingerprint was computed over. */
export async function fileStartsWith(file: string, identity: { fingerprintBytes: number; fingerprint: string }): Promise<boolean> {
  const handle = await fs.open(file, "r").catch(() => undefined);
  if (handle === undefined) return false;
  try {
    return await fingerprintMatches(handle, Number((await handle.stat()).size), identity.fingerprintBytes, identity.fingerprint);
  } finally {
    await handle.close();
  }
}
