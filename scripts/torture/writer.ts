import fs from "node:fs";

export type LineFormat = "plain" | "cri";

/**
 * An application logging into one file at a steady rate from this process: lines
 * `w=<id> s=<seq> xxx…` padded to `lineBytes` (CRI-framed for container logs). The file is
 * opened O_APPEND; `reopen()` is what an application does after logrotate's rename+create (on
 * SIGHUP) or a container runtime on the kubelet's ReopenContainerLog: close, open the path again.
 */
export class TortureWriter {
  /** Lines written so far; the next line's sequence number. */
  seq = 0;
  reopens = 0;
  private fd: number;
  private timer?: NodeJS.Timeout;

  constructor(
    readonly file: string,
    readonly id: string,
    private readonly linesPerSecond: number,
    private readonly format: LineFormat,
    private readonly lineBytes: number,
    /** Told the inode of each file opened and the first sequence number written into it. */
    private readonly onOpen: (seq: number, ino: number) => void = () => undefined,
    /** "a": O_APPEND, as most loggers; "w": at the descriptor's offset (a shell's `>`), so a truncate leaves a hole. */
    private readonly mode: "a" | "w" = "a",
  ) {
    this.fd = this.open();
  }

  private open(): number {
    const fd = fs.openSync(this.file, this.mode);
    this.onOpen(this.seq, fs.fstatSync(fd).ino);
    return fd;
  }

  line(seq: number): string {
    const head = `w=${this.id} s=${seq} `;
    const body = head + "x".repeat(Math.max(0, this.lineBytes - 1 - head.length));
    return this.format === "cri" ? `${new Date().toISOString().replace("Z", "000000Z")} stdout F ${body}\n` : `${body}\n`;
  }

  /** Writes `n` lines now, in one write. */
  write(n: number): void {
    let text = "";
    for (let i = 0; i < n; i++) text += this.line(this.seq++);
    fs.writeSync(this.fd, text);
  }

  /** Writes at the rate from now on; a late timer is caught up so the rate holds on a busy machine. */
  start(tickMs = 10): void {
    const startedAt = Date.now();
    const base = this.seq;
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - startedAt) / 1000) * this.linesPerSecond) - (this.seq - base);
      if (due > 0) this.write(Math.min(due, this.linesPerSecond));
    }, tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  reopen(): void {
    fs.closeSync(this.fd);
    this.fd = this.open();
    this.reopens++;
  }

  close(): void {
    this.stop();
    fs.closeSync(this.fd);
  }
}
