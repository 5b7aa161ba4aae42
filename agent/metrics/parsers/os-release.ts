import { noProblems, noteProblem, type ParseProblems } from "./parse-problems.js";
import { splitLines } from "./text.js";

/**
 * Parser for os-release(5) files with the rules of hashicorp/go-envparse, which node_exporter
 * uses: KEY=value lines, an optional `export ` prefix, "double quotes" with \" \\ \n \t escapes,
 * 'single quotes' taken literally, and unquoted values ending at a `#` comment. A line that
 * go-envparse rejects is skipped and reported (node_exporter would drop the whole file);
 * comment and blank lines are ignored.
 */
export function parseOsRelease(text: string): { values: Map<string, string>; problems: ParseProblems } {
  const problems = noProblems();
  const values = new Map<string, string>();
  const lines = splitLines(text);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const parsed = parseLine(line);
    if (typeof parsed === "string") noteProblem(problems, index, line, parsed);
    else values.set(parsed.key, parsed.value);
  }
  return { values, problems };
}

function isKeyStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isKeyChar(c: number): boolean {
  return isKeyStart(c) || (c >= 48 && c <= 57);
}

/** One KEY=value line: the pair, or why it is rejected. */
function parseLine(line: string): { key: string; value: string } | string {
  const eq = line.indexOf("=");
  if (eq === -1) return "missing '='";
  let key = line.slice(0, eq).trim();
  if (key.startsWith("export ")) key = key.slice(7).trim();
  if (key === "") return "empty key";
  if (!isKeyStart(key.charCodeAt(0))) return "key must start with [A-Za-z_]";
  for (let i = 1; i < key.length; i++) if (!isKeyChar(key.charCodeAt(i))) return "key characters must be [A-Za-z0-9_]";

  const raw = line.slice(eq + 1).trim();
  let value = "";
  let lastSignificant = 0; // unquoted whitespace before a trailing comment is dropped
  let mode: "normal" | "double" | "single" | "escape" = "normal";
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (raw.charCodeAt(i) < 32) return "control character in value";
    switch (mode) {
      case "normal":
        if (ch === '"') mode = "double";
        else if (ch === "'") mode = "single";
        else if (ch === "#") return { key, value: value.slice(0, lastSignificant) };
        else {
          value += ch;
          if (ch !== " ") lastSignificant = value.length;
        }
        break;
      case "double":
        if (ch === '"') mode = "normal";
        else if (ch === "\\") mode = "escape";
        else {
          value += ch;
          lastSignificant = value.length;
        }
        break;
      case "escape": {
        const escaped = ch === '"' ? '"' : ch === "\\" ? "\\" : ch === "n" ? "\n" : ch === "t" ? "\t" : undefined;
        if (escaped === undefined) return `invalid escape sequence \\${ch}`;
        value += escaped;
        lastSignificant = value.length;
        mode = "double";
        break;
      }
      case "single":
        if (ch === "'") mode = "normal";
        else {
          value += ch;
          lastSignificant = value.length;
        }
        break;
    }
  }
  if (mode === "double") return 'unmatched "';
  if (mode === "single") return "unmatched '";
  if (mode === "escape") return "incomplete escape sequence";
  return { key, value };
}

/** node_exporter's node_os_version value: the leading major[.minor] of VERSION_ID, or 0 when there is none. */
export function majorMinorVersion(versionId: string): number {
  const match = /^[0-9]+\.?[0-9]*/.exec(versionId);
  return match === null ? 0 : Number(match[0].endsWith(".") ? match[0].slice(0, -1) : match[0]);
}
