/**
 * Redaction of credentials in text that is printed: error lines, log lines and /status. Values of
 * keys marked `secret` in the schema are never printed at all (see values.ts, argv.ts, file-merge.ts and
 * agent/check-config.ts); what this module handles is credentials that hide inside other values: the user
 * info and query values of a URL (`https://user:pass@host/?token=...`), also when the URL does
 * not parse (an invalid URL is exactly what an error line shows).
 */

/** What is printed instead of a secret-bearing key's value. */
export const SECRET_SHOWN = "(secret value)";

/** A URL-like run of text: an optional scheme, `//`, then anything up to white space or a quote. */
const URL_LIKE = /(?:\b[a-z][a-z0-9+.-]*:)?\/\/[^\s"'<>`]*/gi;

/**
 * A URL's user info and query values can hold credentials (`https://user:pass@host`,
 * `?token=...`); /status shows the rest of the URL. A value that is not a URL is returned as is,
 * with any URL-like part in it redacted.
 */
export function redactUrl(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return redactText(value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return redactText(value);
  }
  if (url.username === "" && url.password === "" && url.search === "") return value;
  if (url.username !== "" || url.password !== "") {
    url.username = "redacted";
    url.password = "";
  }
  for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, "redacted");
  return url.toString();
}

/**
 * Redacts every URL-like part of a free text (an error message that quotes a value): the user
 * info (everything between `//` and the last `@`) and the value of every query parameter.
 */
export function redactText(text: string): string {
  // A quoted value (JSON, as error lines quote values) is redacted as a whole, spaces included:
  // an invalid URL is often invalid because of a space.
  return text
    .replace(QUOTED, (q) => (q.includes("//") ? redactUrlParts(q, /[^"]*@/) : q))
    .replace(URL_LIKE, (u) => redactUrlParts(u, /[^\s"'<>`]*@/));
}

/** A JSON string literal. */
const QUOTED = /"(?:[^"\\]|\\.)*"/g;

function redactUrlParts(text: string, userInfo: RegExp): string {
  const scheme = /((?:[a-z][a-z0-9+.-]*:)?\/\/)/i.source;
  return text
    .replace(new RegExp(scheme + userInfo.source, "gi"), "$1redacted@")
    .replace(/([?&][^=&#"\s]*=)(?!redacted\b)[^&#"]*/g, "$1redacted");
}
