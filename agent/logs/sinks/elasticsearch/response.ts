import type { DeliveryResult, ItemRejection, RecordNote } from "../../delivery/sink.js";
import { outcomeOfStatus } from "../shared/outcome.js";

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
