import { f, type Infer } from "../../config/schema.js";

// The declarations of logs.filters (and of the `match` that routes share). Only the schema
// language of agent/config/schema.ts: the loader fills defaults and checks kinds and ranges, the
// docs table and the JSON Schema come from here; what needs more than a field's kind (a regex
// with named groups, a metric name) is checked when the chain is built (chain.ts).

/** Conditions on a record; every condition given must hold, any entry of a list will do. */
export const matchSection = {
  sources: f.stringList([], "Sources the record must come from (pods, host, files, journald); empty: any."),
  namespaces: f.stringList([], "Globs (`*`, `?`) one of which the pod's namespace must match; empty: any."),
  pods: f.stringList([], "Globs (`*`, `?`) one of which the pod's name must match; empty: any."),
  containers: f.stringList([], "Globs (`*`, `?`) one of which the container's name must match; empty: any."),
  files: f.stringList([], "Path globs (`*`, `?`, `**`) one of which the file's path as discovered must match; empty: any."),
  streams: f.stringList([], "Streams the record must come from (stdout, stderr); empty: any."),
  messagePattern: f.regex("", "A regular expression the message must match (RE2 syntax as far as JavaScript shares it); empty: any."),
  minSeverity: f.enum(
    ["", "trace", "debug", "info", "warn", "error", "fatal"],
    "",
    "The least level the record must have (its attribute severity, or journald's priority); empty: any.",
  ),
  fields: f.stringMap(
    {},
    "Attribute name to a regular expression the attribute's value must match (a record without the attribute does not).",
  ),
  unknownSeverity: f.enum(["match", "skip"], "match", "Whether a record without a known level meets minSeverity (match) or not (skip)."),
};

const name = () => f.string("", "The filter's name in metrics and logs; empty: <type>-<index>.");

const parsedKeys = {
  maxBytes: f.int(64 * 1024, "Longer lines (in UTF-8 bytes) are not parsed and go on unchanged (outcome too_large).", { min: 64 }),
  maxFields: f.int(128, "Fields past this many are left out (counted as outcome fields_dropped).", { min: 1 }),
  severityKeys: f.stringList(
    ["level", "severity", "lvl", "log.level"],
    "Keys whose value is the level, the first one present used; it is stored normalized in the attribute severity.",
  ),
  timeKeys: f.stringList(
    ["time", "timestamp", "ts", "@timestamp"],
    "Keys whose value is the record's time (RFC 3339, or epoch seconds, milliseconds, microseconds or nanoseconds), the first one present used.",
  ),
  messageKeys: f.stringList(["msg", "message"], "Keys whose text value becomes the record's message, the first one present used."),
  prefix: f.string("", "Text put before the names of the attributes made from the fields."),
};

/** The shape of each filter type (the list adds the `type` key that picks one). */
export const filterVariants = {
  drop: {
    name: name(),
    match: matchSection,
  },
  keep: {
    name: name(),
    match: matchSection,
  },
  severity: {
    name: name(),
    match: matchSection,
    minSeverity: f.enum(["trace", "debug", "info", "warn", "error", "fatal"], "info", "Records below this level are dropped."),
    unknownSeverity: f.enum(["keep", "drop"], "keep", "What happens to a record without a known level."),
  },
  json: {
    name: name(),
    match: matchSection,
    maxBytes: parsedKeys.maxBytes,
    maxDepth: f.int(
      4,
      "Nested objects become dotted attribute names (http.status) down to this depth; deeper values are kept as compact JSON text.",
      { min: 1, max: 32 },
    ),
    maxFields: parsedKeys.maxFields,
    severityKeys: parsedKeys.severityKeys,
    timeKeys: parsedKeys.timeKeys,
    messageKeys: parsedKeys.messageKeys,
    prefix: parsedKeys.prefix,
  },
  logfmt: {
    name: name(),
    match: matchSection,
    maxBytes: parsedKeys.maxBytes,
    maxFields: parsedKeys.maxFields,
    severityKeys: parsedKeys.severityKeys,
    timeKeys: parsedKeys.timeKeys,
    messageKeys: parsedKeys.messageKeys,
    prefix: parsedKeys.prefix,
  },
  regex: {
    name: name(),
    match: matchSection,
    pattern: f.regex("", "A regular expression with named groups, required; each group that matched becomes an attribute."),
    severityGroup: f.string("severity", "The group whose text is the level, stored normalized in the attribute severity."),
    timeGroup: f.string("time", "The group whose text is the record's time (RFC 3339 or epoch seconds to nanoseconds)."),
    messageGroup: f.string("message", "The group whose text becomes the record's message."),
  },
  fields: {
    name: name(),
    match: matchSection,
    add: f.stringMap({}, "Attributes to set, name to value (applied last; an existing attribute is replaced)."),
    rename: f.stringMap({}, "Attributes to rename, old name to new name (applied first)."),
    remove: f.stringList([], "Attributes to remove (applied after rename)."),
  },
  rateLimit: {
    name: name(),
    match: matchSection,
    linesPerSecond: f.number(1000, "Lines each key may pass per second on average; lines over it are dropped.", { min: 0.001 }),
    burst: f.int(0, "Lines a key may pass at once after being quiet; 0: linesPerSecond rounded up.", { min: 0 }),
    per: f.enum(["container", "pod", "namespace", "file"], "container", "What has its own limit."),
  },
  logToMetric: {
    name: name(),
    match: matchSection,
    metric: f.string("", "The Prometheus counter's name, required; not starting with nodetap_, node_, process_ or nodejs_."),
    help: f.string("Log lines counted by the logToMetric filter.", "The counter's help text."),
    labels: f.stringList(
      ["namespace", "pod", "container"],
      "The counter's labels: namespace, pod, container, stream, source, node, file, severity, or field.<attribute>.",
    ),
    maxSeries: f.int(10000, "Label sets counted at most; records of new ones past it are not counted.", { min: 1 }),
    expireAfter: f.duration(600, "A label set not counted for this long is removed from the counter.", { min: 1 }),
  },
};

export type MatchConfig = Infer<typeof matchSection>;

export type FilterConfig = {
  [K in keyof typeof filterVariants]: { type: K } & Infer<(typeof filterVariants)[K]>;
}[keyof typeof filterVariants];

export type FilterType = FilterConfig["type"];
