import { ConfigError } from "../../config/errors.js";
import { compileGoRegex, show } from "../../config/values.js";
import type { LogOrigin, LogRecord } from "../record.js";
import { attributeOf } from "./attributes.js";
import { globToRegExp, hasMagic } from "../sources/glob.js";
import type { MatchConfig } from "./schema.js";
import { normalizeSeverity, severityOf, SEVERITY_NUMBERS } from "./severity.js";

type Predicate = (record: LogRecord) => boolean;
type TextTest = (text: string | undefined) => boolean;

const SOURCES = ["pods", "host", "files", "journald"];
const STREAMS = ["stdout", "stderr"];

/**
 * Compiles a `match` section (routes' and filters') to one predicate: every condition given must
 * hold, any entry of a list will do. Undefined when no condition is given (every record
 * matches), so callers skip the call. `key` names the section in errors (logs.filters[2].match).
 *
 * The conditions on the origin (source, pod, file) are the same for every record of a file, so
 * their result is kept for the last origin seen: records come in runs of one file.
 */
export function compileMatch(config: MatchConfig, key: string): Predicate | undefined {
  const originTests: Array<(origin: LogOrigin) => boolean> = [];
  const recordTests: Predicate[] = [];

  const sources = listOf(config.sources);
  if (sources.length > 0) {
    checkAllowed(sources, SOURCES, `${key}.sources`, "a source");
    const set = new Set(sources);
    originTests.push((o) => set.has(o.source));
  }
  const namespace = textTest(listOf(config.namespaces));
  if (namespace !== undefined) originTests.push((o) => namespace(o.kubernetes?.namespace));
  const pod = textTest(listOf(config.pods));
  if (pod !== undefined) originTests.push((o) => pod(o.kubernetes?.podName));
  const container = textTest(listOf(config.containers));
  if (container !== undefined) originTests.push((o) => container(o.kubernetes?.containerName));
  const file = textTest(listOf(config.files));
  if (file !== undefined) originTests.push((o) => file(o.file));

  const streams = listOf(config.streams);
  if (streams.length > 0) {
    checkAllowed(streams, STREAMS, `${key}.streams`, "a stream");
    const stdout = streams.includes("stdout");
    const stderr = streams.includes("stderr");
    recordTests.push((r) => (r.stream === "stdout" ? stdout : r.stream === "stderr" ? stderr : false));
  }
  if (config.messagePattern) {
    const re = regexOf(config.messagePattern, `${key}.messagePattern`);
    recordTests.push((r) => re.test(r.message));
  }
  if (config.minSeverity) {
    const level = normalizeSeverity(config.minSeverity);
    if (level === undefined || level !== config.minSeverity) {
      throw new ConfigError(
        `${key}.minSeverity`,
        `${show(config.minSeverity)} is not allowed; allowed: ${Object.keys(SEVERITY_NUMBERS).join(", ")}`,
      );
    }
    const min = SEVERITY_NUMBERS[level];
    const unknown = config.unknownSeverity !== "skip";
    recordTests.push((r) => {
      const n = severityOf(r);
      return n === undefined ? unknown : n >= min;
    });
  }
  for (const [name, source] of Object.entries(config.fields ?? {})) {
    const re = regexOf(source, `${key}.fields.${name}`);
    recordTests.push((r) => {
      const value = attributeOf(r.attributes, name);
      return value !== undefined && re.test(value);
    });
  }

  const origin = originTests.length === 0 ? undefined : cachedByOrigin(all(originTests));
  const rest = recordTests.length === 0 ? undefined : all(recordTests);
  if (origin === undefined) return rest;
  if (rest === undefined) return (r) => origin(r.origin);
  return (r) => origin(r.origin) && rest(r);
}

function listOf(list: readonly string[] | undefined): readonly string[] {
  return list ?? [];
}

function checkAllowed(values: readonly string[], allowed: readonly string[], key: string, what: string): void {
  for (const v of values) {
    if (!allowed.includes(v)) throw new ConfigError(key, `${show(v)} is not ${what}; allowed: ${allowed.join(", ")}`);
  }
}

function regexOf(source: string, key: string): RegExp {
  try {
    return compileGoRegex(source);
  } catch (err) {
    throw new ConfigError(key, `${show(source)} is not a valid regular expression: ${(err as Error).message}`);
  }
}

/** Exact names by set lookup, globs by one anchored alternation; undefined when the list is empty. */
function textTest(patterns: readonly string[]): TextTest | undefined {
  if (patterns.length === 0) return undefined;
  const exact = new Set(patterns.filter((p) => !hasMagic(p)));
  const globs = patterns.filter((p) => hasMagic(p)).map((p) => globToRegExp(p).source.slice(1, -1));
  const re = globs.length === 0 ? undefined : new RegExp(`^(?:${globs.join("|")})$`);
  if (re === undefined) return (text) => text !== undefined && exact.has(text);
  return (text) => text !== undefined && (exact.has(text) || re.test(text));
}

function all<T>(tests: ReadonlyArray<(x: T) => boolean>): (x: T) => boolean {
  if (tests.length === 1) return tests[0];
  if (tests.length === 2) {
    const [a, b] = tests;
    return (x) => a(x) && b(x);
  }
  return (x) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i](x)) return false;
    return true;
  };
}

/** The test's result for the last origin asked about. */
function cachedByOrigin(test: (origin: LogOrigin) => boolean): (origin: LogOrigin) => boolean {
  let last: LogOrigin | undefined;
  let result = false;
  return (origin) => {
    if (origin !== last) {
      result = test(origin);
      last = origin;
    }
    return result;
  };
}
