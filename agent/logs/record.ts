/**
 * The log record model shared by sources, parsers and sinks. It knows nothing about any sink's
 * wire format: encoders (sinks/shared/ndjson.ts, sinks/<name>/encoder.ts) turn records into payloads.
 *
 * What is the same for every line of a file (path, Kubernetes metadata, node) lives once in a
 * shared LogOrigin, so a record is four fields and a pointer, and encoders can cache the
 * origin's encoded form.
 */

export type LogStream = "stdout" | "stderr" | "";

export interface KubernetesMetadata {
  readonly namespace: string;
  readonly podName: string;
  readonly podUid: string;
  readonly containerName: string;
  readonly restartCount: number;
  /** What the API server says about the pod (agent/kubernetes), when metadata is on and known. */
  readonly api?: KubernetesApiMetadata;
}

/** A pod's owner, e.g. { kind: "Deployment", name: "web" }. */
export interface WorkloadRef {
  readonly kind: string;
  readonly name: string;
}

/** Pod metadata from the API server, the same for every record of one container's file. */
export interface KubernetesApiMetadata {
  readonly podLabels: Readonly<Record<string, string>>;
  /** Only the annotations selected by kubernetes.annotations. */
  readonly podAnnotations: Readonly<Record<string, string>>;
  /** The controller owner reference as is, e.g. ReplicaSet web-7d9f8. */
  readonly owner: WorkloadRef | undefined;
  /** The top workload: the Deployment behind a ReplicaSet, else the owner. */
  readonly workload: WorkloadRef | undefined;
  readonly containerImage: string | undefined;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** Only the labels selected by kubernetes.nodeLabels. */
  readonly nodeLabels: Readonly<Record<string, string>>;
}

/** Where records come from; one object per tailed file (or per journal), shared by its records. */
export interface LogOrigin {
  /** The configured source: pods, host, files or journald. */
  readonly source: string;
  /** The file path as discovered (kept when the file is later renamed by rotation). */
  readonly file?: string;
  readonly node?: string;
  readonly kubernetes?: KubernetesMetadata;
}

export interface LogRecord {
  /** RFC 3339 in UTC with exactly nine fractional digits, e.g. 2024-05-01T10:00:00.123456789Z. */
  time: string;
  stream: LogStream;
  message: string;
  origin: LogOrigin;
  /** Set when the message was cut at a size limit; the cut is also counted in a metric. */
  truncated: boolean;
  /** Per-record fields that are not the same for the whole origin (e.g. journald's unit). */
  attributes: Readonly<Record<string, string>> | undefined;
}

/** Builds a record with every field present, so all records share one object shape. */
export function makeRecord(
  time: string,
  stream: LogStream,
  message: string,
  origin: LogOrigin,
  truncated = false,
  attributes: Readonly<Record<string, string>> | undefined = undefined,
): LogRecord {
  return { time, stream, message, origin, truncated, attributes };
}

/** Fixed per-record overhead used in byte accounting (field names, time, origin reference). */
const RECORD_OVERHEAD_BYTES = 96;

/**
 * Bytes a record counts against the in-flight budget and batch limits: its message length
 * (UTF-16 units, close to UTF-8 bytes for log text) plus a fixed overhead. An estimate on
 * purpose: measuring UTF-8 length exactly would cost a pass over every message.
 */
export function recordSize(record: LogRecord): number {
  return record.message.length + RECORD_OVERHEAD_BYTES;
}
