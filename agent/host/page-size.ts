import os from "node:os";
import { readBytes } from "./read.js";

/**
 * The kernel page size, which node_exporter gets from os.Getpagesize() (sockstat's *_mem_bytes are
 * page counts times this). Node has no API for it, so it is read from the ELF auxiliary vector the
 * kernel hands every process (/proc/<pid>/auxv, entry AT_PAGESZ): no subprocess, and it is the
 * host kernel's value because a container shares the kernel. arm64 hosts may use 16 or 64 KiB.
 */

const AT_NULL = 0;
const AT_PAGESZ = 6;

/** 64-bit Node targets; the auxv words are the size of a C long. */
const WORD_BYTES = ["x64", "arm64", "ppc64", "s390x", "riscv64", "loong64", "mips64el"].includes(process.arch) ? 8 : 4;
const LITTLE_ENDIAN = os.endianness() === "LE";

/** AT_PAGESZ from an auxv image (pairs of native words: type, value); undefined if absent. */
export function parseAuxvPageSize(auxv: Buffer, wordBytes = WORD_BYTES, littleEndian = LITTLE_ENDIAN): number | undefined {
  const pair = wordBytes * 2;
  for (let offset = 0; offset + pair <= auxv.length; offset += pair) {
    const type = readWord(auxv, offset, wordBytes, littleEndian);
    if (type === AT_NULL) return undefined;
    if (type === AT_PAGESZ) {
      const value = readWord(auxv, offset + wordBytes, wordBytes, littleEndian);
      return value > 0 && Number.isSafeInteger(value) ? value : undefined;
    }
  }
  return undefined;
}

function readWord(buf: Buffer, offset: number, wordBytes: number, littleEndian: boolean): number {
  if (wordBytes === 8) return Number(littleEndian ? buf.readBigUInt64LE(offset) : buf.readBigUInt64BE(offset));
  return littleEndian ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset);
}

/** Reads AT_PAGESZ from an auxv file (e.g. paths.proc("self", "auxv")); undefined when unreadable. */
export function readPageSize(auxvPath: string): number | undefined {
  try {
    return parseAuxvPageSize(readBytes(auxvPath, 64 * 1024));
  } catch {
    return undefined;
  }
}
