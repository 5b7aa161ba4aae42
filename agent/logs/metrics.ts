import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * The log pipeline's self-metrics (nodetap_log_*), registered on the agent's registry. Labels
 * are bounded sets (source names, sink types, reason codes); per-file figures are in status()
 * rather than in labels, because a node can hold thousands of log files.
 */
export class LogMetrics {
  readonly filesWatched: Gauge;
  readonly filesOpen: Gauge;
  readonly filesWaiting: Gauge;
  readonly filesDraining: Gauge;
  readonly rotations: Counter<"kind">;
  readonly fileErrors: Counter<"reason">;
  readonly filesLost: Counter<"source">;
  readonly lostBytes: Counter<"source">;
  readonly filesRecovered: Counter<"source" | "how">;
  readonly linesRead: Counter<"source">;
  readonly bytesRead: Counter<"source">;
  readonly linesTruncated: Counter<"reason">;
  readonly invalidUtf8Lines: Counter<"source">;
  readonly parseErrors: Counter<"format">;
  readonly multilineCapped: Counter<"reason">;
  readonly recordsEmitted: Counter<"source">;
  readonly recordsSent: Counter<"sink">;
  readonly sendErrors: Counter<"sink" | "reason">;
  readonly sendRetries: Counter<"sink" | "reason">;
  readonly deadLettered: Counter<"sink" | "reason">;
  readonly deadLetterWriteErrors: Counter;
  readonly sinkRecordOutcomes: Counter<"sink" | "outcome">;
  readonly inFlightBytes: Gauge;
  readonly inFlightLimitBytes: Gauge;
  readonly readingPaused: Gauge;
  readonly lagBytes: Gauge;
  readonly maxFileLagBytes: Gauge;
  readonly oldestUnackedAge: Gauge;
  readonly requestDuration: Histogram<"sink" | "outcome">;
  readonly checkpointWrites: Counter;
  readonly checkpointErrors: Counter<"op">;
  readonly sourceErrors: Counter<"source" | "reason">;
  readonly nulBytesSkipped: Counter<"source">;

  constructor(registry: Registry) {
    const registers = [registry];
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
    this.filesWatched = gauge("nodetap_log_files_watched", "Log files known to the pipeline (open, idle-closed or waiting for a slot).");
    this.filesOpen = gauge("nodetap_log_files_open", "Log files currently held open.");
    this.filesWaiting = gauge("nodetap_log_files_waiting", "Discovered log files waiting for an open-file slot (tail.maxOpenFiles).");
    this.filesDraining = gauge("nodetap_log_files_draining", "Rotated-away or deleted files held open until read to their end.");
    this.rotations = new Counter({
      name: "nodetap_log_rotations_total",
      help: "Rotations seen, by kind: rename, truncate (copytruncate), delete.",
      labelNames: ["kind"],
      registers,
    });
    this.fileErrors = new Counter({
      name: "nodetap_log_file_errors_total",
      help: "Files that could not be opened or read, or were skipped, by reason (permission, directory, not_regular, loop, read, ...; decompress: a rotated .gz that did not decompress to its end, read as far as it did; unpack: one that could not be unpacked into the checkpoint directory).",
      labelNames: ["reason"],
      registers,
    });
    this.filesLost = new Counter({
      name: "nodetap_log_files_lost_total",
      help: "Checkpointed files whose unread rest could not be read: the file no longer exists under any rotated name (deleted while nodetap was down or before it was drained), or it was truncated before it was read to its end and no rotated copy of it can be read (none next to it, gone, or a .gz that does not decompress at all).",
      labelNames: ["source"],
      registers,
    });
    this.lostBytes = new Counter({
      name: "nodetap_log_lost_bytes_total",
      help: "Unread bytes of lost files, as far as known (the file's last size seen minus the acknowledged offset, or minus what was read for a truncated file).",
      labelNames: ["source"],
      registers,
    });
    this.filesRecovered = new Counter({
      name: "nodetap_log_files_recovered_total",
      help: "Rotated files drained because their data was not read where nodetap last saw it, by how they were found. At start-up, what rotated while nodetap was down: renamed (by device and inode), copy (copytruncate's copy, by fingerprint), compressed (a .gz, by fingerprint), unseen (created and rotated away while nodetap was down). While running: unread_generation (copytruncate's copies of generations that came and went while reading waited for the in-flight budget or for rotated files).",
      labelNames: ["source", "how"],
      registers,
    });
    this.linesRead = new Counter({
      name: "nodetap_log_lines_read_total",
      help: "Lines read from sources.",
      labelNames: ["source"],
      registers,
    });
    this.bytesRead = new Counter({
      name: "nodetap_log_bytes_read_total",
      help: "Bytes read from sources.",
      labelNames: ["source"],
      registers,
    });
    this.nulBytesSkipped = new Counter({
      name: "nodetap_log_nul_bytes_skipped_total",
      help: "NUL bytes skipped where a line would start: holes in a file, left where its writer did not open it O_APPEND and wrote on at its old offset after a copytruncate.",
      labelNames: ["source"],
      registers,
    });
    this.linesTruncated = new Counter({
      name: "nodetap_log_lines_truncated_total",
      help: "Lines or merged records cut at a size limit, by reason: line (tail.maxLineBytes), merged (tail.maxMergedBytes).",
      labelNames: ["reason"],
      registers,
    });
    this.invalidUtf8Lines = new Counter({
      name: "nodetap_log_invalid_utf8_lines_total",
      help: "Lines that were not valid UTF-8; invalid bytes are replaced by U+FFFD in the record.",
      labelNames: ["source"],
      registers,
    });
    this.parseErrors = new Counter({
      name: "nodetap_log_parse_errors_total",
      help: "Lines that did not parse in their file's format; they are forwarded whole as the message.",
      labelNames: ["format"],
      registers,
    });
    this.multilineCapped = new Counter({
      name: "nodetap_log_multiline_capped_total",
      help: "Multiline records emitted early because they reached maxLines or maxBytes.",
      labelNames: ["reason"],
      registers,
    });
    this.recordsEmitted = new Counter({
      name: "nodetap_log_records_emitted_total",
      help: "Records handed from sources to the sink.",
      labelNames: ["source"],
      registers,
    });
    this.recordsSent = new Counter({
      name: "nodetap_log_records_sent_total",
      help: "Records acknowledged by the sink.",
      labelNames: ["sink"],
      registers,
    });
    this.sendErrors = new Counter({
      name: "nodetap_log_send_errors_total",
      help: "Failed sink requests, by reason.",
      labelNames: ["sink", "reason"],
      registers,
    });
    this.sendRetries = new Counter({
      name: "nodetap_log_send_retries_total",
      help: "Sink requests retried, by the reason of the failure.",
      labelNames: ["sink", "reason"],
      registers,
    });
    this.deadLettered = new Counter({
      name: "nodetap_log_dead_letter_records_total",
      help: "Records the sink rejected permanently, written to the dead-letter file.",
      labelNames: ["sink", "reason"],
      registers,
    });
    this.deadLetterWriteErrors = new Counter({
      name: "nodetap_log_dead_letter_write_errors_total",
      help: "Failed writes to the dead-letter file (the batch is kept and retried).",
      registers,
    });
    this.sinkRecordOutcomes = new Counter({
      name: "nodetap_log_sink_record_outcomes_total",
      help: "Records a sink's destination answered for one by one without failing them, by outcome: already_stored (Elasticsearch 409 on create), dropped_by_server (OTLP partial success), truncated (syslog message cut at maxMessageBytes).",
      labelNames: ["sink", "outcome"],
      registers,
    });
    this.inFlightBytes = gauge("nodetap_log_in_flight_bytes", "Bytes of records read and not yet acknowledged by the sink.");
    this.inFlightLimitBytes = gauge("nodetap_log_in_flight_limit_bytes", "The in-flight budget (logs.maxInFlightBytes).");
    this.readingPaused = gauge("nodetap_log_reading_paused", "1 while reading is paused because the in-flight budget is used up.");
    this.lagBytes = gauge("nodetap_log_lag_bytes", "Bytes written to tailed files and not yet read, summed over files.");
    this.maxFileLagBytes = gauge("nodetap_log_file_lag_bytes_max", "The largest per-file lag in bytes (see /status for each file).");
    this.oldestUnackedAge = gauge(
      "nodetap_log_oldest_unacked_age_seconds",
      "Age of the oldest record read and not yet acknowledged by the sink (0 when none).",
    );
    this.requestDuration = new Histogram({
      name: "nodetap_log_sink_request_duration_seconds",
      help: "Duration of sink requests (HTTP request, file or stdout write), by outcome.",
      labelNames: ["sink", "outcome"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.checkpointWrites = new Counter({ name: "nodetap_log_checkpoint_writes_total", help: "Checkpoint files written.", registers });
    this.checkpointErrors = new Counter({
      name: "nodetap_log_checkpoint_errors_total",
      help: "Checkpoint load or write failures.",
      labelNames: ["op"],
      registers,
    });
    this.sourceErrors = new Counter({
      name: "nodetap_log_source_errors_total",
      help: "Source failures that are retried (e.g. journalctl exited), by source and reason.",
      labelNames: ["source", "reason"],
      registers,
    });
  }
}
