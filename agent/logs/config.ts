import { f, type Infer } from "../config/schema.js";
import { filterVariants } from "./filters/schema.js";
import { routeSection } from "./routing/routes.js";
import { sinkSchema } from "./sinks/config.js";

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

const sinkShareField = f.int(
  0,
  "This sink's in-flight budget: past it, files with records waiting on this sink stop being read (other files go on); 0: logs.maxInFlightBytes divided by the number of sinks.",
  { min: 0 },
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
  sink: sinkSchema,
  sinks: f.map(
    { ...sinkSchema, maxInFlightBytes: sinkShareField },
    "Named sinks, each configured like logs.sink (type, batch, retry, deadLetter and the type's own section); when given, logs.sink is not used. Every record goes to every sink unless logs.routes say otherwise. Config file only.",
  ),
  routes: f.list(
    routeSection,
    "Routes: a record goes to the sinks of every route whose match it meets; with routes configured, a record no route matches goes nowhere (counted in nodetap_log_records_unrouted_total). Empty: every record to every sink. Config file only.",
  ),
  filters: f.variants(
    filterVariants,
    "Filters run in this order on every record before routing (drop, keep, severity, json, logfmt, regex, fields, rateLimit, logToMetric); a record a filter drops counts as delivered. Config file only.",
  ),
};

export type LogsConfig = Infer<typeof logsSchema>;
