import fs from "node:fs/promises";
import path from "node:path";

/**
 * Go's path/filepath.Glob, for options node_exporter documents as globs (the textfile
 * directories): `*`, `?`, `[a-z]`/`[^a-z]` classes and `\` escapes, matched per path element,
 * results sorted per directory, I/O errors ignored. The pattern is checked and compiled once.
 */

export class GoGlobPatternError extends Error {
  constructor(pattern: string) {
    super(`syntax error in pattern ${JSON.stringify(pattern)}`);
    this.name = "GoGlobPatternError";
  }
}

export function hasGlobMeta(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" || c === "?" || c === "[" || c === "\\") return true;
  }
  return false;
}

function literal(ch: string): string {
  return /[A-Za-z0-9_]/.test(ch) ? ch : `\\u{${ch.codePointAt(0)!.toString(16)}}`;
}

/**
 * Compiles one path element pattern (filepath.Match syntax) to an anchored RegExp; throws
 * GoGlobPatternError where Match returns ErrBadPattern.
 */
export function compileGoMatch(pattern: string): RegExp {
  const chars = Array.from(pattern);
  let source = "";
  let i = 0;
  const bad = (): never => {
    throw new GoGlobPatternError(pattern);
  };
  /** filepath's getEsc: one class character, possibly escaped; `-`, `]` or the end are errors. */
  const classChar = (): string => {
    if (i >= chars.length || chars[i] === "-" || chars[i] === "]") bad();
    if (chars[i] === "\\") {
      i++;
      if (i >= chars.length) bad();
    }
    const ch = chars[i++];
    if (i >= chars.length) bad();
    return ch;
  };
  while (i < chars.length) {
    const ch = chars[i++];
    if (ch === "*") {
      source += "[^/]*";
    } else if (ch === "?") {
      source += "[^/]";
    } else if (ch === "\\") {
      if (i >= chars.length) bad();
      source += literal(chars[i++]);
    } else if (ch === "[") {
      let negated = false;
      if (i < chars.length && chars[i] === "^") {
        negated = true;
        i++;
      }
      let ranges = "";
      for (let count = 0; ; count++) {
        if (i < chars.length && chars[i] === "]" && count > 0) {
          i++;
          break;
        }
        const lo = classChar();
        let hi = lo;
        if (chars[i] === "-") {
          i++;
          hi = classChar();
        }
        // Go matches nothing for a reversed range; a JavaScript class would not compile.
        if (lo.codePointAt(0)! <= hi.codePointAt(0)!) ranges += `${literal(lo)}-${literal(hi)}`;
      }
      source += `[${negated ? "^" : ""}${ranges}]`;
    } else {
      source += literal(ch);
    }
  }
  return new RegExp(`^${source}$`, "su");
}

export interface GoGlob {
  readonly pattern: string;
  /** The matching paths (Go's Join(dir, name) form), sorted per directory; [] when none. */
  expand(): Promise<string[]>;
}

/** Compiles a glob; throws GoGlobPatternError for a malformed pattern (Go's ErrBadPattern). */
export function compileGoGlob(pattern: string): GoGlob {
  compileGoMatch(pattern); // filepath.Glob first checks the whole pattern
  const matchers = new Map<string, RegExp>();
  const matcher = (element: string): RegExp => {
    let re = matchers.get(element);
    if (re === undefined) {
      re = compileGoMatch(element);
      matchers.set(element, re);
    }
    return re;
  };
  const expand = async (p: string, depth: number): Promise<string[]> => {
    if (!hasGlobMeta(p)) {
      try {
        await fs.lstat(p);
        return [p];
      } catch {
        return [];
      }
    }
    const slash = p.lastIndexOf("/");
    const file = p.slice(slash + 1);
    let dir = slash < 0 ? "" : p.slice(0, slash + 1);
    // filepath's cleanGlobPath: "" means ".", a trailing separator goes (except for the root).
    if (dir === "") dir = ".";
    else if (dir !== "/") dir = dir.slice(0, -1);
    const re = matcher(file);
    if (!hasGlobMeta(dir)) return matchIn(dir, re);
    if (dir === p || depth > 10_000) throw new GoGlobPatternError(pattern);
    const result: string[] = [];
    for (const d of await expand(dir, depth + 1)) result.push(...(await matchIn(d, re)));
    return result;
  };
  return { pattern, expand: () => expand(pattern, 0) };
}

async function matchIn(dir: string, re: RegExp): Promise<string[]> {
  let names: string[];
  try {
    if (!(await fs.stat(dir)).isDirectory()) return [];
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  return names
    .sort()
    .filter((n) => re.test(n))
    .map((n) => path.join(dir, n));
}
