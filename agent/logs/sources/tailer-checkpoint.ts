import type { FileCheckpoint } from "../checkpoint.js";
import type { FileTailer } from "./file-tailer.js";

/** The checkpoint entry of a tailed file with `offset` committed in its current generation. */
export function checkpointOf(t: FileTailer, offset: number): FileCheckpoint {
  const id = t.identity;
  return {
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
  };
}
