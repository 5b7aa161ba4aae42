import fs from "node:fs/promises";
import path from "node:path";
import { ensureDir } from "../ensure-dir.js";

/**
 * Appends to a file and rotates it by size: path -> path.1 -> ... -> path.<maxFiles>, the
 * oldest removed. Writes are serialized; each write is fdatasync'ed before it resolves, so a
 * write that resolved survives a machine crash (the sink acknowledges only then).
 */
export class RotatingFileWriter {
  private handle: fs.FileHandle | undefined;
  private size = 0;
  /** Set when cutting back a failed write failed too: done before the next write appends. */
  private truncateTo: number | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly maxBytes: number,
    private readonly maxFiles: number,
  ) {}

  async open(): Promise<void> {
    await ensureDir(path.dirname(this.file));
    this.handle = await fs.open(this.file, "a", 0o640);
    this.size = (await this.handle.stat()).size;
  }

  write(data: Buffer): Promise<void> {
    const next = this.chain.then(() => this.writeNow(data));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async writeNow(data: Buffer): Promise<void> {
    if (this.handle === undefined) await this.open();
    if (this.truncateTo !== undefined) await this.truncateBack(this.truncateTo);
    if (this.size > 0 && this.size + data.length > this.maxBytes) await this.rotate();
    const handle = this.handle as fs.FileHandle;
    const start = this.size;
    try {
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await handle.write(data, written, data.length - written);
        written += bytesWritten;
      }
      this.size += data.length;
      await handle.datasync();
    } catch (err) {
      // A write that failed part-way (ENOSPC, EIO) leaves a torn NDJSON line; the batch is
      // retried whole, so cut the file back to where this write began. If even that fails, the
      // next write tries again before appending anything.
      this.size = start;
      this.truncateTo = start;
      await this.truncateBack(start).catch(() => undefined);
      throw err;
    }
  }

  private async truncateBack(size: number): Promise<void> {
    const handle = this.handle as fs.FileHandle;
    await handle.truncate(size);
    await handle.datasync();
    this.size = size;
    this.truncateTo = undefined;
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    await fs.rm(`${this.file}.${this.maxFiles}`, { force: true });
    for (let i = this.maxFiles - 1; i >= 1; i--) {
      await fs.rename(`${this.file}.${i}`, `${this.file}.${i + 1}`).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
    }
    await fs.rename(this.file, `${this.file}.1`);
    await this.open();
    // Make the renames and the new file durable: without it a crash can bring back the old
    // names, and data acknowledged after the rotation could end up in a file that vanishes.
    await syncDir(path.dirname(this.file));
  }

  async close(): Promise<void> {
    await this.chain;
    await this.handle?.close();
    this.handle = undefined;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
