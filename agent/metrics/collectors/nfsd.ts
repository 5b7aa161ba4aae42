import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import type { Collector, CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { counter, gauge, type MetricSink } from "../model.js";
import { SERVER_V4_OPERATIONS, V2_PROCEDURES, V3_PROCEDURES, parseNfsServerStats } from "./nfs-rpc-stats.js";

/**
 * node_exporter's nfsd collector (collector/nfsd_linux.go): NFS server statistics from
 * /proc/net/rpc/nfsd. Without the file (no NFS server running) it reports nothing.
 */

const replyCacheHitsTotal = counter(
  "node_nfsd_reply_cache_hits_total",
  "Total number of NFSd Reply Cache hits (client lost server response).",
);
const replyCacheMissesTotal = counter(
  "node_nfsd_reply_cache_misses_total",
  "Total number of NFSd Reply Cache an operation that requires caching (idempotent).",
);
const replyCacheNocacheTotal = counter(
  "node_nfsd_reply_cache_nocache_total",
  "Total number of NFSd Reply Cache non-idempotent operations (rename/delete/…).",
);
const fileHandlesStaleTotal = counter("node_nfsd_file_handles_stale_total", "Total number of NFSd stale file handles");
const diskBytesReadTotal = counter("node_nfsd_disk_bytes_read_total", "Total NFSd bytes read.");
const diskBytesWrittenTotal = counter("node_nfsd_disk_bytes_written_total", "Total NFSd bytes written.");
const serverThreads = gauge("node_nfsd_server_threads", "Total number of NFSd kernel threads that are running.");
const readAheadCacheSizeBlocks = gauge("node_nfsd_read_ahead_cache_size_blocks", "How large the read ahead cache is in blocks.");
const readAheadCacheNotFoundTotal = counter(
  "node_nfsd_read_ahead_cache_not_found_total",
  "Total number of NFSd read ahead cache not found.",
);
const packetsTotal = counter("node_nfsd_packets_total", "Total NFSd network packets (sent+received) by protocol type.", ["proto"]);
const connectionsTotal = counter("node_nfsd_connections_total", "Total number of NFSd TCP connections.");
const rpcErrorsTotal = counter("node_nfsd_rpc_errors_total", "Total number of NFSd RPC errors by error type.", ["error"]);
const serverRpcsTotal = counter("node_nfsd_server_rpcs_total", "Total number of NFSd RPCs.");
const requestsTotal = counter("node_nfsd_requests_total", "Total number NFSd Requests by method and protocol.", ["proto", "method"]);

/** The NFSv4 operations node_exporter reports: all of procfs's V4Ops but the unused slots and PUTPUBFH/PUTROOTFH. */
const NOT_REPORTED_V4_OPERATIONS: ReadonlySet<string> = new Set(["Op0Unused", "Op1Unused", "Op2Future", "PutPubFH", "PutRootFH"]);

class NfsdCollector implements Collector {
  readonly name = "nfsd";
  private readonly file: string;

  constructor(
    paths: HostPaths,
    private readonly logger: Logger,
  ) {
    this.file = paths.proc("net", "rpc", "nfsd");
  }

  update(out: MetricSink): void {
    const text = readHostFile(this.file);
    if (text === undefined) {
      this.logger.debug({ file: this.file }, "Not collecting NFSd metrics: file does not exist");
      return;
    }
    const stats = parseNfsServerStats(text, this.file);
    out.add(replyCacheHitsTotal, stats.replyCache.hits);
    out.add(replyCacheMissesTotal, stats.replyCache.misses);
    out.add(replyCacheNocacheTotal, stats.replyCache.noCache);
    // The other file handle counters are unused by the kernel; node_exporter reports only stale.
    out.add(fileHandlesStaleTotal, stats.fileHandles.stale);
    out.add(diskBytesReadTotal, stats.inputOutput.read);
    out.add(diskBytesWrittenTotal, stats.inputOutput.write);
    out.add(serverThreads, stats.threads.threads);
    out.add(readAheadCacheSizeBlocks, stats.readAheadCache.cacheSize);
    out.add(readAheadCacheNotFoundTotal, stats.readAheadCache.notFound);
    out.add(packetsTotal, stats.network.udpCount, "udp");
    out.add(packetsTotal, stats.network.tcpCount, "tcp");
    out.add(connectionsTotal, stats.network.tcpConnect);
    out.add(rpcErrorsTotal, stats.rpc.badFormat, "fmt");
    out.add(rpcErrorsTotal, stats.rpc.badAuth, "auth");
    out.add(rpcErrorsTotal, stats.rpc.badClientInt, "cInt");
    out.add(serverRpcsTotal, stats.rpc.rpcCount);
    // Null is left out for NFSv2 and v3, as node_exporter does.
    V2_PROCEDURES.forEach((method, i) => {
      if (method !== "Null") out.add(requestsTotal, stats.v2[i], "2", method);
    });
    V3_PROCEDURES.forEach((method, i) => {
      if (method !== "Null") out.add(requestsTotal, stats.v3[i], "3", method);
    });
    SERVER_V4_OPERATIONS.forEach((method, i) => {
      if (!NOT_REPORTED_V4_OPERATIONS.has(method)) out.add(requestsTotal, stats.v4Ops[i], "4", method);
    });
    out.add(requestsTotal, stats.wdelegGetattr, "4", "WdelegGetattr");
  }
}

export const collector: CollectorDefinition = {
  name: "nfsd",
  defaultEnabled: true,
  create({ paths, logger }) {
    return new NfsdCollector(paths, logger);
  },
};
