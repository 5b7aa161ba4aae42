import type { Logger } from "pino";
import type { ApiError, ErrorReason } from "./api-error.js";
import type { Resource } from "./metrics.js";

export type Verb = "list" | "watch";

/**
 * The log lines of one reflector: a warn line when it starts failing or fails differently (403,
 * 401, unreachable, ...), debug lines for the retries in the same state, and an info line when it
 * works again. So an API server down for an hour gives two lines per resource, not one per retry.
 */
export class HealthLog {
  private state: ErrorReason | "ok" = "ok";
  private failures = 0;

  constructor(
    private readonly logger: Logger,
    private readonly resource: Resource,
    private readonly ctx: { readonly apiServer: string; readonly tokenFile: string; readonly scope: string; readonly backoffMaxMs: number },
  ) {}

  /** A LIST or watch failed; the next try is in `delayMs`. */
  failed(err: ApiError, verb: Verb, delayMs: number): void {
    this.failures++;
    const fields = { resource: this.resource, verb, reason: err.reason, status: err.status, retryInMs: Math.round(delayMs) };
    if (err.reason === this.state) {
      this.logger.debug(fields, `kubernetes: ${verb} ${this.resource} failed again: ${err.message}`);
      return;
    }
    this.state = err.reason;
    this.logger.warn(
      fields,
      `kubernetes: ${this.describe(err, verb)}; retrying in ${seconds(delayMs)}, backoff doubling up to ${seconds(this.ctx.backoffMaxMs)}`,
    );
  }

  /** A LIST completed or a watch was accepted. */
  recovered(verb: Verb): void {
    if (this.state === "ok") return;
    this.logger.info(
      { resource: this.resource, verb, was: this.state, failures: this.failures },
      `kubernetes: ${verb} ${this.resource} works again after ${this.failures} failed ${this.failures === 1 ? "try" : "tries"} (last: ${this.state})`,
    );
    this.state = "ok";
    this.failures = 0;
  }

  /** The watch's resourceVersion expired (410): the reflector lists again. Routine, so info. */
  gone(err: ApiError): void {
    this.logger.info({ resource: this.resource, status: 410 }, `kubernetes: ${this.resource}: ${err.message}; listing again`);
  }

  /** The watch lost an event (over-size or malformed line): the reflector lists again. */
  lostEvent(err: ApiError): void {
    this.logger.warn({ resource: this.resource, reason: err.reason }, `kubernetes: watch ${this.resource}: ${err.message}; listing again`);
  }

  private describe(err: ApiError, verb: Verb): string {
    const what = `${verb} ${this.resource} ${this.ctx.scope}`;
    switch (err.reason) {
      case "forbidden":
        return `the ServiceAccount lacks RBAC: ${what} is forbidden (grant get, list and watch on ${this.resource}; the chart's ClusterRole does). The API server says: ${err.message}`;
      case "unauthorized":
        return `the API server rejects the token from ${this.ctx.tokenFile} (${what}): ${err.message}. The file is re-read on every retry, so a rotated token recovers without a restart`;
      case "token":
        return `${what}: ${err.message}`;
      case "connection":
        return `the API server is unreachable (${what}): ${err.message}`;
      case "timeout":
        return `the API server ${this.ctx.apiServer} does not answer (${what}): ${err.message}`;
      case "tls":
        return `${what}: ${err.message}`;
      default:
        return `${what} failed: ${err.message}`;
    }
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}
