import fs from "node:fs/promises";
import path from "node:path";

/**
 * Glob patterns for log paths: `*` and `?` within one path segment, `[abc]`/`[a-z]`/`[!x]`
 * classes, and `**` for any number of directories. Node 20 has no fs.glob, and matching only
 * what a log agent needs keeps the walk bounded and predictable.
 */

/** Compiles one glob segment (no '/') or a whole pattern to an anchored RegExp. */
export function globToRegExp(pattern: string): RegExp {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        // "**/" matches zero or more directories; a trailing "**" matches anything.
        const slashAfter = pattern[i + 2] === "/";
        re += slashAfter ? "(?:.*/)?" : ".*";
        i += slashAfter ? 2 : 1;
      } else {
        re += "[^/]*";
      }
    } else if (c === "?") {
      re += "[^/]";
    } else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) {
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, close);
      if (body.startsWith("!")) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, "\\\\")}]`;
      i = close;
    } else {
      re += c.replace(/[.+^${}()|\\]/g, "\\$&");
    }
  }
  return new RegExp(`${re}$`);
}

export function hasMagic(segment: string): boolean {
  return /[*?[]/.test(segment);
}

/**
 * An exclude rule: a pattern with a '/' matches the whole path, one without matches the base
 * name (so "*.gz" excludes compressed files anywhere).
 */
export class PathFilter {
  private readonly full: RegExp[] = [];
  private readonly base: RegExp[] = [];

  constructor(patterns: readonly string[]) {
    for (const p of patterns) (p.includes("/") ? this.full : this.base).push(globToRegExp(p));
  }

  matches(filePath: string): boolean {
    if (this.full.some((re) => re.test(filePath))) return true;
    if (this.base.length === 0) return false;
    const name = path.basename(filePath);
    return this.base.some((re) => re.test(name));
  }
}

export interface GlobWalkResult {
  /** Paths that match (not yet stat'ed: the caller decides about directories, links, ...). */
  matches: string[];
  /** Directories read during the walk: where new matches can appear (watched for changes). */
  directories: string[];
  /** Directories that could not be read, with the error code. */
  errors: Array<{ path: string; code: string }>;
}

export interface GlobWalkLimits {
  /** Stop collecting matches past this many (bounded work per scan). */
  maxMatches: number;
  /** Directories read at most per pattern, `**` included. */
  maxDirectories: number;
}

/** A pattern's segments, with "." and ".." resolved as path.normalize would (as the include filters are). */
function splitSegments(pattern: string): string[] {
  const raw = pattern.split("/");
  const normal = raw.every((s) => s !== "." && s !== "..");
  return (normal ? raw : path.normalize(pattern).split("/")).filter((s) => s !== "");
}

/**
 * `dir` joined with one segment or directory entry (never "", "." or ".." nor holding a "/"):
 * a concatenation. path.join's normalizing, run for every entry of every scan, was the first
 * function hot enough in an idle agent for V8 to optimize it with TurboFan (38 s after the start;
 * now 4-5 minutes), whose code pages add 5 MiB of RSS on Node 24 (docs/benchmarks.md, "Memory").
 */
function childPath(dir: string, name: string): string {
  return dir === "/" ? "/" + name : dir + "/" + name;
}

/**
 * Expands an absolute pattern by walking only the directories its segments can match.
 * Symbolic links to directories are followed for literal and single-level segments but not
 * under `**`, and each directory is visited once per walk (dev:ino), so link loops end.
 */
export async function expandGlob(pattern: string, limits: GlobWalkLimits): Promise<GlobWalkResult> {
  const result: GlobWalkResult = { matches: [], directories: [], errors: [] };
  if (!path.isAbsolute(pattern)) throw new Error(`glob ${JSON.stringify(pattern)} is not an absolute path`);
  const segments = splitSegments(pattern);
  // A directory is read once per pattern segment (dev:ino:segment), so link loops end.
  const visited = new Set<string>();
  const seenDirs = new Set<string>();
  await walk("/", 0);
  return result;

  async function walk(dir: string, index: number): Promise<void> {
    if (result.matches.length >= limits.maxMatches || result.directories.length >= limits.maxDirectories) return;
    if (index === segments.length) return;
    const segment = segments[index];
    const last = index === segments.length - 1;
    if (!hasMagic(segment)) {
      const next = childPath(dir, segment);
      if (last) result.matches.push(next);
      else await walk(next, index + 1);
      return;
    }
    const entries = await readDir(dir, index);
    if (entries === undefined) return;
    if (segment === "**") {
      // Zero directories, then every subdirectory (real directories only: no link loops).
      await walk(dir, index + 1);
      for (const e of entries) if (e.isDirectory()) await walk(childPath(dir, e.name), index);
      return;
    }
    const re = globToRegExp(segment);
    for (const e of entries) {
      if (!re.test(e.name)) continue;
      const next = childPath(dir, e.name);
      if (last) result.matches.push(next);
      else if (e.isDirectory() || e.isSymbolicLink()) await walk(next, index + 1);
      if (result.matches.length >= limits.maxMatches) return;
    }
  }

  async function readDir(dir: string, index: number) {
    try {
      const st = await fs.stat(dir);
      const id = `${st.dev}:${st.ino}:${index}`;
      if (visited.has(id)) return undefined;
      visited.add(id);
      const entries = await fs.readdir(dir, { withFileTypes: true });
      if (!seenDirs.has(dir)) {
        seenDirs.add(dir);
        result.directories.push(dir);
      }
      return entries;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "EUNKNOWN";
      if (code !== "ENOENT" && code !== "ENOTDIR") result.errors.push({ path: dir, code });
      return undefined;
    }
  }
}
