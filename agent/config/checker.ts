import type { ConfigIssue } from "./errors.js";

export interface CheckOptions {
  env: NodeJS.ProcessEnv;
  /** Keys set explicitly: settings that do nothing (for the chosen sink, ...) get a warning. */
  explicit?: ReadonlySet<string>;
  /** Keys whose given value was rejected while reading: their checks would only repeat the error. */
  failed?: ReadonlySet<string>;
  /** Do not read the env variables and files the config refers to; each one becomes a note. */
  offline?: boolean;
}

/**
 * What each section's checks after reading share (agent/check-config.ts runs them): the issues
 * found so far, and which keys were set or rejected while reading.
 */
export class ConfigChecker {
  readonly issues: ConfigIssue[] = [];
  readonly env: NodeJS.ProcessEnv;
  readonly offline: boolean;
  readonly explicit: ReadonlySet<string>;
  private readonly failed: ReadonlySet<string>;

  constructor(opts: CheckOptions) {
    this.env = opts.env;
    this.offline = opts.offline ?? false;
    this.explicit = opts.explicit ?? new Set();
    this.failed = opts.failed ?? new Set();
  }

  /**
   * Whether a key, a key under it or above it was rejected while reading: that key kept its
   * default, so a check involving it (web.tls, when web.tls.certFile was rejected) would mislead.
   */
  failedUnder(prefix: string): boolean {
    for (const k of this.failed) if (k === prefix || k.startsWith(`${prefix}.`) || prefix.startsWith(`${k}.`)) return true;
    return false;
  }

  add(severity: ConfigIssue["severity"], key: string, problem: string): void {
    this.issues.push({ severity, key, problem });
  }

  /** A warning for each key under `prefix` set explicitly (but those in `except`): it has no effect, for `reason`. */
  unused(prefix: string, reason: string, except: readonly string[] = []): void {
    for (const key of this.explicit) {
      if (key.startsWith(prefix) && !except.includes(key)) this.add("warning", key, `has no effect: ${reason}`);
    }
  }
}
