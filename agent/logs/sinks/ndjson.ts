import type { LogOrigin, LogRecord } from "../record.js";
import type { RecordEncoder } from "./sink.js";

/**
 * One JSON object per line:
 *   {"time":"2024-05-01T10:00:00.123456789Z","stream":"stdout","message":"...","source":"pods",
 *    "file":"/var/log/pods/...","node":"n1","kubernetes":{"namespace":...,"pod_name":...,
 *    "pod_uid":...,"container_name":...,"restart_count":0}}
 * plus "truncated":true and "attributes":{...} when present. The origin part is the same for
 * every record of a file, so it is encoded once per origin and reused.
 */
export class NdjsonEncoder implements RecordEncoder {
  readonly contentType = "application/x-ndjson";
  private readonly originSuffix = new WeakMap<LogOrigin, string>();
  // Records of one file come in runs: remember the last origin to skip the WeakMap lookup.
  private lastOrigin?: LogOrigin;
  private lastSuffix = "";

  encode(records: readonly LogRecord[]): Buffer {
    let out = "";
    for (let i = 0; i < records.length; i++) out += this.line(records[i]);
    return Buffer.from(out, "utf8");
  }

  /** One record as a JSON line, newline included. */
  line(r: LogRecord): string {
    // time and stream come from our own formatting (digits, '-', ':', 'T', '.', 'Z'; a fixed
    // set of stream names): nothing in them needs escaping.
    let s = `{"time":"${r.time}","stream":"${r.stream}","message":${JSON.stringify(r.message)}`;
    if (r.truncated) s += `,"truncated":true`;
    if (r.attributes !== undefined) s += `,"attributes":${JSON.stringify(r.attributes)}`;
    return s + this.suffix(r.origin);
  }

  private suffix(origin: LogOrigin): string {
    if (origin === this.lastOrigin) return this.lastSuffix;
    let s = this.originSuffix.get(origin);
    if (s === undefined) {
      s = `,"source":${JSON.stringify(origin.source)}`;
      if (origin.file !== undefined) s += `,"file":${JSON.stringify(origin.file)}`;
      if (origin.node !== undefined && origin.node !== "") s += `,"node":${JSON.stringify(origin.node)}`;
      const k = origin.kubernetes;
      if (k !== undefined) {
        s += `,"kubernetes":${JSON.stringify({
          namespace: k.namespace,
          pod_name: k.podName,
          pod_uid: k.podUid,
          container_name: k.containerName,
          restart_count: k.restartCount,
        })}`;
      }
      s += "}\n";
      this.originSuffix.set(origin, s);
    }
    this.lastOrigin = origin;
    this.lastSuffix = s;
    return s;
  }
}
