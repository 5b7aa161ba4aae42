import type { Field } from "./schema.js";
import { SECRET_SHOWN, redactText } from "./redact.js";

/** Result of converting one raw value: the value, or a message saying what is allowed. */
export type Coerced = { ok: true; value: unknown } | { ok: false; problem: string };

const DURATION_UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

export function parseDuration(raw: unknown): number | undefined {
  if (typeof raw === "number" && Number.isFinite(raw)) return raw;
  if (typeof raw !== "string") return undefined;
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  // Go-style compound durations such as 1m30s or 1h5m.
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    matched = re.lastIndex;
  }
  return matched === text.length && matched > 0 ? total : undefined;
}

/**
 * Compiles a regular expression written for node_exporter (Go RE2 syntax). A leading `(?i)` or
 * `(?s)` group of flags becomes the JavaScript flag; the rest of RE2 syntax used in practice is
 * the same in JavaScript.
 */
export function compileGoRegex(source: string): RegExp {
  let flags = "";
  let body = source;
  const lead = /^\(\?([imsU]+)\)/.exec(body);
  if (lead) {
    for (const ch of lead[1]) if (ch === "i" || ch === "m" || ch === "s") flags += ch;
    body = body.slice(lead[0].length);
  }
  return new RegExp(body, flags);
}

/** A value as an error line quotes it: JSON, URL credentials redacted, cut at 120 characters. */
export function show(raw: unknown): string {
  const text = redactText(typeof raw === "string" ? JSON.stringify(raw) : (JSON.stringify(raw) ?? String(raw)));
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Converts a raw value (a YAML value, or a string from env/flags) to the field's type. */
export function coerce(field: Field<unknown>, raw: unknown, fromText: boolean): Coerced {
  const shown = field.secret ? SECRET_SHOWN : show(raw);
  switch (field.kind) {
    case "string":
      if (typeof raw === "string") return { ok: true, value: raw };
      if (!fromText && (typeof raw === "number" || typeof raw === "boolean")) return { ok: true, value: String(raw) };
      return { ok: false, problem: `${shown} is not a string` };
    case "bool": {
      if (typeof raw === "boolean") return { ok: true, value: raw };
      if (typeof raw === "string" && /^(true|false|1|0|yes|no)$/i.test(raw.trim())) {
        return { ok: true, value: /^(true|1|yes)$/i.test(raw.trim()) };
      }
      return { ok: false, problem: `${shown} is not a boolean; allowed: true or false` };
    }
    case "int":
    case "number": {
      const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
      if (!Number.isFinite(n) || (field.kind === "int" && !Number.isInteger(n))) {
        return { ok: false, problem: `${shown} is not ${field.kind === "int" ? "an integer" : "a number"}${rangeText(field)}` };
      }
      return inRange(field, n, shown);
    }
    case "duration": {
      const d = parseDuration(raw);
      if (d === undefined) {
        return {
          ok: false,
          problem: `${shown} is not a duration; allowed: seconds (e.g. 1.5) or a value like 500ms, 5s, 2m, 1h${rangeText(field)}`,
        };
      }
      return inRange(field, d, shown);
    }
    case "regex": {
      if (typeof raw !== "string") return { ok: false, problem: `${shown} is not a string holding a regular expression` };
      return checkRegex(raw, shown);
    }
    case "enum": {
      const allowed = field.enumValues ?? [];
      if (typeof raw === "string" && allowed.includes(raw)) return { ok: true, value: raw };
      return { ok: false, problem: `${shown} is not allowed; allowed: ${allowed.join(", ")}` };
    }
    case "stringList":
    case "regexList": {
      const list = typeof raw === "string" ? (fromText ? splitList(raw) : [raw]) : raw;
      if (!Array.isArray(list) || !list.every((v) => typeof v === "string")) {
        return { ok: false, problem: `${shown} is not a list of strings` };
      }
      if (field.kind === "regexList") {
        for (const item of list) {
          const r = checkRegex(item, show(item));
          if (!r.ok) return r;
        }
      }
      return { ok: true, value: list };
    }
    case "stringMap": {
      if (fromText && typeof raw === "string") {
        const out: Record<string, string> = {};
        const pairs = splitList(raw);
        for (const [i, pair] of pairs.entries()) {
          const eq = pair.indexOf("=");
          if (eq <= 0) {
            // A secret map's entry is never echoed, not even its name: a malformed entry such as
            // "Authorization: Bearer ..." is a header name and its secret value run together.
            const entry = field.secret ? `entry ${i + 1} of ${pairs.length}` : `entry ${show(pair)}`;
            return { ok: false, problem: `${shown}: ${entry} is not key=value; allowed: NAME=VALUE pairs separated by commas` };
          }
          out[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        return { ok: true, value: out };
      }
      if (typeof raw !== "object" || raw === null || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === "string")) {
        return { ok: false, problem: `${shown} is not a map of strings to strings` };
      }
      return { ok: true, value: { ...(raw as Record<string, string>) } };
    }
  }
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function checkRegex(source: string, shown: string): Coerced {
  try {
    compileGoRegex(source);
    return { ok: true, value: source };
  } catch (err) {
    return { ok: false, problem: `${shown} is not a valid regular expression: ${(err as Error).message}` };
  }
}

function rangeText(field: Field<unknown>): string {
  if (field.min !== undefined && field.max !== undefined) return ` between ${field.min} and ${field.max}`;
  if (field.min !== undefined) return ` of at least ${field.min}`;
  if (field.max !== undefined) return ` of at most ${field.max}`;
  return "";
}

function inRange(field: Field<unknown>, n: number, shown: string): Coerced {
  if ((field.min !== undefined && n < field.min) || (field.max !== undefined && n > field.max)) {
    return { ok: false, problem: `${shown} is out of range; allowed: a value${rangeText(field)}` };
  }
  return { ok: true, value: n };
}
