import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { freePort, ServerProcess, testenvTool, waitUntil } from "./servers.js";

/** One message as syslog-ng parsed it (format-json of the RFC 5424 fields and structured data). */
export interface SyslogNgMessage {
  S_ISODATE: string;
  PROGRAM?: string;
  PRIORITY: string;
  FACILITY: string;
  MSGID?: string;
  MESSAGE: string;
  HOST: string;
  PID?: string;
  _SDATA?: Record<string, Record<string, string>>;
}

/**
 * A real syslog-ng (Debian syslog-ng-core) in the foreground, with syslog() sources on
 * 127.0.0.1: tcp, tls (when given a certificate) and udp, each on a free port, all written as
 * JSON lines to one file. flow-control: syslog-ng stops reading when its file writer lags.
 */
export class SyslogNg {
  readonly server: ServerProcess;
  readonly out: string;

  private constructor(
    readonly dir: string,
    readonly tcpPort: number,
    readonly udpPort: number,
    readonly tlsPort: number | undefined,
  ) {
    this.out = path.join(dir, "messages.jsonl");
    this.server = new ServerProcess("syslog-ng", testenvTool("syslog-ng"), [
      "-F",
      "-e",
      "--no-caps",
      `--cfgfile=${path.join(dir, "syslog-ng.conf")}`,
      `--persist-file=${path.join(dir, "syslog-ng.persist")}`,
      `--pidfile=${path.join(dir, "syslog-ng.pid")}`,
      `--control=${path.join(dir, "syslog-ng.ctl")}`,
    ]);
  }

  static async start(dir: string, opts: { tls?: { cert: string; key: string }; logMsgSize?: number } = {}): Promise<SyslogNg> {
    fs.mkdirSync(dir, { recursive: true });
    const s = new SyslogNg(dir, await freePort(), await freePort(), opts.tls ? await freePort() : undefined);
    const size = opts.logMsgSize ?? 1024 * 1024;
    const common = `log-msg-size(${size}) max-connections(10) log-iw-size(10000)`;
    const conf = [
      "@version: 3.38",
      `options { keep-hostname(yes); keep-timestamp(yes); use-dns(no); use-fqdn(no); chain-hostnames(no); frac-digits(6); log-fifo-size(100000); stats-freq(0); };`,
      `source s_net {`,
      `  syslog(ip("127.0.0.1") port(${s.tcpPort}) transport("tcp") ${common});`,
      `  syslog(ip("127.0.0.1") port(${s.udpPort}) transport("udp") log-msg-size(${size}));`,
      ...(opts.tls
        ? [
            `  syslog(ip("127.0.0.1") port(${s.tlsPort}) transport("tls") ${common} tls(key-file("${opts.tls.key}") cert-file("${opts.tls.cert}") peer-verify(optional-untrusted)));`,
          ]
        : []),
      `};`,
      `destination d_file { file("${s.out}" template("$(format-json --scope rfc5424 --scope sdata --key S_ISODATE)\\n") flush-lines(1)); };`,
      `log { source(s_net); destination(d_file); flags(flow-control); };`,
    ].join("\n");
    fs.writeFileSync(path.join(dir, "syslog-ng.conf"), conf + "\n");
    await s.restart();
    return s;
  }

  async restart(): Promise<void> {
    this.server.start();
    await waitUntil(
      `syslog-ng on port ${this.tcpPort}`,
      () => {
        if (!this.server.running) throw new Error(`syslog-ng exited: ${this.server.tail(2000)}`);
        return this.server.tail().includes("syslog-ng starting up") && tcpOpen(this.tcpPort);
      },
      30_000,
    );
  }

  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    return this.server.stop(signal);
  }

  messages(): SyslogNgMessage[] {
    if (!fs.existsSync(this.out)) return [];
    return fs
      .readFileSync(this.out, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as SyslogNgMessage);
  }

  async waitForMessages(n: number, timeoutMs = 60_000): Promise<SyslogNgMessage[]> {
    let got: SyslogNgMessage[] = [];
    try {
      await waitUntil(`${n} messages in ${this.out}`, () => (got = this.messages()).length >= n, timeoutMs, 300);
    } catch (err) {
      throw new Error(`${(err as Error).message}; have ${got.length}; syslog-ng: ${this.server.tail(1500)}`, { cause: err });
    }
    return got;
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
