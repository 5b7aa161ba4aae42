import type dgram from "node:dgram";
import net from "node:net";
import type tls from "node:tls";
import type { Logger } from "pino";
import { ConfigError } from "../../../config/errors.js";
import type { DeliveryResult, Transport } from "../../delivery/sink.js";
import { outcomeOfError } from "../shared/outcome.js";
import { tlsOptions } from "../shared/tls-options.js";
import type { SyslogSinkConfig } from "./config.js";
import { splitFrames, type SyslogEncoder } from "./encoder.js";

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
      this.udp = process.getBuiltinModule("node:dgram").createSocket(net.isIPv6(this.host) ? "udp6" : "udp4");
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
