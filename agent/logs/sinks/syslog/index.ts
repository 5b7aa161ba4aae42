import type { Logger } from "pino";
import { ConfigError } from "../../../config/errors.js";
import type { SinkDefinition } from "../../delivery/sink.js";
import type { KubernetesMetadataGroup } from "../shared/kubernetes-fields.js";
import type { SyslogSinkConfig } from "./config.js";
import { SyslogEncoder } from "./encoder.js";
import { SyslogTransport } from "./transport.js";

/** The syslog sink: RFC 5424 frames over tcp, tls or udp, one lane (one connection keeps the order). */
export function createSyslogSink(config: SyslogSinkConfig, logger: Logger, groups: ReadonlySet<KubernetesMetadataGroup>): SinkDefinition {
  const max = config.maxMessageBytes > 0 ? config.maxMessageBytes : config.transport === "udp" ? 2048 : 65536;
  if (config.transport === "udp" && max > 65507)
    throw new ConfigError("logs.sink.syslog.maxMessageBytes", "must be at most 65507 for udp (the largest IPv4 datagram)");
  const encoder = new SyslogEncoder(config, max, groups);
  return { encoder, transport: new SyslogTransport(config, encoder, logger), lanes: 1 };
}
