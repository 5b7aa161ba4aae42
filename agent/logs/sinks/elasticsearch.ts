import { outcomeOfStatus } from "./http-outcome.js";
import crypto from "node:crypto";
import { promisify } from "node:util";
import zlib from "node:zlib";
import type { Logger } from "pino";
import { ConfigError } from "../../config/errors.js";
import type { LogOrigin, LogRecord } from "../record.js";
import { HttpPoster } from "./http-post.js";
import type { ElasticsearchSinkConfig } from "./network-sink-config.js";
import type { DeliveryResult, ItemRejection, RecordEncoder, RecordNote, SinkDefinition, Transport } from "./sink.js";

const gzip = promisify(zlib.gzip);

/**
 * The document of a record (ECS-style names, as Filebeat/Elastic Agent write Kubernetes logs):
 *
 *   {"@timestamp":"2024-05-01T10:00:00.123456789Z","message":"...","stream":"stdout",
 *    "log":{"file":{"path":"/var/log/pods/..."}},"kubernetes":{"namespace":"prod",
 *    "pod":{"name":"api-7d9f","uid":"..."},"container":{"name":"api","restart_count":0},
 *    "node":{"name":"node-1"}},"nodetap":{"source":"pods"}}
 *
 * plus "host":{"name":...} for records without Kubernetes metadata, "attributes":{...}
 * (journald fields) and "nodetap":{"truncated":true}. @timestamp keeps nanoseconds; a `date`
 * field stores milliseconds, a `date_nanos` field all of them (see docs/sinks.md).
 */
export function originJson(origin: LogOrigin): string {
  const k = origin.kubernetes;
  let s = "";
  if (origin.file !== undefined) s += `,"log":{"file":{"path":${JSON.stringify(origin.file)}}}`;
  if (k !== undefined) {
    s += `,"kubernetes":${JSON.stringify({
      namespace: k.namespace,
      pod: { name: k.podName, uid: k.podUid },
      container: { name: k.containerName, restart_count: k.restartCount },
      ...(origin.node ? { node: { name: origin.node } } : {}),
    })}`;
  } else if (origin.node) {
    s += `,"host":{"name":${JSON.stringify(origin.node)}}`;
  }
  return s;
}

/** strftime-like %Y %m %d %H (UTC, from the record time) in an index name pattern. */
export function expandIndex(pattern: string, time: string): string {
  if (!pattern.includes("%")) return pattern;
  return pattern.replace(/%([YmdH%])/g, (_, c: string) => {
    switch (c) {
      case "Y":
        return time.slice(0, 4);
      case "m":
        return time.slice(5, 7);
      case "d":
        return time.slice(8, 10);
      case "H":
        return time.slice(11, 13);
      default:
        return "%";
    }
  });
}

/**
 * Deterministic document id: the same record read twice (after a crash, or a batch re-sent after
 * a timeout) gets the same id, so `create` answers 409 instead of storing it twice. Container
 * records are identified by pod uid, container, restart count, stream and their runtime
 * timestamp (nanoseconds) plus the message; other records by file path, time and message (their
 * time is the read time for plain files, so only re-sends, not re-reads, are caught).
 */
export function documentId(r: LogRecord): string {
  const k = r.origin.kubernetes;
  const who =
    k !== undefined ? `k8s\0${k.podUid}\0${k.containerName}\0${k.restartCount}` : `file\0${r.origin.source}\0${r.origin.file ?? ""}`;
  return crypto.hash("sha256", `${who}\0${r.stream}\0${r.time}\0${r.message}`, "base64url").slice(0, 32);
}

/** _bulk NDJSON: one `create` action and one document per record, in record order (item i = record i). */
export class BulkEncoder implements RecordEncoder {
  readonly contentType = "application/x-ndjson";
  private readonly originCache = new WeakMap<LogOrigin, string>();
  private lastTimeKey = "";
  private lastIndex = "";

  constructor(
    private readonly index: string,
    private readonly withIds: boolean,
  ) {
    if (index === "") throw new ConfigError("logs.sink.elasticsearch.index", "must not be empty");
    if (/[A-Z\\/*?"<>| ,#]/.test(index.replace(/%[YmdH%]/g, "")))
      throw new ConfigError(
        "logs.sink.elasticsearch.index",
        `${JSON.stringify(index)} is not a valid index name (lowercase, no \\ / * ? " < > | space , #)`,
      );
  }

  encode(records: readonly LogRecord[]): Buffer {
    let out = "";
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const index = this.indexFor(r.time);
      out += `{"create":{"_index":${JSON.stringify(index)}${this.withIds ? `,"_id":"${documentId(r)}"` : ""}}}\n`;
      out += `{"@timestamp":"${r.time}","message":${JSON.stringify(r.message)}`;
      if (r.stream !== "") out += `,"stream":"${r.stream}"`;
      out += this.origin(r.origin);
      if (r.attributes !== undefined) out += `,"attributes":${JSON.stringify(r.attributes)}`;
      out += `,"nodetap":{"source":${JSON.stringify(r.origin.source)}${r.truncated ? ',"truncated":true' : ""}}}\n`;
    }
    return Buffer.from(out, "utf8");
  }

  private indexFor(time: string): string {
    const key = time.slice(0, 13);
    if (key !== this.lastTimeKey) {
      this.lastTimeKey = key;
      this.lastIndex = expandIndex(this.index, time);
    }
    return this.lastIndex;
  }

  private origin(origin: LogOrigin): string {
    let s = this.originCache.get(origin);
    if (s === undefined) {
      s = originJson(origin);
      this.originCache.set(origin, s);
    }
    return s;
  }
}

interface BulkItem {
  status?: number;
  error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } };
}

/**
 * Maps a 2xx _bulk response to per-record outcomes: 2xx stored; 409 (create of an id that exists)
 * already stored, counted; 429 and 5xx retried, those items only; any other status rejected for
 * good, with the server's error type and reason. `errors:false` is recognized from the head of
 * the response without parsing the rest.
 */
export function bulkOutcome(body: Buffer, records: number): DeliveryResult {
  const head = body.toString("utf8", 0, Math.min(body.length, 256));
  if (/"errors"\s*:\s*false/.test(head)) return { kind: "ok" };
  let parsed: { errors?: boolean; items?: Array<Record<string, BulkItem>> };
  try {
    parsed = JSON.parse(body.toString("utf8")) as typeof parsed;
  } catch {
    return {
      kind: "retry",
      reason: "bad_response",
      detail: `the _bulk response is not JSON (${body.length} bytes read): ${head.slice(0, 200)}`,
    };
  }
  if (parsed.errors === false) return { kind: "ok" };
  const items = parsed.items ?? [];
  if (items.length !== records)
    return { kind: "retry", reason: "bad_response", detail: `the _bulk response has ${items.length} items for ${records} records` };
  const retry: number[] = [];
  const reject: ItemRejection[] = [];
  let alreadyStored = 0;
  let retryStatus = 0;
  for (let i = 0; i < items.length; i++) {
    const item = Object.values(items[i])[0] ?? {};
    const status = item.status ?? 0;
    if (status >= 200 && status < 300) continue;
    if (status === 409) {
      alreadyStored++;
      continue;
    }
    if (status === 429 || status >= 500) {
      retry.push(i);
      retryStatus ||= status;
      continue;
    }
    const e = item.error;
    const cause = e?.caused_by?.reason ? ` (caused by ${e.caused_by.type}: ${e.caused_by.reason})` : "";
    reject.push({
      index: i,
      reason: `item_${status >= 400 && status < 500 ? status : "error"}`,
      status,
      detail: `${e?.type ?? "error"}: ${e?.reason ?? "no reason given"}${cause}`,
    });
  }
  const notes: RecordNote[] | undefined = alreadyStored > 0 ? [{ outcome: "already_stored", records: alreadyStored }] : undefined;
  if (retry.length === 0 && reject.length === 0) return { kind: "ok", notes };
  return {
    kind: "partial",
    retry,
    reject,
    notes,
    reason: retry.length > 0 ? `items_${retryStatus === 429 ? "429" : "5xx"}` : "items_rejected",
    detail: `${retry.length} records to retry, ${reject.length} rejected, ${alreadyStored} already stored`,
  };
}

/** Whole-request answers: 429/5xx temporary (Retry-After honoured); 413 too large (the delivery halves the batch); other statuses permanent. */
export function bulkRequestOutcome(status: number, retryAfter: string | undefined, detail: string): DeliveryResult | undefined {
  if (status >= 200 && status < 300) return undefined;
  return outcomeOfStatus(status, retryAfter, detail, (s) => s === 429 || s >= 500);
}

export class ElasticsearchTransport implements Transport {
  readonly name = "elasticsearch";
  private readonly http: HttpPoster;
  private readonly bulkUrl: URL;
  private requestHeaders: Record<string, string> = {};
  /** Records per prepared body, so per-item results can be checked against the batch size. */
  private readonly recordsIn = new WeakMap<Buffer, number>();

  constructor(
    private readonly config: ElasticsearchSinkConfig,
    logger: Logger,
  ) {
    this.http = new HttpPoster("logs.sink.elasticsearch", config, logger, { maxResponseBytes: config.maxResponseBytes });
    const url = new URL(this.http.url.href);
    url.pathname = `${url.pathname.replace(/\/+$/, "")}/_bulk`;
    if (config.pipeline !== "") url.searchParams.set("pipeline", config.pipeline);
    url.searchParams.set("filter_path", "errors,items.*.status,items.*.error");
    this.bulkUrl = url;
  }

  async start(): Promise<void> {
    this.http.start();
    this.requestHeaders = { "content-type": "application/x-ndjson" };
    if (this.config.compression === "gzip") this.requestHeaders["content-encoding"] = "gzip";
  }

  async prepare(payload: Buffer): Promise<Buffer> {
    // Two lines per record: count them once here, the body is sent as is on every attempt.
    let lines = 0;
    for (let i = payload.indexOf(0x0a); i >= 0; i = payload.indexOf(0x0a, i + 1)) lines++;
    const body = this.config.compression === "gzip" ? await gzip(payload, { level: this.config.compressionLevel }) : payload;
    this.recordsIn.set(body, lines / 2);
    return body;
  }

  async deliver(body: Buffer, signal: AbortSignal): Promise<DeliveryResult> {
    let reply;
    try {
      reply = await this.http.post(body, this.requestHeaders, signal, this.bulkUrl);
    } catch (err) {
      return this.http.mapError(err);
    }
    const retryAfter = reply.headers["retry-after"];
    const whole = bulkRequestOutcome(
      reply.status,
      Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      reply.body.toString("utf8", 0, 2048).trim(),
    );
    if (whole !== undefined) return whole;
    return bulkOutcome(reply.body, this.recordsIn.get(body) ?? 0);
  }

  async close(): Promise<void> {
    this.http.close();
  }

  describe(): Record<string, unknown> {
    return {
      url: `${this.bulkUrl.protocol}//${this.bulkUrl.host}${this.bulkUrl.pathname}`,
      mode: this.config.mode,
      index: this.config.index,
      documentId: this.config.documentId,
      compression: this.config.compression,
      headers: this.http.headerNames(),
    };
  }
}

export function createElasticsearchSink(config: ElasticsearchSinkConfig, logger: Logger): SinkDefinition {
  if (config.mode === "datastream" && config.index.includes("%")) {
    throw new ConfigError(
      "logs.sink.elasticsearch.index",
      "a data stream name has no date pattern (the data stream rolls over by itself); use mode index for dated indices",
    );
  }
  const encoder = new BulkEncoder(config.index, config.documentId === "hash");
  return { encoder, transport: new ElasticsearchTransport(config, logger), lanes: config.concurrency };
}
