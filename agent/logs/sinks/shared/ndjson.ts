import type { LogOrigin, LogRecord, LogStream } from "../../record.js";
import { GrowableBuffer } from "../../delivery/growable-buffer.js";
import type { RecordEncoder } from "../../delivery/sink.js";
import { ALL_GROUPS, apiMetadata, nonEmpty, type KubernetesMetadataGroup } from "./kubernetes-fields.js";

/**
 * What JSON.stringify would escape in a string: '"', '\', control characters, and (well-formed
 * JSON.stringify) lone surrogates; any surrogate sends the message the slow way, to be safe.
 */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

const TIME_KEY = Buffer.from('{"time":"', "latin1");
const STREAM_KEYS: Record<LogStream, Buffer> = {
  stdout: Buffer.from('","stream":"stdout","message":', "latin1"),
  stderr: Buffer.from('","stream":"stderr","message":', "latin1"),
  "": Buffer.from('","stream":"","message":', "latin1"),
};
const TRUNCATED = Buffer.from(',"truncated":true', "latin1");
const QUOTE = 0x22;
/** Bytes of a record's JSON line besides its time, message, attributes and origin suffix. */
const FIXED_BYTES = TIME_KEY.length + STREAM_KEYS.stdout.length + TRUNCATED.length + 2;

/**
 * One JSON object per line:
 *   {"time":"2024-05-01T10:00:00.123456789Z","stream":"stdout","message":"...","source":"pods",
 *    "file":"/var/log/pods/...","node":"n1","kubernetes":{"namespace":...,"pod_name":...,
 *    "pod_uid":...,"container_name":...,"restart_count":0}}
 * plus "truncated":true and "attributes":{...} when present, and in "kubernetes" the API
 * server's metadata the sink carries (logs.sink.kubernetesMetadata): "container_image",
 * "pod_labels", "pod_annotations", "owner" and "workload" ({"kind","name"}), "namespace_labels",
 * "node_labels", each only when it has a value. The origin part is the same for
 * every record of a file, so it is encoded once per origin and reused.
 *
 * encode() and append() write the lines straight into a Buffer (no per-line strings, no
 * batch-sized string to flatten): at hundreds of thousands of lines per second those strings were
 * most of what the agent allocated, and V8 sized its heap for them. line() is the same encoding
 * as a string (dead letters of record batches).
 */
export class NdjsonEncoder implements RecordEncoder {
  readonly contentType = "application/x-ndjson";
  private readonly originSuffix = new WeakMap<LogOrigin, { text: string; bytes: Buffer }>();
  // Records of one file come in runs: remember the last origin to skip the WeakMap lookup.
  private lastOrigin?: LogOrigin;
  private lastSuffix?: { text: string; bytes: Buffer };

  constructor(private readonly groups: ReadonlySet<KubernetesMetadataGroup> = ALL_GROUPS) {}

  encode(records: readonly LogRecord[]): Buffer {
    let capacity = 0;
    for (let i = 0; i < records.length; i++) capacity += records[i].message.length + 320;
    const out = new GrowableBuffer(capacity);
    for (let i = 0; i < records.length; i++) this.append(out, records[i]);
    return out.bytes();
  }

  /** Appends one record's JSON line to `out`. */
  append(out: GrowableBuffer, r: LogRecord): void {
    const suffix = this.suffix(r.origin).bytes;
    const attributes = r.attributes === undefined ? undefined : `,"attributes":${JSON.stringify(r.attributes)}`;
    const fast = !NEEDS_ESCAPE.test(r.message);
    const message = fast ? r.message : JSON.stringify(r.message);
    // UTF-8 takes at most 3 bytes per UTF-16 unit; attributes may hold any text too.
    const need = FIXED_BYTES + r.time.length + 3 * message.length + suffix.length + (attributes === undefined ? 0 : 3 * attributes.length);
    const buf = out.reserve(need);
    let at = out.length;
    buf.set(TIME_KEY, at);
    at += TIME_KEY.length;
    at += buf.write(r.time, at, "latin1");
    const streamKey = STREAM_KEYS[r.stream];
    buf.set(streamKey, at);
    at += streamKey.length;
    if (fast) {
      buf[at++] = QUOTE;
      at += buf.write(message, at, "utf8");
      buf[at++] = QUOTE;
    } else {
      at += buf.write(message, at, "utf8");
    }
    if (r.truncated) {
      buf.set(TRUNCATED, at);
      at += TRUNCATED.length;
    }
    if (attributes !== undefined) at += buf.write(attributes, at, "utf8");
    buf.set(suffix, at);
    out.length = at + suffix.length;
  }

  /** One record as a JSON line, newline included. */
  line(r: LogRecord): string {
    // time and stream come from our own formatting (digits, '-', ':', 'T', '.', 'Z'; a fixed
    // set of stream names): nothing in them needs escaping.
    let s = `{"time":"${r.time}","stream":"${r.stream}","message":${JSON.stringify(r.message)}`;
    if (r.truncated) s += `,"truncated":true`;
    if (r.attributes !== undefined) s += `,"attributes":${JSON.stringify(r.attributes)}`;
    return s + this.suffix(r.origin).text;
  }

  private suffix(origin: LogOrigin): { text: string; bytes: Buffer } {
    if (origin === this.lastOrigin && this.lastSuffix !== undefined) return this.lastSuffix;
    let suffix = this.originSuffix.get(origin);
    if (suffix === undefined) {
      let s = `,"source":${JSON.stringify(origin.source)}`;
      if (origin.file !== undefined) s += `,"file":${JSON.stringify(origin.file)}`;
      if (origin.node !== undefined && origin.node !== "") s += `,"node":${JSON.stringify(origin.node)}`;
      const k = origin.kubernetes;
      if (k !== undefined) {
        const api = apiMetadata(origin, this.groups);
        s += `,"kubernetes":${JSON.stringify({
          namespace: k.namespace,
          pod_name: k.podName,
          pod_uid: k.podUid,
          container_name: k.containerName,
          restart_count: k.restartCount,
          ...(api === undefined
            ? {}
            : {
                container_image: api.containerImage,
                pod_labels: nonEmpty(api.podLabels) ? api.podLabels : undefined,
                pod_annotations: nonEmpty(api.podAnnotations) ? api.podAnnotations : undefined,
                owner: api.owner,
                workload: api.workload,
                namespace_labels: nonEmpty(api.namespaceLabels) ? api.namespaceLabels : undefined,
                node_labels: nonEmpty(api.nodeLabels) ? api.nodeLabels : undefined,
              }),
        })}`;
      }
      s += "}\n";
      suffix = { text: s, bytes: Buffer.from(s, "utf8") };
      this.originSuffix.set(origin, suffix);
    }
    this.lastOrigin = origin;
    this.lastSuffix = suffix;
    return suffix;
  }
}
