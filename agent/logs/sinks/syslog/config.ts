import { f, type Infer } from "../../../config/schema.js";
import { tlsSection } from "../shared/tls-config.js";

/** logs.sink.syslog */
export const syslogSinkSchema = {
  address: f.string("", "Syslog receiver host:port (required for sink.type syslog)."),
  transport: f.enum(
    ["tcp", "tls", "udp"] as const,
    "tcp",
    "tcp or tls: RFC 6587/5425 octet-counted frames on one connection (so records stay in order); udp: one datagram per message (RFC 5426).",
  ),
  maxMessageBytes: f.int(0, "Longest message; longer ones are cut (counted). 0 means 2048 for udp and 65536 for tcp/tls.", {
    min: 0,
    max: 16 * 1024 * 1024,
  }),
  facility: f.enum(
    [
      "kern",
      "user",
      "mail",
      "daemon",
      "auth",
      "syslog",
      "lpr",
      "news",
      "uucp",
      "cron",
      "authpriv",
      "ftp",
      "local0",
      "local1",
      "local2",
      "local3",
      "local4",
      "local5",
      "local6",
      "local7",
    ] as const,
    "user",
    "Syslog facility of every message.",
  ),
  appName: f.string("", "APP-NAME of every message; empty means the container name (pod logs), the journald unit, or nodetap."),
  hostname: f.string("", "HOSTNAME of every message; empty means the node name, else this machine's host name."),
  structuredData: f.bool(
    true,
    "Add a [k8s@32473 namespace=... pod=... container=... ...] structured-data element with the record's metadata.",
  ),
  timeout: f.duration(10, "Time limit to connect and to write one batch.", { min: 0.01 }),
  tls: tlsSection("the syslog server"),
};

export type SyslogSinkConfig = Infer<typeof syslogSinkSchema>;
