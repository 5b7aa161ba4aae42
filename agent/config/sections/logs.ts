import { f, type Infer } from "../schema.js";
import { elasticsearchSinkSchema, lokiSinkSchema, otlpSinkSchema, syslogSinkSchema } from "../../logs/sinks/network-sink-config.js";

// The log pipeline's configuration (agent/logs). Sources are a fixed set of named sections
// (pods, host, files, journald) rather than a list, so every key keeps an env name and a flag.

const KIB = 1024;
const MIB = 1024 * 1024;

function multilineSection(what: string) {
  return {
    preset: f.enum(
      ["none", "java", "python", "go"] as const,
      "none",
      `Join stack traces of ${what} into one record: java, python or go traceback rules.`,
    ),
    startPattern: f.regex(
      "",
      `Custom multiline rule for ${what}: a line matching this regex starts a new record, other lines are appended to the previous one. Cannot be combined with preset.`,
    ),
    flushAfter: f.duration(1, "Emit a buffered multiline record after this long without a continuation line.", { min: 0.01 }),
    maxLines: f.int(500, "Emit a multiline record once it holds this many lines (the next line starts a new record).", { min: 2 }),
    maxBytes: f.int(MIB, "Emit a multiline record once it holds this many bytes (the next line starts a new record).", { min: 1024 }),
  };
}

const startAt = (def: "beginning" | "end", what: string) =>
  f.enum(
    ["beginning", "end"] as const,
    def,
    `Where to start in ${what} that already exist at nodetap's first start (no checkpoint file yet). Files that appear later, and files without a checkpoint on any later start, are always read from the beginning.`,
  );

const format = (def: "auto" | "plain" | "cri" | "docker", what: string) =>
  f.enum(
    ["auto", "plain", "cri", "docker"] as const,
    def,
    `Line format of ${what}: cri (containerd/CRI-O), docker (json-file), plain, or auto (decided per file from its first line).`,
  );

export const logsSchema = {
  enabled: f.bool(true, "Run the log pipeline (tail node and pod logs and forward them to the sink).", { flags: ["logs.enabled"] }),
  maxInFlightBytes: f.int(
    16 * MIB,
    "Budget for records read but not yet acknowledged by the sink; past it, reading pauses (the files are the buffer). Counted as encoded bytes for the NDJSON sinks (stdout, file, http), as message bytes plus 96 per record for the others.",
    { min: 64 * KIB },
  ),
  checkpoint: {
    dir: f.string(
      "/var/lib/nodetap",
      "Directory for checkpoints (and the default dead-letter file). Outside a cluster (no KUBERNETES_SERVICE_HOST), when this default is not writable, ./.nodetap-state is used instead.",
    ),
    interval: f.duration(
      0.25,
      "How often acknowledged offsets are written to the checkpoint file when they moved (and at shutdown); after a crash, what was acknowledged since the last write is sent again.",
      { min: 0.05, max: 1 },
    ),
  },
  tail: {
    readBufferBytes: f.int(256 * KIB, "Bytes read from a file in one go.", { min: 4 * KIB, max: 16 * MIB }),
    maxLineBytes: f.int(
      MIB,
      "Longer lines are cut to this size (counted in nodetap_log_lines_truncated_total); the rest of the line is skipped.",
      {
        min: 256,
      },
    ),
    maxMergedBytes: f.int(MIB, "Cap on a record merged from CRI/docker partial lines; past it the record is cut (counted).", { min: 1024 }),
    maxOpenFiles: f.int(
      4096,
      "Most files held open at once; files past it wait (gauge nodetap_log_files_waiting) and idle files are closed to make room.",
      {
        min: 4,
      },
    ),
    maxOpenRotatedFiles: f.int(256, "Most rotated-away or deleted files held open to be drained; past it new rotations wait for a slot.", {
      min: 1,
    }),
    scanInterval: f.duration(
      1,
      "How often the include globs are expanded to find new, rotated and deleted files (fs.watch events trigger extra scans).",
      {
        min: 0.05,
      },
    ),
    pollInterval: f.duration(
      1,
      "How often open files are checked for growth when no fs.watch event arrived (watch is unreliable on some filesystems).",
      {
        min: 0.05,
      },
    ),
    rotateWait: f.duration(5, "How long a rotated-away or deleted file stays open after it was read to its end and stopped growing.", {
      min: 0,
    }),
    partialLineFlushAfter: f.duration(
      5,
      "A last line without a newline is emitted after the file was idle this long (at once when the file is rotated away).",
      {
        min: 0.01,
      },
    ),
    idleCloseAfter: f.duration(
      60,
      "When files are waiting for a slot, files idle at their end for this long are closed (and reopened when they grow).",
      {
        min: 1,
      },
    ),
    fingerprintBytes: f.int(
      256,
      "Bytes at the start of a file hashed, together with device and inode, into the file identity that checkpoints are keyed by.",
      {
        min: 16,
        max: 64 * KIB,
      },
    ),
  },
  sources: {
    pods: {
      enabled: f.bool(true, "Tail Kubernetes container logs under /var/log/pods and attach pod metadata from the path."),
      include: f.stringList(
        ["/var/log/pods/*/*/*.log", "/var/log/pods/*/*/*.log.*"],
        "Globs of pod log files (the kubelet's rotated 0.log.<timestamp> files included, so they are drained).",
      ),
      exclude: f.stringList(["*.gz", "*.tmp"], "Globs of files to leave out; a pattern without a slash matches the file name."),
      format: format("auto", "pod log files"),
      startAt: startAt("beginning", "pod log files"),
      multiline: multilineSection("pod logs"),
    },
    host: {
      enabled: f.bool(true, "Tail the host's own log files (those of include that exist)."),
      include: f.stringList(
        [
          "/var/log/syslog",
          "/var/log/messages",
          "/var/log/auth.log",
          "/var/log/secure",
          "/var/log/kern.log",
          "/var/log/daemon.log",
          "/var/log/cloud-init.log",
        ],
        "Host log files; missing ones are skipped.",
      ),
      exclude: f.stringList([], "Globs of host files to leave out."),
      format: format("plain", "host log files"),
      startAt: startAt("end", "host log files"),
      multiline: multilineSection("host logs"),
    },
    files: {
      include: f.stringList([], "User-defined globs of files to tail (*, ?, [abc], ** for any depth)."),
      exclude: f.stringList([], "Globs of files to leave out; a pattern without a slash matches the file name."),
      format: format("auto", "user-defined files"),
      startAt: startAt("beginning", "user-defined files"),
      multiline: multilineSection("user-defined files"),
    },
    journald: {
      enabled: f.bool(false, "Read the systemd journal through `journalctl -f -o json` (needs journalctl and the journal files)."),
      journalctlPath: f.string("journalctl", "The journalctl executable."),
      directory: f.string(
        "",
        "Journal directory passed as journalctl --directory (e.g. /var/log/journal mounted from the host); empty reads the local journal.",
      ),
      units: f.stringList([], "Only these systemd units (journalctl --unit); empty means all."),
      startAt: startAt("end", "the journal"),
    },
  },
  sink: {
    type: f.enum(
      ["stdout", "file", "http", "loki", "elasticsearch", "otlp", "syslog"] as const,
      "stdout",
      "Where records go: stdout (NDJSON), file (NDJSON with size-based rotation), http (NDJSON POST), loki (push API), elasticsearch (_bulk, also OpenSearch), otlp (OTLP/HTTP logs) or syslog (RFC 5424 over tcp, tls or udp).",
    ),
    batch: {
      maxBytes: f.int(
        MIB,
        "A batch is sent when it holds this many bytes of records: the request body before compression for the NDJSON sinks (stdout, file, http; only a single larger record passes it), message bytes plus 96 per record for the others.",
        { min: 1024 },
      ),
      maxRecords: f.int(10_000, "A batch is sent when it holds this many records.", { min: 1 }),
      maxWait: f.duration(0.5, "A batch is sent this long after its first record at the latest.", { min: 0.001 }),
    },
    retry: {
      initialBackoff: f.duration(0.25, "First retry delay; doubles per attempt, with jitter.", { min: 0.001 }),
      maxBackoff: f.duration(60, "Longest retry delay (a server's Retry-After is honoured up to 15 minutes).", { min: 0.001 }),
      maxAttempts: f.int(0, "Attempts per batch before it goes to the dead-letter file; 0 retries forever (nothing is dropped).", {
        min: 0,
      }),
    },
    deadLetter: {
      path: f.string("", "NDJSON file for records the sink rejected permanently; empty means dead-letter.ndjson in checkpoint.dir."),
      maxBytes: f.int(100 * MIB, "Rotate the dead-letter file at this size.", { min: 1024 }),
      maxFiles: f.int(5, "Rotated dead-letter files kept.", { min: 1 }),
    },
    file: {
      path: f.string("", "Output file of the file sink (required for sink.type file)."),
      maxBytes: f.int(100 * MIB, "Rotate the output file at this size (path -> path.1 -> ...).", { min: 1024 }),
      maxFiles: f.int(5, "Rotated output files kept besides the current one.", { min: 1 }),
    },
    http: {
      url: f.string("", "Endpoint that receives NDJSON POSTs (required for sink.type http)."),
      headers: f.stringMap({}, "Extra request headers; a value `env:NAME` or `file:/path` is read from that variable or file at start.", {
        secret: true,
      }),
      compression: f.enum(["gzip", "none"] as const, "gzip", "Request body compression."),
      compressionLevel: f.int(1, "gzip level (1 fastest .. 9 smallest).", { min: 1, max: 9 }),
      timeout: f.duration(30, "Time limit for one request, response included.", { min: 0.01 }),
      concurrency: f.int(
        4,
        "Requests in flight at once; a file's records always use the same request slot, so each file's records arrive in order.",
        {
          min: 1,
          max: 64,
        },
      ),
      tls: {
        caFile: f.string("", "PEM CA bundle to verify the server with (instead of the system roots)."),
        certFile: f.string("", "PEM client certificate (mTLS)."),
        keyFile: f.string("", "PEM private key of certFile."),
        insecureSkipVerify: f.bool(false, "Do not verify the server certificate (testing only; logged as a warning at start)."),
      },
    },
    loki: lokiSinkSchema,
    elasticsearch: elasticsearchSinkSchema,
    otlp: otlpSinkSchema,
    syslog: syslogSinkSchema,
  },
};

export type LogsConfig = Infer<typeof logsSchema>;
