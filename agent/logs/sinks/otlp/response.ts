import type { DeliveryResult } from "../../delivery/sink.js";
import { outcomeOfStatus } from "../shared/outcome.js";
import { readProtoFields } from "../shared/protobuf.js";

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
