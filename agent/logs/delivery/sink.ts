import type { LogRecord } from "../record.js";
import type { GrowableBuffer } from "./growable-buffer.js";

/**
 * A sink is an encoder (records -> payload bytes, the wire format) plus a transport (payload ->
 * destination, with an outcome). Batching, retries with backoff, dead letters, ordering and
 * acknowledgements are shared (batcher.ts, delivery.ts), so a new sink (Loki, Elasticsearch,
 * OTLP, syslog) is one encoder and one transport:
 *
 *   - Loki: encoder groups records into streams by labels (JSON push API); HTTP transport.
 *   - Elasticsearch: encoder writes _bulk NDJSON; transport maps per-item errors to reject/retry.
 *   - OTLP: encoder builds ExportLogsServiceRequest (JSON or protobuf); HTTP transport.
 *   - syslog: encoder writes RFC 5424 frames; a TCP/TLS transport.
 */

export interface RecordEncoder {
  readonly contentType: string;
  encode(records: readonly LogRecord[]): Buffer;
  /**
   * For line formats (NDJSON) whose batch is the concatenation of each record's line ending in
   * '\n': appends one record's line. Batches are then encoded as records arrive and hold bytes,
   * not records (see batcher.ts), and a dead letter or a split works on those lines.
   */
  append?(out: GrowableBuffer, record: LogRecord): void;
}

/** What a delivery attempt came to. */
export type DeliveryResult =
  | { kind: "ok"; notes?: readonly RecordNote[] }
  /** Temporary: try again later (after retryAfterMs when the destination said so). */
  | { kind: "retry"; reason: string; retryAfterMs?: number; detail?: string }
  /** Permanent: the destination will never accept this payload; it goes to the dead-letter file. */
  | { kind: "reject"; reason: string; status?: number; detail?: string }
  /**
   * Per-record answers (e.g. Elasticsearch _bulk items): records at `reject` go to the dead-letter
   * file with their own reason, records at `retry` are sent again (alone, after backoff; `reason`
   * labels that retry), every other record is stored. Indexes are positions in the records the
   * encoder was given for this attempt. The batch is acknowledged once all are through.
   */
  | {
      kind: "partial";
      retry: readonly number[];
      reject: readonly ItemRejection[];
      reason: string;
      retryAfterMs?: number;
      detail?: string;
      notes?: readonly RecordNote[];
    };

/** One record the destination refused for good. */
export interface ItemRejection {
  index: number;
  reason: string;
  status?: number;
  detail?: string;
}

/** Records the destination took but reported on (counted by outcome), e.g. already_stored (409). */
export interface RecordNote {
  outcome: string;
  records: number;
}

export interface Transport {
  /** Sink type, used as the `sink` metric label: stdout, file, http, ... */
  readonly name: string;
  start(): Promise<void>;
  /** Turns an encoded batch into what is sent on every attempt (e.g. gzip); called once per batch. */
  prepare?(payload: Buffer): Promise<Buffer>;
  /** The payload back from what prepare() made (e.g. gunzip); lets a batch drop its payload once prepared. */
  restore?(prepared: Buffer): Promise<Buffer>;
  /** One attempt. Must not throw for delivery failures: return retry/reject. `signal` aborts at shutdown. */
  deliver(body: Buffer, signal: AbortSignal): Promise<DeliveryResult>;
  close(): Promise<void>;
  /** Non-secret facts for /status. */
  describe(): Record<string, unknown>;
}

export interface SinkDefinition {
  readonly encoder: RecordEncoder;
  readonly transport: Transport;
  /** Independent request slots; each file's records always go through the same one (order). */
  readonly lanes: number;
  /**
   * The destination rejects a whole request (400) for one bad record (Loki, OTLP): split such a
   * batch in halves until the bad records are alone, so only they are dead-lettered.
   */
  readonly splitRejected?: boolean;
}
