import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import type { LogsConfig } from "../config.js";
import { AckTracker, type AckTicket } from "../ack-tracker.js";
import { settlesBy } from "../deadline.js";
import type { CheckpointStore } from "../checkpoint.js";
import type { InFlightBudget } from "../in-flight-budget.js";
import type { LogMetrics } from "../metrics.js";
import { makeRecord, type LogOrigin, type LogRecord } from "../record.js";
import { nowRfc3339, rfc3339FromMicros } from "../time.js";
import { LineSplitter } from "./line-splitter.js";
import type { ReadGate } from "./read-order.js";

export const JOURNALD_SOURCE = "journald";
const CURSOR_NAME = "journald";
const MAX_ENTRY_BYTES = 1024 * 1024;
const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 60_000;

/** journald fields copied into record attributes, by attribute name. */
const ATTRIBUTE_FIELDS: ReadonlyArray<[string, string]> = [
  ["unit", "_SYSTEMD_UNIT"],
  ["identifier", "SYSLOG_IDENTIFIER"],
  ["pid", "_PID"],
  ["priority", "PRIORITY"],
  ["hostname", "_HOSTNAME"],
  ["transport", "_TRANSPORT"],
];

/** After SIGKILL, how long stop() waits for the exit to be reported. */
const KILL_WAIT_MS = 1000;

export interface JournaldDeps {
  readonly metrics: LogMetrics;
  readonly logger: Logger;
  readonly checkpoints: CheckpointStore;
  readonly budget: InFlightBudget;
  readonly nodeName: string;
  submit(records: LogRecord[], ticket: AckTicket<string>, lane: string): void;
  /** Per-sink back-pressure with several sinks (see read-order.ts, ReadGate). */
  readonly gate?: ReadGate;
}

/** One journal entry of `journalctl -o json` as a record plus its cursor; undefined if unusable. */
export function parseJournalEntry(line: string, origin: LogOrigin): { record: LogRecord; cursor: string } | undefined {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof e !== "object" || e === null || typeof e.__CURSOR !== "string") return undefined;
  const raw = e.MESSAGE;
  // journalctl prints a field that is not valid UTF-8 as an array of byte values.
  const message = typeof raw === "string" ? raw : Array.isArray(raw) ? Buffer.from(raw as number[]).toString("utf8") : "";
  const micros =
    typeof e.__REALTIME_TIMESTAMP === "string" && /^\d+$/.test(e.__REALTIME_TIMESTAMP) ? BigInt(e.__REALTIME_TIMESTAMP) : undefined;
  const attributes: Record<string, string> = {};
  for (const [name, field] of ATTRIBUTE_FIELDS) if (typeof e[field] === "string") attributes[name] = e[field] as string;
  const time = micros !== undefined ? rfc3339FromMicros(micros) : nowRfc3339();
  return { record: makeRecord(time, "", message, origin, false, attributes), cursor: e.__CURSOR };
}

/**
 * Follows the journal through `journalctl --follow --output=json`, resuming after the last
 * acknowledged cursor. Backpressure pauses the pipe (journalctl then blocks on write); if
 * journalctl exits or is missing, it is restarted with backoff after the last cursor handed on.
 */
export class JournaldSource {
  private child?: ChildProcessByStdio<null, Readable, Readable>;
  private readonly tracker: AckTracker<string>;
  private readonly origin: LogOrigin;
  private lastEmittedCursor?: string;
  private stopping = false;
  private restartDelay = RESTART_MIN_MS;
  private restartTimer?: NodeJS.Timeout;
  private missingLogged = false;
  private startFromEnd: boolean;
  private exited?: Promise<void>;
  private resumeListening = false;

  constructor(
    private readonly config: LogsConfig["sources"]["journald"],
    private readonly deps: JournaldDeps,
  ) {
    this.origin = { source: JOURNALD_SOURCE, node: deps.nodeName };
    this.tracker = new AckTracker<string>((cursor) => deps.checkpoints.setCursor(CURSOR_NAME, cursor));
    this.startFromEnd = config.startAt === "end" && !deps.checkpoints.sourceKnown(JOURNALD_SOURCE);
  }

  start(): void {
    this.deps.checkpoints.markSourceKnown(JOURNALD_SOURCE);
    this.spawnJournalctl();
  }

  private args(): string[] {
    const args = ["--follow", "--output=json", "--all"];
    if (this.config.directory !== "") args.push(`--directory=${this.config.directory}`);
    for (const unit of this.config.units) args.push(`--unit=${unit}`);
    const cursor = this.lastEmittedCursor ?? this.deps.checkpoints.cursor(CURSOR_NAME);
    if (cursor !== undefined) args.push(`--after-cursor=${cursor}`);
    else args.push(this.startFromEnd ? "--lines=0" : "--no-tail");
    return args;
  }

  private spawnJournalctl(): void {
    if (this.stopping) return;
    const child = spawn(this.config.journalctlPath, this.args(), { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const splitter = new LineSplitter(MAX_ENTRY_BYTES, 0);
    let offset = 0;
    let stderrTail = "";
    child.stdout.on("data", (chunk: Buffer) => {
      const records: LogRecord[] = [];
      let cursor: string | undefined;
      splitter.push(chunk, offset, (line, _start, truncated) => {
        this.deps.metrics.linesRead.inc({ source: JOURNALD_SOURCE });
        const entry = truncated ? undefined : parseJournalEntry(line.toString("utf8"), this.origin);
        if (entry === undefined) {
          this.deps.metrics.parseErrors.inc({ format: "journald" });
          return;
        }
        records.push(entry.record);
        cursor = entry.cursor;
      });
      offset += chunk.length;
      this.deps.metrics.bytesRead.inc({ source: JOURNALD_SOURCE }, chunk.length);
      this.restartDelay = RESTART_MIN_MS;
      if (cursor === undefined) return;
      this.startFromEnd = false;
      this.lastEmittedCursor = cursor;
      this.deps.metrics.recordsEmitted.inc({ source: JOURNALD_SOURCE }, records.length);
      this.deps.submit(records, this.tracker.issue(cursor, records.length), JOURNALD_SOURCE);
      if (this.deps.budget.exhausted) {
        child.stdout.pause();
        void this.deps.budget.waitForRoom().then(() => child.stdout.resume());
      } else if (this.deps.gate?.blocked(JOURNALD_SOURCE)) {
        child.stdout.pause();
        this.resumeWhenUnblocked();
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString("utf8")).slice(-512);
    });
    this.exited = new Promise((resolve) => {
      child.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") {
          this.deps.metrics.sourceErrors.inc({ source: JOURNALD_SOURCE, reason: "missing" });
          if (!this.missingLogged)
            this.deps.logger.error(
              { journalctl: this.config.journalctlPath },
              "journalctl not found; the journald source retries every minute",
            );
          this.missingLogged = true;
          this.restartDelay = RESTART_MAX_MS;
        } else {
          this.deps.metrics.sourceErrors.inc({ source: JOURNALD_SOURCE, reason: "spawn" });
          this.deps.logger.error({ err: err.message }, "journalctl could not be started");
        }
        resolve();
        this.scheduleRestart();
      });
      child.on("close", (code, signal) => {
        resolve();
        if (this.stopping || this.child !== child) return;
        this.deps.metrics.sourceErrors.inc({ source: JOURNALD_SOURCE, reason: "exited" });
        this.deps.logger.warn({ code, signal, stderr: stderrTail.trim() }, "journalctl exited; restarting after the last cursor read");
        this.scheduleRestart();
      });
    });
  }

  /** Resumes journalctl's output once no full sink holds journal records any more. */
  private resumeWhenUnblocked(): void {
    if (this.resumeListening) return;
    this.resumeListening = true;
    this.deps.gate?.onRoom(() => {
      const stdout = this.child?.stdout;
      if (stdout?.isPaused() && !this.deps.gate?.blocked(JOURNALD_SOURCE) && !this.deps.budget.exhausted) stdout.resume();
    });
  }

  private scheduleRestart(): void {
    if (this.stopping || this.restartTimer) return;
    this.child = undefined;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.spawnJournalctl();
    }, this.restartDelay);
    this.restartTimer.unref();
    this.restartDelay = Math.min(RESTART_MAX_MS, this.restartDelay * 2);
  }

  /** Stops journalctl: SIGTERM, then SIGKILL if it has not exited by `deadlineAt` (ms since epoch). */
  async stop(deadlineAt = Infinity): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const exited = this.exited ?? Promise.resolve();
      if (await settlesBy(exited, deadlineAt)) return;
      this.deps.logger.warn({ pid: child.pid }, "journalctl did not exit on SIGTERM by the shutdown deadline; killing it");
      child.kill("SIGKILL");
      await settlesBy(exited, Date.now() + KILL_WAIT_MS);
    }
  }

  status(): Record<string, unknown> {
    return {
      running: this.child !== undefined && this.child.exitCode === null,
      committedCursor: this.tracker.committed ?? this.deps.checkpoints.cursor(CURSOR_NAME),
      unackedTickets: this.tracker.pending,
    };
  }
}
