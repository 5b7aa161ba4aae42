import type { DeliveryResult } from "../../delivery/sink.js";
import { parseRetryAfter } from "../../delivery/retry-policy.js";

/** The generic HTTP sink's temporary statuses: 408, 429 and 5xx. */
export const retryableHttpStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;

/**
 * Maps an HTTP status to an outcome: 2xx accepted; statuses `retryable` says are temporary are
 * retried (Retry-After honoured); any other status permanent, so the batch goes to the
 * dead-letter file instead of blocking the pipeline forever. Each sink passes the statuses its
 * API documents as temporary (Loki: 429 and 5xx; OTLP: 429, 502, 503, 504).
 */
export function outcomeOfStatus(
  status: number,
  retryAfter: string | undefined,
  detail?: string,
  retryable: (status: number) => boolean = retryableHttpStatus,
): DeliveryResult {
  if (status >= 200 && status < 300) return { kind: "ok" };
  if (retryable(status)) {
    return {
      kind: "retry",
      reason: status >= 500 ? "status_5xx" : `status_${status}`,
      retryAfterMs: parseRetryAfter(retryAfter),
      detail: detail || `HTTP ${status}`,
    };
  }
  return {
    kind: "reject",
    reason: status >= 400 && status < 500 ? `status_${status}` : `status_${Math.floor(status / 100)}xx`,
    status,
    detail: detail || `HTTP ${status}`,
  };
}

/** Maps a request error (no response) to a temporary outcome with a bounded reason label. */
export function outcomeOfError(err: unknown): DeliveryResult {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? "";
  let reason = "other";
  if (e.name === "TimeoutError" || code === "ETIMEDOUT" || code === "ESOCKETTIMEDOUT") reason = "timeout";
  else if (code === "ECONNREFUSED") reason = "connection_refused";
  else if (code === "ECONNRESET" || code === "EPIPE" || code === "ECONNABORTED" || code === "UND_ERR_SOCKET") reason = "connection_reset";
  else if (code === "ENOTFOUND" || code === "EAI_AGAIN") reason = "dns";
  else if (code === "EHOSTUNREACH" || code === "ENETUNREACH") reason = "unreachable";
  else if (
    code.startsWith("ERR_TLS") ||
    code.startsWith("CERT_") ||
    code.includes("SELF_SIGNED") ||
    code.startsWith("UNABLE_TO") ||
    code.startsWith("ERR_SSL")
  )
    reason = "tls";
  return { kind: "retry", reason, detail: code ? `${code}: ${e.message}` : e.message };
}
