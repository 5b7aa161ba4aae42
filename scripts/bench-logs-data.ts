import fs from "node:fs";
import path from "node:path";

/**
 * Benchmark input: container logs in the CRI format as containerd writes them, with the mix a
 * node sees: mostly short and medium lines, some JSON app logs, a few long lines split by the
 * runtime into P pieces (16 KiB) ended by an F piece.
 */

const MESSAGES = [
  "GET /api/v1/orders/8812 200 12.3ms user=42 trace=4bf92f3577b34da6a3ce929d0e0e4736",
  '{"level":"info","ts":"2024-05-01T10:00:00.123Z","logger":"controller","msg":"reconciled","namespace":"prod","name":"web","duration":0.0132}',
  "I0501 10:00:00.123456       1 reflector.go:255] Listing and watching *v1.Pod from pkg/mod/k8s.io/client-go@v0.29.0/tools/cache/reflector.go:229",
  "WARN  [pool-3-thread-7] c.e.billing.InvoiceService - retrying payment provider call (attempt 2 of 5) after timeout of 3000 ms",
  "ok",
];

export interface GeneratedData {
  files: string[];
  bytes: number;
  /** Records the pipeline must deliver (P pieces merge into their F line). */
  records: number;
  /** Physical lines in the files. */
  lines: number;
}

function timestamp(i: number): string {
  const ns = String(123456789 + (i % 1000)).padStart(9, "0");
  return `2024-05-01T10:${String(Math.floor(i / 60_000) % 60).padStart(2, "0")}:${String(Math.floor(i / 1000) % 60).padStart(2, "0")}.${ns}Z`;
}

/** Writes (or reuses) `files` CRI files of `mbPerFile` MiB each under `dir`. */
export function generateCriFiles(dir: string, files: number, mbPerFile: number): GeneratedData {
  const manifest = path.join(dir, "manifest.json");
  if (fs.existsSync(manifest)) {
    const m = JSON.parse(fs.readFileSync(manifest, "utf8")) as GeneratedData & { mbPerFile: number };
    if (m.mbPerFile === mbPerFile && m.files.length === files && m.files.every((f) => fs.existsSync(f))) return m;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const out: GeneratedData = { files: [], bytes: 0, records: 0, lines: 0 };
  const target = mbPerFile * 1024 * 1024;
  const longPiece = "L".repeat(16 * 1024);
  for (let f = 0; f < files; f++) {
    const file = path.join(dir, `bench_pod-${f}_0000${f}/app/0.log`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(file, "w");
    let size = 0;
    let i = 0;
    while (size < target) {
      let chunk = "";
      for (let k = 0; k < 2000; k++, i++) {
        const stream = i % 10 === 9 ? "stderr" : "stdout";
        if (i % 2000 === 1999) {
          // A 40 KiB line: two 16 KiB P pieces and the F rest.
          chunk += `${timestamp(i)} ${stream} P ${longPiece}\n${timestamp(i)} ${stream} P ${longPiece}\n${timestamp(i)} ${stream} F seq=${i} tail\n`;
          out.lines += 3;
        } else {
          chunk += `${timestamp(i)} ${stream} F seq=${i} ${MESSAGES[i % MESSAGES.length]}\n`;
          out.lines++;
        }
        out.records++;
      }
      const buf = Buffer.from(chunk);
      fs.writeSync(fd, buf);
      size += buf.length;
    }
    fs.closeSync(fd);
    out.files.push(file);
    out.bytes += size;
  }
  fs.writeFileSync(manifest, JSON.stringify({ ...out, mbPerFile }));
  return out;
}

/**
 * Appends CRI lines carrying their write time (`lat=<epoch µs>`) at a steady rate, for the
 * write-to-delivery latency measurement.
 */
export class TimestampedWriter {
  private timer?: NodeJS.Timeout;
  written = 0;

  constructor(
    private readonly file: string,
    private readonly linesPerSecond: number,
  ) {}

  start(): void {
    const fd = fs.openSync(this.file, "a");
    const started = performance.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * this.linesPerSecond) - this.written;
      if (due <= 0) return;
      const us = Math.round((performance.timeOrigin + performance.now()) * 1000);
      let text = "";
      for (let i = 0; i < due; i++) text += `${timestamp(this.written + i)} stdout F lat=${us} n=${this.written + i} ${MESSAGES[0]}\n`;
      fs.writeSync(fd, text);
      this.written += due;
    }, 5);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

const LAT = /lat=(\d+)/g;

/** Latencies (ms) of the timestamped lines in a received text, measured at `nowUs`. */
export function collectLatencies(text: string, nowUs: number, into: number[]): void {
  for (const m of text.matchAll(LAT)) into.push((nowUs - Number(m[1])) / 1000);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
