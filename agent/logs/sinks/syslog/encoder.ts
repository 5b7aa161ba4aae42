import os from "node:os";
import { ConfigError } from "../../../config/errors.js";
import type { RecordEncoder } from "../../delivery/sink.js";
import type { LogOrigin, LogRecord } from "../../record.js";
import { originFields } from "../shared/record-fields.js";
import { ALL_GROUPS, type KubernetesMetadataGroup } from "../shared/kubernetes-fields.js";
import type { SyslogSinkConfig } from "./config.js";

const FACILITIES = ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp"] as const;

/** Private enterprise number 32473 is reserved for documentation and examples (RFC 5612). */
export const SD_ID = "k8s@32473";

export const JOURNAL_SD_ID = "journald@32473";

export function facilityCode(name: string): number {
  const i = (FACILITIES as readonly string[]).indexOf(name);
  if (i >= 0) return i;
  const m = /^local([0-7])$/.exec(name);
  if (m) return 16 + Number(m[1]);
  throw new ConfigError("logs.sink.syslog.facility", `unknown facility ${JSON.stringify(name)}`);
}

/** syslog severities of the level names a filter stores in the `severity` attribute (filters/severity.ts). */
const LEVEL_SEVERITY: Readonly<Record<string, number>> = { trace: 7, debug: 7, info: 6, warn: 4, error: 3, fatal: 2 };

/** Severity: journald's PRIORITY, else the level a parsing filter found, else err for stderr and info otherwise. */
export function severityOf(record: LogRecord): number {
  const p = record.attributes?.priority;
  if (p !== undefined && /^[0-7]$/.test(p)) return Number(p);
  const level = record.attributes?.severity;
  if (level !== undefined && LEVEL_SEVERITY[level] !== undefined) return LEVEL_SEVERITY[level];
  return record.stream === "stderr" ? 3 : 6;
}

/** A header field (HOSTNAME, APP-NAME, ...): printable US-ASCII without spaces, at most `max` chars, "-" when empty. */
export function headerField(value: string | undefined, max: number): string {
  if (value === undefined || value === "") return "-";
  const clean = value.replace(/[^\x21-\x7e]/g, "_").slice(0, max);
  return clean === "" ? "-" : clean;
}

/** An SD-NAME: printable US-ASCII except '=', ' ', ']', '"', at most 32 chars. */
function sdName(name: string): string {
  return name.replace(/[^\x21-\x7e]|[=\]"]/g, "_").slice(0, 32) || "_";
}

/** A PARAM-VALUE: '"', '\' and ']' escaped with a backslash (RFC 5424 6.3.3). */
export function sdValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** RFC 5424 TIMESTAMP: RFC 3339 with at most six fractional digits (the nanoseconds are cut to microseconds). */
export function syslogTime(time: string): string {
  return time.length === 30 ? `${time.slice(0, 26)}Z` : time;
}

/** The longest prefix of `buf` of at most `max` bytes that does not split a UTF-8 sequence. */
export function utf8Prefix(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let end = max;
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}

/**
 * RFC 5424 messages in RFC 6587 octet-counting frames (`LEN SP MSG`), one per record:
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [k8s@32473 namespace=".." pod=".." pod_uid=".."
 *   container=".." restart_count=".." node=".." source=".." file=".."][journald@32473 ...] MSG
 *
 * PRI from the facility and the severity (journald PRIORITY, else err for stderr, info for
 * stdout); HOSTNAME the node; APP-NAME the container (or journald unit, or nodetap); MSGID the
 * stream (stdout/stderr). A message longer than maxMessageBytes is cut (at a UTF-8 boundary) so
 * the whole syslog message fits; the count of cut messages per encoded batch is kept for the
 * transport to report once (truncatedIn).
 */
export class SyslogEncoder implements RecordEncoder {
  readonly contentType = "application/syslog";
  private readonly facility: number;
  private readonly headers = new WeakMap<LogOrigin, { host: string; app: string; sd: string }>();
  private readonly truncated = new WeakMap<Buffer, number>();
  private readonly defaultHost = os.hostname();

  constructor(
    private readonly config: Pick<SyslogSinkConfig, "facility" | "appName" | "hostname" | "structuredData">,
    readonly maxMessageBytes: number,
    private readonly groups: ReadonlySet<KubernetesMetadataGroup> = ALL_GROUPS,
  ) {
    this.facility = facilityCode(config.facility);
  }

  /** Messages cut in the batch `body` was encoded from (0 if none or unknown). */
  truncatedIn(body: Buffer): number {
    return this.truncated.get(body) ?? 0;
  }

  encode(records: readonly LogRecord[]): Buffer {
    const parts: Buffer[] = [];
    let cut = 0;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const h = this.header(r.origin);
      let sd = h.sd;
      if (r.attributes !== undefined && this.config.structuredData) {
        let params = "";
        for (const name in r.attributes) params += ` ${sdName(name)}="${sdValue(r.attributes[name])}"`;
        if (params !== "") sd = `${sd === "-" ? "" : sd}[${JOURNAL_SD_ID}${params}]`;
      }
      const app = this.config.appName !== "" ? h.app : r.attributes?.unit ? headerField(r.attributes.unit, 48) : h.app;
      const pri = this.facility * 8 + severityOf(r);
      const head = Buffer.from(`<${pri}>1 ${syslogTime(r.time)} ${h.host} ${app} - ${r.stream === "" ? "-" : r.stream} ${sd} `, "utf8");
      let msg: Buffer = Buffer.from(r.message, "utf8");
      if (head.length + msg.length > this.maxMessageBytes) {
        msg = utf8Prefix(msg, Math.max(0, this.maxMessageBytes - head.length));
        cut++;
      }
      parts.push(Buffer.from(`${head.length + msg.length} `, "ascii"), head, msg);
    }
    const out = Buffer.concat(parts);
    if (cut > 0) this.truncated.set(out, cut);
    return out;
  }

  private header(origin: LogOrigin): { host: string; app: string; sd: string } {
    let h = this.headers.get(origin);
    if (h === undefined) {
      const c = this.config;
      const host = headerField(c.hostname !== "" ? c.hostname : origin.node || this.defaultHost, 255);
      const app = headerField(c.appName !== "" ? c.appName : (origin.kubernetes?.containerName ?? "nodetap"), 48);
      let sd = "-";
      if (c.structuredData) {
        const params = originFields(origin, this.groups)
          .map(([name, value]) => ` ${name}="${sdValue(value)}"`)
          .join("");
        if (params !== "") sd = `[${SD_ID}${params}]`;
      }
      h = { host, app, sd };
      this.headers.set(origin, h);
    }
    return h;
  }
}

/** Splits octet-counted frames back into messages (for UDP: one datagram each). */
export function splitFrames(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    const sp = body.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = Number(body.toString("ascii", pos, sp));
    out.push(body.subarray(sp + 1, sp + 1 + len));
    pos = sp + 1 + len;
  }
  return out;
}
