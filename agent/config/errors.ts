import { redactText } from "./redact.js";

/**
 * One finding about the configuration. Errors stop both `run` and `check-config` (exit 2);
 * warnings (a setting that does nothing, an insecure choice) are printed and do not; notes say
 * what was not checked (check-config --offline).
 */
export interface ConfigIssue {
  severity: "error" | "warning" | "note";
  /** The dotted config key (logs.sink.http.url), a flag (--bogus) or an env variable. */
  key: string;
  /** What is wrong and what is allowed; never a secret's value. */
  problem: string;
  /** Where the value came from: `in FILE`, `env NAME` or `flag --name`. */
  source?: string;
}

/** `config error: KEY (SOURCE): PROBLEM`, the one format of every configuration message; URL credentials redacted. */
export function formatIssue(issue: ConfigIssue): string {
  const label = issue.severity === "error" ? "config error" : issue.severity === "warning" ? "config warning" : "config note";
  return redactText(`${label}: ${issue.key}${issue.source ? ` (${issue.source})` : ""}: ${issue.problem}`);
}

/** A configuration problem: names the key, the value given (never a secret's) and what is allowed. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
    readonly source?: string,
  ) {
    super(formatIssue({ severity: "error", key, problem, source }));
    this.name = "ConfigError";
  }

  toIssue(): ConfigIssue {
    return { severity: "error", key: this.key, problem: this.problem, source: this.source };
  }
}

/**
 * Runs a check written as "throw ConfigError on the first problem" (the sinks' and the server's
 * own checks) and appends its error to `issues`. Returns the check's result, or undefined when it
 * threw a ConfigError; any other exception propagates.
 */
export function collectIssue<T>(issues: ConfigIssue[], check: () => T): T | undefined {
  try {
    return check();
  } catch (err) {
    if (err instanceof ConfigError) {
      issues.push(err.toIssue());
      return undefined;
    }
    throw err;
  }
}

/** As collectIssue, for checks that are async (a transport's start()). */
export async function collectIssueAsync<T>(issues: ConfigIssue[], check: () => Promise<T>): Promise<T | undefined> {
  try {
    return await check();
  } catch (err) {
    if (err instanceof ConfigError) {
      issues.push(err.toIssue());
      return undefined;
    }
    throw err;
  }
}

/** Exit code for invalid configuration or command line. */
export const EXIT_CONFIG = 2;

/**
 * The sinks' checks name their keys logs.sink.*; a named sink's (logs.sinks.<name>.*) problems are
 * the same with the prefix replaced, in the key and in the problem's text.
 */
export function rekeyIssue(issue: ConfigIssue, from: string, to: string): ConfigIssue {
  if (from === to) return issue;
  const swap = (text: string) => text.split(`${from}.`).join(`${to}.`);
  return { ...issue, key: issue.key === from ? to : swap(issue.key), problem: swap(issue.problem) };
}

/** Runs `fn`; a ConfigError it throws comes out with its keys moved from `from` to `to` (see rekeyIssue). */
export async function withKeyPrefix<T>(from: string, to: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ConfigError) || from === to) throw err;
    const issue = rekeyIssue(err.toIssue(), from, to);
    throw new ConfigError(issue.key, issue.problem, issue.source);
  }
}
