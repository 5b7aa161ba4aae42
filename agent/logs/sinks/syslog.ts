import dgram from "node:dgram";
import net from "node:net";
import os from "node:os";
import type tls from "node:tls";
import type { Logger } from "pino";
import { ConfigError } from "../../config/errors.js";
import type { LogOrigin, LogRecord } from "../record.js";
import { outcomeOfError } from "./http-outcome.js";
import { tlsOptions } from "./http-post.js";
import type { SyslogSinkConfig } from "./network-sink-config.js";
import { originFields } from "./record-fields.js";
import type { DeliveryResult, RecordEncoder, SinkDefinition, Transport } from "./sink.js";

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

/** Severity: journald's PRIORITY when present, else err for stderr and info otherwise. */
export function severityOf(record: LogRecord): number {
  const p = record.attributes?.priority;
  if (p !== undefined && /^[0-7]$/.test(p)) return Number(p);
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
        const params = originFields(origin)
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

/**
 * Sends frames to a syslog receiver. TCP and TLS: one connection, opened on first use and again
 * after it broke; a batch counts as delivered once it is written and flushed to the socket
 * (syslog has no application-level acknowledgement: what the kernel had sent or buffered when
 * the receiver died is lost, see docs/sinks.md). A FIN from the receiver is noticed before the
 * next write, so a receiver that closed an idle connection costs nothing. UDP: one datagram per
 * message (RFC 5426), no delivery guarantee at all.
 */
export class SyslogTransport implements Transport {
  readonly name = "syslog";
  private host = "";
  private port = 0;
  private socket?: net.Socket;
  private broken = true;
  private udp?: dgram.Socket;
  private tlsOpts?: tls.ConnectionOptions;
  private readonly countedTruncation = new WeakSet<Buffer>();

  constructor(
    private readonly config: SyslogSinkConfig,
    private readonly encoder: SyslogEncoder,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const c = this.config;
    if (c.address === "") throw new ConfigError("logs.sink.syslog.address", "is required when logs.sink.type is syslog");
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(c.address);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
      throw new ConfigError("logs.sink.syslog.address", `${JSON.stringify(c.address)} is not host:port`);
    this.host = m[1].replace(/^\[|\]$/g, "");
    this.port = Number(m[2]);
    if (c.transport === "tls") this.tlsOpts = tlsOptions("logs.sink.syslog.tls", c.tls, this.logger);
    if (c.transport === "udp") {
      this.udp = dgram.createSocket(net.isIPv6(this.host) ? "udp6" : "udp4");
      this.udp.on("error", (err) => this.logger.warn({ err: err.message }, "syslog udp socket error"));
      this.udp.unref();
    }
  }

  async deliver(body: Buffer, signal: AbortSignal): Promise<DeliveryResult> {
    const result = this.udp ? await this.sendUdp(body) : await this.sendStream(body, signal);
    if (result.kind === "ok") {
      const cut = this.encoder.truncatedIn(body);
      if (cut > 0 && !this.countedTruncation.has(body)) {
        this.countedTruncation.add(body);
        return { kind: "ok", notes: [{ outcome: "truncated", records: cut }] };
      }
    }
    return result;
  }

  private async sendUdp(body: Buffer): Promise<DeliveryResult> {
    const udp = this.udp as dgram.Socket;
    try {
      for (const frame of splitFrames(body)) {
        await new Promise<void>((resolve, reject) => udp.send(frame, this.port, this.host, (err) => (err ? reject(err) : resolve())));
      }
      return { kind: "ok" };
    } catch (err) {
      return outcomeOfError(err);
    }
  }

  private connect(signal: AbortSignal): Promise<net.Socket> {
    const timeoutMs = this.config.timeout * 1000;
    return new Promise((resolve, reject) => {
      const socket = this.tlsOpts
        ? process.getBuiltinModule("node:tls").connect({
            host: this.host,
            port: this.port,
            ...this.tlsOpts,
            servername: this.tlsOpts.servername ?? (net.isIP(this.host) ? undefined : this.host),
          })
        : net.connect({ host: this.host, port: this.port });
      const timer = setTimeout(() => {
        const err = new Error(`no connection within ${timeoutMs} ms`);
        err.name = "TimeoutError";
        socket.destroy(err);
      }, timeoutMs);
      const onAbort = () => socket.destroy(new Error("aborted at shutdown"));
      signal.addEventListener("abort", onAbort, { once: true });
      const done = (err?: Error) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        socket.removeListener("error", done);
        if (err) reject(err);
        else resolve(socket);
      };
      socket.once("error", done);
      socket.once(this.tlsOpts ? "secureConnect" : "connect", () => done());
    });
  }

  private async sendStream(body: Buffer, signal: AbortSignal): Promise<DeliveryResult> {
    try {
      if (this.broken || this.socket === undefined) {
        this.socket?.destroy();
        const socket = await this.connect(signal);
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        // Receivers send nothing; reading is how a FIN (receiver closed or stopped) is noticed.
        socket.on("data", () => undefined);
        const mark = () => {
          if (this.socket === socket) this.broken = true;
        };
        socket.on("end", mark);
        socket.on("close", mark);
        socket.on("error", (err) => {
          mark();
          this.logger.debug({ err: err.message }, "syslog connection error");
        });
        this.socket = socket;
        this.broken = false;
      }
      const socket = this.socket;
      await new Promise<void>((resolve, reject) => {
        const timeoutMs = this.config.timeout * 1000;
        const timer = setTimeout(() => {
          const err = new Error(`write not flushed within ${timeoutMs} ms`);
          err.name = "TimeoutError";
          socket.destroy(err);
        }, timeoutMs);
        const onAbort = () => socket.destroy(new Error("aborted at shutdown"));
        signal.addEventListener("abort", onAbort, { once: true });
        const finish = (err?: Error | null) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          socket.removeListener("close", onClose);
          if (err) reject(err);
          else resolve();
        };
        const onClose = () => finish(Object.assign(new Error("connection closed during write"), { code: "ECONNRESET" }));
        socket.once("close", onClose);
        socket.write(body, (err) => finish(err));
      });
      if (this.broken) return { kind: "retry", reason: "connection_reset", detail: "connection closed by the receiver during the write" };
      return { kind: "ok" };
    } catch (err) {
      this.broken = true;
      this.socket?.destroy();
      this.socket = undefined;
      const out = outcomeOfError(err);
      if (out.kind === "retry" && out.reason === "tls") {
        out.detail = `TLS handshake with ${this.config.address} failed: ${out.detail} (server certificate checked against ${this.config.tls.caFile !== "" ? `logs CA file ${this.config.tls.caFile}` : "the system CA roots"})`;
      }
      return out;
    }
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket && !socket.destroyed) await new Promise<void>((resolve) => socket.end(() => resolve()));
    socket?.destroy();
    this.udp?.close();
  }

  describe(): Record<string, unknown> {
    return {
      address: this.config.address,
      transport: this.config.transport,
      maxMessageBytes: this.encoder.maxMessageBytes,
      connected: this.udp ? undefined : !this.broken,
    };
  }
}

export function createSyslogSink(config: SyslogSinkConfig, logger: Logger): SinkDefinition {
  const max = config.maxMessageBytes > 0 ? config.maxMessageBytes : config.transport === "udp" ? 2048 : 65536;
  if (config.transport === "udp" && max > 65507)
    throw new ConfigError("logs.sink.syslog.maxMessageBytes", "must be at most 65507 for udp (the largest IPv4 datagram)");
  const encoder = new SyslogEncoder(config, max);
  return { encoder, transport: new SyslogTransport(config, encoder, logger), lanes: 1 };
}
