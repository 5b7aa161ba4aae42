import fs from "node:fs/promises";

/**
 * The bearer token, read from the ServiceAccount's projected token file. The kubelet rewrites that
 * file (an atomic symlink swap) long before the token expires; the file's identity (inode, size,
 * mtime) is checked at most every `checkIntervalMs`, and re-read when it changed. After a 401 the
 * caller calls invalidate(): the next get() reads the file whatever its identity says.
 *
 * The token lives in a private field only: it is never part of an error, a log line or /status,
 * and the object prints as `TokenSource(<file>)`.
 */
export class TokenSource {
  #token = "";
  #identity = "";
  #checkedAt = -Infinity;
  #stale = true;

  constructor(
    readonly file: string,
    private readonly checkIntervalMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The current token; throws (naming the file and the errno code, never the content) when it cannot be read or is empty. */
  async get(): Promise<string> {
    const now = this.now();
    if (!this.#stale && now - this.#checkedAt < this.checkIntervalMs) return this.#token;
    this.#checkedAt = now;
    let identity: string;
    try {
      const st = await fs.stat(this.file);
      identity = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      throw tokenFileError(this.file, err);
    }
    if (!this.#stale && identity === this.#identity) return this.#token;
    let text: string;
    try {
      text = await fs.readFile(this.file, "utf8");
    } catch (err) {
      throw tokenFileError(this.file, err);
    }
    const token = text.trim();
    if (token === "") throw new Error(`token file ${this.file} is empty`);
    this.#token = token;
    this.#identity = identity;
    this.#stale = false;
    return token;
  }

  /** After a 401: the next get() re-reads the file, whatever its identity says. */
  invalidate(): void {
    this.#stale = true;
  }

  toString(): string {
    return `TokenSource(${this.file})`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

function tokenFileError(file: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException)?.code ?? "error";
  return new Error(`token file ${file} cannot be read (${code})`);
}
