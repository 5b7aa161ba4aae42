import { STATUS_CODES } from "node:http";
import type { KubeStatus } from "./kube-types.js";

/**
 * Why an API request or watch failed; a bounded set, used as a metric label and as the "state"
 * that logging follows (one line per change of state, not per retry).
 */
export type ErrorReason =
  | "unauthorized" // 401: the token is missing, expired or revoked
  | "forbidden" // 403: the ServiceAccount lacks RBAC
  | "gone" // 410: the resourceVersion or continue token expired; the reflector lists again
  | "client_error" // another 4xx
  | "server_error" // 5xx, or a watch ERROR event other than 410
  | "connection" // refused, reset, DNS, host unreachable
  | "tls" // the API server's certificate was not accepted (kubernetes.caFile)
  | "timeout" // no response, or a silent watch, within the limits
  | "decode" // a body or event line that is not the JSON expected
  | "oversize" // a watch event line or list page above the size cap
  | "token" // the token file cannot be read
  | "internal"; // an exception in the agent's own handling of a response (a bug)

/** An API failure; the message says what happened, with the HTTP status and the API's own message, and never the token. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly reason: ErrorReason,
    /** HTTP status, or the code of a watch ERROR event's Status. */
    readonly status?: number,
    /** True when a watch ERROR event said so (the HTTP status was 200). */
    readonly watchEvent = false,
  ) {
    super(message);
    this.name = "ApiError";
  }

  get gone(): boolean {
    return this.reason === "gone";
  }
}

function reasonOfStatus(code: number): ErrorReason {
  if (code === 401) return "unauthorized";
  if (code === 403) return "forbidden";
  if (code === 410) return "gone";
  if (code >= 400 && code < 500) return "client_error";
  return "server_error";
}

/** Reads a metav1.Status out of an error body; undefined when the body is something else (a proxy's HTML page). */
export function parseStatus(body: string): KubeStatus | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as KubeStatus;
  } catch {
    // not JSON
  }
  return undefined;
}

/** A non-2xx response: `HTTP 403 Forbidden: <the API's message>`. */
export function httpError(status: number, body: string): ApiError {
  const parsed = parseStatus(body);
  const detail =
    typeof parsed?.message === "string" && parsed.message !== "" ? parsed.message : body.replace(/\s+/g, " ").trim().slice(0, 300);
  const text = `HTTP ${status} ${STATUS_CODES[status] ?? ""}`.trimEnd();
  return new ApiError(detail === "" ? text : `${text}: ${detail}`, reasonOfStatus(status), status);
}

/** A watch ERROR event: its object is a Status, e.g. {"code":410,"reason":"Expired","message":"too old resource version: ..."}. */
export function watchErrorEvent(status: KubeStatus): ApiError {
  const code = typeof status.code === "number" ? status.code : 500;
  const reason = typeof status.reason === "string" && status.reason !== "" ? ` ${status.reason}` : "";
  const message = typeof status.message === "string" && status.message !== "" ? `: ${status.message}` : "";
  return new ApiError(`watch ERROR event ${code}${reason}${message}`, reasonOfStatus(code), code, true);
}

const TLS_CODES = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_SSL_)/;

/** A socket-level failure (refused, reset, TLS) as an ApiError; the message is Node's (it never holds request headers). */
export function socketError(err: unknown, apiServer: string): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === "string" ? e.code : "";
  const message = e instanceof Error ? e.message : String(err);
  if (TLS_CODES.test(code)) return new ApiError(`TLS with ${apiServer} failed (${code}): ${message}; check kubernetes.caFile`, "tls");
  return new ApiError(`connection to ${apiServer} failed: ${message}`, "connection");
}

/** Any failure as an ApiError: the client throws nothing else, so anything else is the agent's own bug ("internal"). */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(`internal error: ${err instanceof Error ? err.message : String(err)}`, "internal");
}
