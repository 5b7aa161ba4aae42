import { outcomeOfStatus } from "./http-outcome.js";
import { promisify } from "node:util";
import zlib from "node:zlib";
import type { Logger } from "pino";
import { VERSION } from "../../version.js";
import type { LogOrigin, LogRecord } from "../record.js";
import { HttpPoster } from "./http-post.js";
import type { OtlpSinkConfig } from "./network-sink-config.js";
import { NanoTime, ProtoWriter, lenFieldSize, readProtoFields } from "./protobuf.js";
import type { DeliveryResult, RecordEncoder, SinkDefinition, Transport } from "./sink.js";

const gzip = promisify(zlib.gzip);

type AttrValue = string | number;
type Attr = [string, AttrValue];

/** Resource attributes of an origin by the OpenTelemetry k8s semantic conventions. */
export function resourceAttributes(origin: LogOrigin, extra: Readonly<Record<string, string>>): Attr[] {
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

export function severityOf(record: LogRecord): [number, string] | undefined {
  const p = record.attributes?.priority;
  if (p === undefined || !/^[0-7]$/.test(p)) return undefined;
  return SYSLOG_SEVERITY[Number(p)];
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
        const attrs = resourceAttributes(r.origin, this.extraResource);
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

/** The partial_success of an ExportLogsServiceResponse (protobuf or JSON body). */
export function partialSuccessOf(body: Buffer, json: boolean): { rejected: number; message: string } | undefined {
  if (body.length === 0) return undefined;
  if (json) {
    try {
      const parsed = JSON.parse(body.toString("utf8")) as {
        partialSuccess?: { rejectedLogRecords?: string | number; errorMessage?: string };
      };
      const ps = parsed.partialSuccess;
      if (!ps) return undefined;
      return { rejected: Number(ps.rejectedLogRecords ?? 0), message: ps.errorMessage ?? "" };
    } catch {
      return undefined;
    }
  }
  const top = readProtoFields(body);
  const ps = top?.get(1)?.[0];
  if (!Buffer.isBuffer(ps)) return undefined;
  const f = readProtoFields(ps);
  const rejected = f?.get(1)?.[0];
  const message = f?.get(2)?.[0];
  return { rejected: typeof rejected === "number" ? rejected : 0, message: Buffer.isBuffer(message) ? message.toString("utf8") : "" };
}

/** The message of an error reply: google.rpc.Status (protobuf: field 2; JSON: "message"), else the text. */
export function errorMessageOf(body: Buffer, contentType: string | undefined): string {
  if (body.length === 0) return "";
  if (contentType?.includes("protobuf")) {
    const msg = readProtoFields(body)?.get(2)?.[0];
    if (Buffer.isBuffer(msg)) return msg.toString("utf8");
  } else if (contentType?.includes("json")) {
    try {
      const m = (JSON.parse(body.toString("utf8")) as { message?: string }).message;
      if (typeof m === "string") return m;
    } catch {
      // fall through to the raw text
    }
  }
  return body.toString("utf8").trim();
}

/**
 * OTLP/HTTP answers (per the OTLP specification): 2xx stored, except what partial_success says
 * was rejected (counted as dropped_by_server and logged, never retried: the server has decided);
 * 429, 502, 503 and 504 temporary (Retry-After honoured); connection errors temporary; any other
 * status permanent (400: the delivery splits the batch to isolate the bad records).
 */
export function otlpOutcome(status: number, retryAfter: string | undefined, detail: string): DeliveryResult {
  return outcomeOfStatus(status, retryAfter, detail, (s) => s === 429 || s === 502 || s === 503 || s === 504);
}

export class OtlpTransport implements Transport {
  readonly name = "otlp";
  private readonly http: HttpPoster;
  private requestHeaders: Record<string, string> = {};
  private droppedByServer = 0;
  private lastPartialLogAt = 0;

  constructor(
    private readonly config: OtlpSinkConfig,
    private readonly contentType: string,
    private readonly logger: Logger,
  ) {
    this.http = new HttpPoster("logs.sink.otlp", config, logger, { defaultPath: "/v1/logs", maxResponseBytes: 64 * 1024 });
  }

  async start(): Promise<void> {
    this.http.start();
    this.requestHeaders = { "content-type": this.contentType };
    if (this.config.compression === "gzip") this.requestHeaders["content-encoding"] = "gzip";
  }

  async prepare(payload: Buffer): Promise<Buffer> {
    return this.config.compression === "gzip" ? gzip(payload, { level: this.config.compressionLevel }) : payload;
  }

  async deliver(body: Buffer, signal: AbortSignal): Promise<DeliveryResult> {
    let reply;
    try {
      reply = await this.http.post(body, this.requestHeaders, signal);
    } catch (err) {
      return this.http.mapError(err);
    }
    const ct = reply.headers["content-type"];
    if (reply.status >= 200 && reply.status < 300) {
      const ps = partialSuccessOf(reply.body, this.config.encoding === "json" || (ct?.includes("json") ?? false));
      if (ps !== undefined && ps.rejected > 0) {
        this.droppedByServer += ps.rejected;
        const now = Date.now();
        if (now - this.lastPartialLogAt > 5000) {
          this.lastPartialLogAt = now;
          this.logger.warn(
            { sink: "otlp", rejected: ps.rejected, message: ps.message, totalDropped: this.droppedByServer },
            "OTLP partial success: the server dropped records (not retried)",
          );
        }
        return { kind: "ok", notes: [{ outcome: "dropped_by_server", records: ps.rejected }] };
      }
      return { kind: "ok" };
    }
    const retryAfter = reply.headers["retry-after"];
    return otlpOutcome(reply.status, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, errorMessageOf(reply.body, ct));
  }

  async close(): Promise<void> {
    this.http.close();
  }

  describe(): Record<string, unknown> {
    return {
      url: this.http.describeUrl(),
      encoding: this.config.encoding,
      compression: this.config.compression,
      headers: this.http.headerNames(),
      droppedByServer: this.droppedByServer,
    };
  }
}

export function createOtlpSink(config: OtlpSinkConfig, logger: Logger): SinkDefinition {
  const encoder = new OtlpEncoder(config.encoding, config.resourceAttributes);
  return { encoder, transport: new OtlpTransport(config, encoder.contentType, logger), lanes: config.concurrency, splitRejected: true };
}
