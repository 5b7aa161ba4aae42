import type { LogRecord } from "../record.js";

/**
 * Log levels. A filter that learns a record's level stores the normalized name (one of
 * SEVERITY_NAMES) in the attribute `severity`; sinks map it to their own scale (OTLP severity
 * numbers, syslog PRI severities).
 */

export type SeverityName = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

export const SEVERITY_NAMES: readonly SeverityName[] = ["trace", "debug", "info", "warn", "error", "fatal"];

/** OTLP SeverityNumber of each level (the first number of its range). */
export const SEVERITY_NUMBERS: Readonly<Record<SeverityName, number>> = { trace: 1, debug: 5, info: 9, warn: 13, error: 17, fatal: 21 };

const SPELLINGS: ReadonlyArray<[SeverityName, readonly string[]]> = [
  ["trace", ["trace", "trc", "t", "finest", "finer", "verbose", "vrb", "10"]],
  ["debug", ["debug", "dbg", "d", "fine", "20"]],
  ["info", ["info", "inf", "i", "information", "informational", "notice", "note", "30"]],
  ["warn", ["warn", "warning", "wrn", "w", "40"]],
  ["error", ["error", "err", "e", "severe", "50"]],
  ["fatal", ["fatal", "ftl", "f", "critical", "crit", "crt", "emerg", "emergency", "alert", "panic", "dpanic", "60"]],
];

/** Every spelling in lower case, upper case and capitalized, so most lookups need no case folding. */
const BY_SPELLING: ReadonlyMap<string, SeverityName> = (() => {
  const map = new Map<string, SeverityName>();
  for (const [name, spellings] of SPELLINGS) {
    for (const s of spellings) {
      map.set(s, name);
      map.set(s.toUpperCase(), name);
      map.set(s[0].toUpperCase() + s.slice(1), name);
    }
  }
  return map;
})();

/** The longest spelling; longer text is never a level. */
const MAX_SPELLING = 16;

/**
 * The level a text names, case-insensitively: the six names, syslog's keywords (emerg, alert,
 * crit, err, warning, notice), common abbreviations (dbg, trc, wrn, W/E/I/D/T/F), Java's
 * severe/fine/finer/finest, zap's dpanic/panic, and pino/bunyan numeric levels 10..60 written as
 * text. Undefined for anything else.
 */
export function normalizeSeverity(text: string): SeverityName | undefined {
  if (text.length === 0 || text.length > MAX_SPELLING) return undefined;
  return BY_SPELLING.get(text) ?? BY_SPELLING.get(text.trim().toLowerCase());
}

/** journald PRIORITY (syslog severity 0..7): 0-2 fatal, 3 error, 4 warn, 5-6 info, 7 debug. */
const PRIORITY_NAMES: readonly SeverityName[] = ["fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug"];

/**
 * A record's level by name: the attribute `severity` (a normalized name, or any spelling
 * normalizeSeverity knows), else journald's `priority` (0..7), else undefined.
 */
export function severityNameOf(record: LogRecord): SeverityName | undefined {
  const attributes = record.attributes;
  if (attributes === undefined) return undefined;
  const level = attributes.severity;
  if (typeof level === "string") {
    const name = normalizeSeverity(level);
    if (name !== undefined) return name;
  }
  const priority = attributes.priority;
  if (typeof priority === "string" && priority.length === 1) {
    const p = priority.charCodeAt(0) - 0x30;
    if (p >= 0 && p <= 7) return PRIORITY_NAMES[p];
  }
  return undefined;
}

/** A record's level as an OTLP severity number (see severityNameOf), or undefined when it has none. */
export function severityOf(record: LogRecord): number | undefined {
  const name = severityNameOf(record);
  return name === undefined ? undefined : SEVERITY_NUMBERS[name];
}
