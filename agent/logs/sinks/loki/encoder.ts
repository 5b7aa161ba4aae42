import { ConfigError } from "../../../config/errors.js";
import type { RecordEncoder } from "../../delivery/sink.js";
import type { LogOrigin, LogRecord } from "../../record.js";
import { NanoTime, ProtoWriter, lenFieldSize, varintSize } from "../shared/protobuf.js";
import { ALL_FIELDS, originFields, type RecordField } from "../shared/record-fields.js";
import { ALL_GROUPS, apiMetadata, type KubernetesMetadataGroup } from "../shared/kubernetes-fields.js";

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** What is the same for all records of one origin (and stream, when stream is a label). */
interface StreamKey {
  /** Prometheus-style label set, names sorted: {container="api", namespace="prod"}. */
  labels: string;
  /** The same labels as a JSON object text (json encoding). */
  labelsJson: string;
  /** Origin fields that are not labels, sent as structured metadata on every entry. */
  metadata: Array<[string, string]>;
  /** metadata as JSON object members, without braces ("" when none). */
  metadataJson: string;
  /** metadata as encoded structuredMetadata fields (protobuf). */
  metadataProto: Buffer;
}

interface OriginKeys {
  byStream: Map<string, StreamKey>;
}

/**
 * Loki push API payloads. Records are grouped into streams by their label set (by default
 * namespace, container, node: low cardinality); every other field (pod, pod_uid, stream, file,
 * restart_count, journald attributes, truncated) travels as structured metadata on each entry.
 * Within a stream, entries are sorted by time (stable: file order on ties), as Loki requires.
 *
 *   protobuf: logproto.PushRequest { streams: [StreamAdapter { labels, entries: [EntryAdapter {
 *             timestamp, line, structuredMetadata: [LabelPairAdapter] }] }] }, snappy block format.
 *   json:     {"streams":[{"stream":{...},"values":[["<ns>","<line>",{...metadata}]]}]}
 */
export class LokiEncoder implements RecordEncoder {
  readonly contentType: string;
  private readonly keys = new WeakMap<LogOrigin, OriginKeys>();
  private readonly labelFields: ReadonlySet<RecordField>;
  private readonly staticLabels: Array<[string, string]>;
  private readonly time = new NanoTime();
  private readonly writer = new ProtoWriter(256 * 1024);

  constructor(
    private readonly encoding: "protobuf" | "json",
    labels: readonly string[],
    staticLabels: Readonly<Record<string, string>>,
    /** Pod label key -> stream label name (logs.sink.loki.podLabels). */
    private readonly podLabels: Readonly<Record<string, string>> = {},
    private readonly groups: ReadonlySet<KubernetesMetadataGroup> = ALL_GROUPS,
  ) {
    this.contentType = encoding === "protobuf" ? "application/x-protobuf" : "application/json";
    for (const l of labels) {
      if (!(ALL_FIELDS as readonly string[]).includes(l))
        throw new ConfigError("logs.sink.loki.labels", `unknown field ${JSON.stringify(l)}; allowed: ${ALL_FIELDS.join(", ")}`);
    }
    this.labelFields = new Set(labels as RecordField[]);
    for (const name of Object.keys(staticLabels)) {
      if (!LABEL_NAME.test(name)) throw new ConfigError("logs.sink.loki.staticLabels", `${JSON.stringify(name)} is not a valid label name`);
    }
    this.staticLabels = Object.entries(staticLabels);
    const taken = new Map<string, string>();
    for (const [key, name] of Object.entries(podLabels)) {
      if (!LABEL_NAME.test(name) || name.startsWith("__"))
        throw new ConfigError(
          `logs.sink.loki.podLabels.${key}`,
          `${JSON.stringify(name)} is not a valid Loki label name (letters, digits and _, not starting with a digit or __)`,
        );
      const other = taken.get(name);
      if (other !== undefined)
        throw new ConfigError(
          `logs.sink.loki.podLabels.${key}`,
          `label name ${JSON.stringify(name)} is also given to pod label ${JSON.stringify(other)}`,
        );
      taken.set(name, key);
      if ((ALL_FIELDS as readonly string[]).includes(name) || name in staticLabels)
        throw new ConfigError(
          `logs.sink.loki.podLabels.${key}`,
          `label name ${JSON.stringify(name)} is already a record field or static label`,
        );
    }
  }

  encode(records: readonly LogRecord[]): Buffer {
    // Group by label set (several origins can share one), keeping first-seen order of streams
    // and file order within each; each record keeps its origin's key for its metadata.
    const streams = new Map<string, Group>();
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const key = this.streamKey(r);
      const group = streams.get(key.labels);
      if (group === undefined) streams.set(key.labels, { labelsJson: key.labelsJson, records: [r], keys: [key] });
      else {
        group.records.push(r);
        group.keys.push(key);
      }
    }
    for (const group of streams.values()) sortGroup(group);
    return this.encoding === "protobuf" ? this.protobuf(streams) : this.json(streams);
  }

  private protobuf(streams: Map<string, Group>): Buffer {
    const w = this.writer;
    w.reset();
    const streamIsLabel = this.labelFields.has("stream");
    for (const [labels, group] of streams) {
      const s = w.begin(1);
      w.string(1, labels);
      for (let i = 0; i < group.records.length; i++) {
        const r = group.records[i];
        // Entry size first (no move of the body afterwards): timestamp, line, metadata.
        const seconds = this.time.seconds(r.time);
        const nanos = this.time.nanos(r.time);
        const tsLen = (seconds !== 0 ? 1 + varintSize(seconds) : 0) + (nanos !== 0 ? 1 + varintSize(nanos) : 0);
        const lineLen = Buffer.byteLength(r.message, "utf8");
        const meta = group.keys[i].metadataProto;
        const extra = r.stream !== "" && !streamIsLabel ? STREAM_PAIR[r.stream] : undefined;
        const simple = !r.truncated && r.attributes === undefined;
        if (simple) {
          w.header(2, lenFieldSize(tsLen) + lenFieldSize(lineLen) + meta.length + (extra?.length ?? 0));
          writeTimestamp(w, tsLen, seconds, nanos);
          w.stringOfLength(2, r.message, lineLen);
          w.raw(meta);
          if (extra !== undefined) w.raw(extra);
          continue;
        }
        const e = w.begin(2);
        writeTimestamp(w, tsLen, seconds, nanos);
        w.stringOfLength(2, r.message, lineLen);
        w.raw(meta);
        if (extra !== undefined) w.raw(extra);
        if (r.truncated) pair(w, "truncated", "true");
        if (r.attributes !== undefined) for (const name in r.attributes) pair(w, name, r.attributes[name]);
        w.end(e);
      }
      w.end(s);
    }
    return w.finish();
  }

  private json(streams: Map<string, Group>): Buffer {
    let out = '{"streams":[';
    let firstStream = true;
    const streamIsLabel = this.labelFields.has("stream");
    for (const group of streams.values()) {
      out += `${firstStream ? "" : ","}{"stream":${group.labelsJson},"values":[`;
      firstStream = false;
      for (let i = 0; i < group.records.length; i++) {
        const r = group.records[i];
        let meta = group.keys[i].metadataJson;
        const more = (name: string, value: string) => {
          meta += `${meta === "" ? "" : ","}${JSON.stringify(name)}:${JSON.stringify(value)}`;
        };
        if (r.stream !== "" && !streamIsLabel) more("stream", r.stream);
        if (r.truncated) more("truncated", "true");
        if (r.attributes !== undefined) for (const name in r.attributes) more(name, r.attributes[name]);
        out += `${i === 0 ? "" : ","}["${this.time.decimal(r.time)}",${JSON.stringify(r.message)}${meta === "" ? "" : `,{${meta}}`}]`;
      }
      out += "]}";
    }
    return Buffer.from(out + "]}", "utf8");
  }

  private streamKey(r: LogRecord): StreamKey {
    let keys = this.keys.get(r.origin);
    if (keys === undefined) {
      keys = { byStream: new Map() };
      this.keys.set(r.origin, keys);
    }
    const streamPart = this.labelFields.has("stream") ? r.stream : "";
    let key = keys.byStream.get(streamPart);
    if (key === undefined) {
      key = this.makeKey(r.origin, streamPart);
      keys.byStream.set(streamPart, key);
    }
    return key;
  }

  private makeKey(origin: LogOrigin, stream: string): StreamKey {
    const labels = new Map<string, string>(this.staticLabels);
    const metadata: Array<[string, string]> = [];
    const fields = originFields(origin, this.groups);
    for (const [name, value] of fields) {
      if (this.labelFields.has(name)) labels.set(name, value);
      else metadata.push([name, value]);
    }
    // Stream labels from chosen pod labels (whatever the sink's groups); the rest of the API
    // metadata the sink carries goes into structured metadata, named as Loki's own OTLP
    // ingestion names resource attributes (k8s.pod.label.app -> k8s_pod_label_app).
    const podLabels = origin.kubernetes?.api?.podLabels;
    if (podLabels !== undefined) {
      for (const [key, name] of Object.entries(this.podLabels)) {
        const value = podLabels[key];
        if (value !== undefined && value !== "") labels.set(name, value);
      }
    }
    const api = apiMetadata(origin, this.groups);
    if (api !== undefined) {
      // Keys that sanitize to the same name (a.b and a/b): the first one is kept.
      const seen = new Set(metadata.map(([n]) => n));
      const add = (prefix: string, map: Readonly<Record<string, string>>) => {
        for (const [key, value] of Object.entries(map)) {
          const name = `${prefix}${sanitizeLabelName(key)}`;
          if (seen.has(name)) continue;
          seen.add(name);
          metadata.push([name, value]);
        }
      };
      add("k8s_pod_label_", api.podLabels);
      add("k8s_pod_annotation_", api.podAnnotations);
      add("k8s_namespace_label_", api.namespaceLabels);
      add("k8s_node_label_", api.nodeLabels);
      if (api.owner !== undefined && api.owner.kind !== api.workload?.kind)
        metadata.push([`k8s_${api.owner.kind.toLowerCase()}_name`, api.owner.name]);
    }
    if (stream !== "") labels.set("stream", stream);
    // Loki needs at least one label: fall back to the source name.
    if (labels.size === 0) labels.set("source", origin.source);
    const names = [...labels.keys()].sort();
    const labelsText = `{${names.map((n) => `${n}="${escapeLabelValue(labels.get(n) as string)}"`).join(", ")}}`;
    const labelsJson = JSON.stringify(Object.fromEntries(names.map((n) => [n, labels.get(n)])));
    const metadataJson = metadata.map(([n, v]) => `${JSON.stringify(n)}:${JSON.stringify(v)}`).join(",");
    const pw = new ProtoWriter(256);
    for (const [n, v] of metadata) pair(pw, n, v);
    return { labels: labelsText, labelsJson, metadata, metadataJson, metadataProto: pw.finish() };
  }
}

function writeTimestamp(w: ProtoWriter, len: number, seconds: number, nanos: number): void {
  w.header(1, len);
  if (seconds !== 0) w.varint(1, seconds);
  if (nanos !== 0) w.varint(2, nanos);
}

function encodedPair(name: string, value: string): Buffer {
  const w = new ProtoWriter(64);
  pair(w, name, value);
  return w.finish();
}

/** structuredMetadata stream=stdout / stream=stderr, encoded once. */
const STREAM_PAIR: Record<string, Buffer> = { stdout: encodedPair("stream", "stdout"), stderr: encodedPair("stream", "stderr") };

function pair(w: ProtoWriter, name: string, value: string): void {
  const m = w.begin(3);
  w.string(1, name);
  w.string(2, value);
  w.end(m);
}

/** Escapes a label value for the Prometheus text form Loki parses: backslash, double quote, newline. */
export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

interface Group {
  labelsJson: string;
  records: LogRecord[];
  keys: StreamKey[];
}

/** Sorts a stream's entries by time, stable (file order on ties); one pass when already in order. */
function sortGroup(g: Group): void {
  const recs = g.records;
  let sorted = true;
  for (let i = 1; i < recs.length && sorted; i++) if (recs[i].time < recs[i - 1].time) sorted = false;
  if (sorted) return;
  // Times are fixed-width RFC 3339 UTC, so text order is time order; Array.prototype.sort is stable.
  const order = recs.map((_, i) => i).sort((a, b) => (recs[a].time < recs[b].time ? -1 : recs[a].time > recs[b].time ? 1 : 0));
  const keys = g.keys;
  g.records = order.map((i) => recs[i]);
  g.keys = order.map((i) => keys[i]);
}

/** A Kubernetes label key as a Loki/Prometheus label name: every character outside [a-zA-Z0-9_] becomes '_'. */
export function sanitizeLabelName(key: string): string {
  const s = key.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(s) ? `_${s}` : s;
}
