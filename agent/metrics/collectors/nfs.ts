import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import type { Collector, CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { counter, type MetricSink } from "../model.js";
import { CLIENT_V4_PROCEDURES, V2_PROCEDURES, V3_PROCEDURES, parseNfsClientStats } from "./nfs-rpc-stats.js";

/**
 * node_exporter's nfs collector (collector/nfs_linux.go): NFS client RPC statistics from
 * /proc/net/rpc/nfs. Without the file (no NFS client module loaded) it reports nothing.
 */

const packetsTotal = counter("node_nfs_packets_total", "Total NFSd network packets (sent+received) by protocol type.", ["protocol"]);
const connectionsTotal = counter("node_nfs_connections_total", "Total number of NFSd TCP connections.");
const rpcsTotal = counter("node_nfs_rpcs_total", "Total number of RPCs performed.");
const rpcRetransmissionsTotal = counter("node_nfs_rpc_retransmissions_total", "Number of RPC transmissions performed.");
const rpcAuthenticationRefreshesTotal = counter(
  "node_nfs_rpc_authentication_refreshes_total",
  "Number of RPC authentication refreshes performed.",
);
const requestsTotal = counter("node_nfs_requests_total", "Number of NFS procedures invoked.", ["proto", "method"]);

class NfsCollector implements Collector {
  readonly name = "nfs";
  private readonly file: string;

  constructor(
    paths: HostPaths,
    private readonly logger: Logger,
  ) {
    this.file = paths.proc("net", "rpc", "nfs");
  }

  update(out: MetricSink): void {
    const text = readHostFile(this.file);
    if (text === undefined) {
      this.logger.debug({ file: this.file }, "Not collecting NFS metrics: file does not exist");
      return;
    }
    const stats = parseNfsClientStats(text, this.file);
    out.add(packetsTotal, stats.network.udpCount, "udp");
    out.add(packetsTotal, stats.network.tcpCount, "tcp");
    out.add(connectionsTotal, stats.network.tcpConnect);
    out.add(rpcsTotal, stats.rpc.rpcCount);
    out.add(rpcRetransmissionsTotal, stats.rpc.retransmissions);
    out.add(rpcAuthenticationRefreshesTotal, stats.rpc.authRefreshes);
    // node_exporter reports every procedure of procfs's V2Stats/V3Stats/ClientV4Stats, Null included.
    V2_PROCEDURES.forEach((method, i) => out.add(requestsTotal, stats.v2[i], "2", method));
    V3_PROCEDURES.forEach((method, i) => out.add(requestsTotal, stats.v3[i], "3", method));
    CLIENT_V4_PROCEDURES.forEach((method, i) => out.add(requestsTotal, stats.v4[i], "4", method));
  }
}

export const collector: CollectorDefinition = {
  name: "nfs",
  defaultEnabled: true,
  create({ paths, logger }) {
    return new NfsCollector(paths, logger);
  },
};
