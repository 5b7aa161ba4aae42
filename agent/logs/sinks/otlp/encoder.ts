import { VERSION } from "../../../version.js";
import type { RecordEncoder } from "../../delivery/sink.js";
import type { LogOrigin, LogRecord } from "../../record.js";
import { NanoTime, ProtoWriter, lenFieldSize } from "../shared/protobuf.js";
import { ALL_GROUPS, apiMetadata, type KubernetesMetadataGroup } from "../shared/kubernetes-fields.js";
import { splitImage } from "../shared/image-name.js";

type AttrValue = string | number;

type Attr = [string, AttrValue];

/** Workload kinds with a semantic-conventions attribute (k8s.<kind>.name). */
const WORKLOAD_ATTRIBUTE: Readonly<Record<string, string>> = {
  Deployment: "k8s.deployment.name",
  ReplicaSet: "k8s.replicaset.name",
  StatefulSet: "k8s.statefulset.name",
  DaemonSet: "k8s.daemonset.name",
  Job: "k8s.job.name",
  CronJob: "k8s.cronjob.name",
};

/**
 * Resource attributes of an origin by the OpenTelemetry k8s semantic conventions (as the
 * Collector's k8sattributes processor sets them): k8s.namespace.name, k8s.pod.name/uid,
 * k8s.container.name/restart_count, k8s.node.name, and from the API server the groups the sink
 * carries: k8s.pod.label.<key>, k8s.pod.annotation.<key>, k8s.deployment.name (and the other
 * workload kinds), container.image.name/tag, k8s.namespace.label.<key>, k8s.node.label.<key>.
 */
export function resourceAttributes(
  origin: LogOrigin,
  extra: Readonly<Record<string, string>>,
  groups: ReadonlySet<KubernetesMetadataGroup> = ALL_GROUPS,
): Attr[] {
  const out: Attr[] = [];
  const k = origin.kubernetes;
  if (k !== undefined) {
    if (k.namespace) out.push(["k8s.namespace.name", k.namespace]);
    if (k.podName) out.push(["k8s.pod.name", k.podName]);
    if (k.podUid) out.push(["k8s.pod.uid", k.podUid]);
    if (k.containerName) out.push(["k8s.container.name", k.containerName]);
    out.push(["k8s.container.restart_count", k.restartCount]);
  }
  if (origin.node) out.push(["k8s.node.name", origin.node]);
  const api = apiMetadata(origin, groups);
  if (api !== undefined) {
    for (const w of [api.workload, api.owner]) {
      const name = w === undefined ? undefined : WORKLOAD_ATTRIBUTE[w.kind];
      if (name !== undefined && !out.some((a) => a[0] === name)) out.push([name, w!.name]);
    }
    if (api.containerImage !== undefined) {
      const image = splitImage(api.containerImage);
      out.push(["container.image.name", image.name]);
      if (image.tag !== undefined) out.push(["container.image.tag", image.tag]);
    }
    const add = (prefix: string, map: Readonly<Record<string, string>>) => {
      for (const [key, value] of Object.entries(map)) out.push([prefix + key, value]);
    };
    add("k8s.pod.label.", api.podLabels);
    add("k8s.pod.annotation.", api.podAnnotations);
    add("k8s.namespace.label.", api.namespaceLabels);
    add("k8s.node.label.", api.nodeLabels);
  }
  for (const [key, value] of Object.entries(extra)) out.push([key, value]);
  return out;
}

/** journald PRIORITY (syslog severity 0..7) -> OTel SeverityNumber, per the data model's syslog mapping. */
const SYSLOG_SEVERITY: ReadonlyArray<[number, string]> = [
  [21, "emerg"],
  [19, "alert"],
  [18, "crit"],
  [17, "err"],
  [13, "warning"],
  [10, "notice"],
  [9, "info"],
  [5, "debug"],
];

/** OTLP severity numbers of the level names a filter stores in the `severity` attribute (filters/severity.ts). */
const LEVEL_SEVERITY: Readonly<Record<string, number>> = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 };

/** journald's PRIORITY, else the level a parsing filter found (attribute `severity`), else none. */
export function severityOf(record: LogRecord): [number, string] | undefined {
  const p = record.attributes?.priority;
  if (p !== undefined && /^[0-7]$/.test(p)) return SYSLOG_SEVERITY[Number(p)];
  const level = record.attributes?.severity;
  if (level === undefined) return undefined;
  const n = LEVEL_SEVERITY[level];
  return n === undefined ? undefined : [n, level.toUpperCase()];
}

interface ResourceGroup {
  attrs: Attr[];
  records: LogRecord[];
}

/**
 * OTLP ExportLogsServiceRequest: one ResourceLogs per resource (the origin's k8s attributes,
 * node, configured extras), one ScopeLogs (scope nodetap), and per record: time_unix_nano (the
 * record time), observed_time_unix_nano (when nodetap encoded it), severity from journald's
 * PRIORITY (container lines carry none: their stream is log.iostream, not a severity), body
 * (string) and log attributes log.file.path, log.iostream (semantic conventions), journald
 * fields and nodetap.truncated.
 *
 * log.file.path is a log attribute, as in the conventions (and the Collector's filelog
 * receiver), not a resource attribute: a resource is a pod's container, not a file.
 */
export class OtlpEncoder implements RecordEncoder {
  readonly contentType: string;
  private readonly time = new NanoTime();
  private readonly resources = new WeakMap<LogOrigin, { key: string; attrs: Attr[] }>();
  /** log.file.path of an origin as an encoded attributes field (protobuf). */
  private readonly fileAttr = new WeakMap<LogOrigin, Buffer>();
  private readonly writer = new ProtoWriter(256 * 1024);

  constructor(
    private readonly encoding: "protobuf" | "json",
    private readonly extraResource: Readonly<Record<string, string>>,
    private readonly groups: ReadonlySet<KubernetesMetadataGroup> = ALL_GROUPS,
    private readonly now: () => bigint = () => BigInt(Date.now()) * 1_000_000n,
  ) {
    this.contentType = encoding === "protobuf" ? "application/x-protobuf" : "application/json";
  }

  encode(records: readonly LogRecord[]): Buffer {
    const groups = new Map<string, ResourceGroup>();
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      let res = this.resources.get(r.origin);
      if (res === undefined) {
        const attrs = resourceAttributes(r.origin, this.extraResource, this.groups);
        res = { key: JSON.stringify(attrs), attrs };
        this.resources.set(r.origin, res);
      }
      const g = groups.get(res.key);
      if (g === undefined) groups.set(res.key, { attrs: res.attrs, records: [r] });
      else g.records.push(r);
    }
    const observed = this.now();
    return this.encoding === "protobuf" ? this.protobuf(groups, observed) : this.json(groups, observed);
  }

  private protobuf(groups: Map<string, ResourceGroup>, observed: bigint): Buffer {
    const w = this.writer;
    w.reset();
    for (const g of groups.values()) {
      const rl = w.begin(1); // ResourceLogs
      const res = w.begin(1); // Resource
      for (const a of g.attrs) keyValue(w, 1, a[0], a[1]);
      w.end(res);
      const sl = w.begin(2); // ScopeLogs
      const scope = w.begin(1);
      w.string(1, "nodetap");
      w.string(2, VERSION);
      w.end(scope);
      for (const r of g.records) {
        const sev = severityOf(r);
        const file = this.fileAttrOf(r.origin);
        const iostream = r.stream !== "" ? IOSTREAM[r.stream] : undefined;
        if (sev === undefined && !r.truncated && r.attributes === undefined) {
          // The common case, sized up front: time, body, file and stream attributes, observed time.
          const msgLen = Buffer.byteLength(r.message, "utf8");
          const bodyLen = lenFieldSize(msgLen);
          w.header(2, 9 + lenFieldSize(bodyLen) + file.length + (iostream?.length ?? 0) + 9);
          w.fixed64(1, this.time.bigint(r.time));
          w.header(5, bodyLen);
          w.stringOfLength(1, r.message, msgLen);
          w.raw(file);
          if (iostream !== undefined) w.raw(iostream);
          w.fixed64(11, observed);
          continue;
        }
        const lr = w.begin(2); // LogRecord
        w.fixed64(1, this.time.bigint(r.time));
        if (sev !== undefined) {
          w.varint(2, sev[0]);
          w.string(3, sev[1]);
        }
        const body = w.begin(5);
        w.string(1, r.message);
        w.end(body);
        w.raw(file);
        if (iostream !== undefined) w.raw(iostream);
        if (r.truncated) keyValue(w, 6, "nodetap.truncated", "true");
        if (r.attributes !== undefined) for (const name in r.attributes) keyValue(w, 6, name, r.attributes[name]);
        w.fixed64(11, observed);
        w.end(lr);
      }
      w.end(sl);
      w.end(rl);
    }
    return w.finish();
  }

  private fileAttrOf(origin: LogOrigin): Buffer {
    let b = this.fileAttr.get(origin);
    if (b === undefined) {
      b = origin.file !== undefined ? encodedKeyValue(6, "log.file.path", origin.file) : Buffer.alloc(0);
      this.fileAttr.set(origin, b);
    }
    return b;
  }

  private json(groups: Map<string, ResourceGroup>, observed: bigint): Buffer {
    const observedText = observed.toString();
    let out = '{"resourceLogs":[';
    let firstGroup = true;
    for (const g of groups.values()) {
      out += `${firstGroup ? "" : ","}{"resource":{"attributes":[${g.attrs.map((a) => jsonKeyValue(a[0], a[1])).join(",")}]},"scopeLogs":[{"scope":{"name":"nodetap","version":${JSON.stringify(VERSION)}},"logRecords":[`;
      firstGroup = false;
      for (let i = 0; i < g.records.length; i++) {
        const r = g.records[i];
        out += `${i === 0 ? "" : ","}{"timeUnixNano":"${this.time.decimal(r.time)}","observedTimeUnixNano":"${observedText}"`;
        const sev = severityOf(r);
        if (sev !== undefined) out += `,"severityNumber":${sev[0]},"severityText":"${sev[1]}"`;
        out += `,"body":{"stringValue":${JSON.stringify(r.message)}}`;
        const attrs: string[] = [];
        if (r.origin.file !== undefined) attrs.push(jsonKeyValue("log.file.path", r.origin.file));
        if (r.stream !== "") attrs.push(jsonKeyValue("log.iostream", r.stream));
        if (r.truncated) attrs.push(jsonKeyValue("nodetap.truncated", "true"));
        if (r.attributes !== undefined) for (const name in r.attributes) attrs.push(jsonKeyValue(name, r.attributes[name]));
        if (attrs.length > 0) out += `,"attributes":[${attrs.join(",")}]`;
        out += "}";
      }
      out += "]}]}";
    }
    return Buffer.from(out + "]}", "utf8");
  }
}

function keyValue(w: ProtoWriter, field: number, key: string, value: AttrValue): void {
  const kv = w.begin(field);
  w.string(1, key);
  const v = w.begin(2);
  if (typeof value === "number") w.varint(3, value);
  else w.string(1, value);
  w.end(v);
  w.end(kv);
}

function encodedKeyValue(field: number, key: string, value: AttrValue): Buffer {
  const w = new ProtoWriter(128);
  keyValue(w, field, key, value);
  return w.finish();
}

/** LogRecord attributes log.iostream=stdout / stderr, encoded once. */
const IOSTREAM: Record<string, Buffer> = {
  stdout: encodedKeyValue(6, "log.iostream", "stdout"),
  stderr: encodedKeyValue(6, "log.iostream", "stderr"),
};

function jsonKeyValue(key: string, value: AttrValue): string {
  return `{"key":${JSON.stringify(key)},"value":${typeof value === "number" ? `{"intValue":"${value}"}` : `{"stringValue":${JSON.stringify(value)}}`}}`;
}
