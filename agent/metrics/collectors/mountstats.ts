import type { CollectorDefinition } from "../collector.js";
import { readHostFile, readRequiredHostFile } from "../host-file.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";
import { NFS_EVENTS_FIELDS, parseMountInfoAddrs, parseMountStats, type NfsStats } from "./mountstats-parse.js";

/**
 * node_exporter's mountstats collector (collector/mountstats_linux.go with procfs's
 * Proc.MountStats and Proc.MountInfo of /proc/self): per NFS mount and transport protocol, its
 * age, byte, event, per-operation and transport statistics, labelled with the export, the protocol
 * and the server address ("addr" among the superblock options of the mount's line in
 * /proc/self/mountinfo, matched by position), plus an info series per mount point. A mount whose
 * (export, protocol, address) was already reported adds only its mount point's info series.
 *
 * No /proc/self/mountstats: no series. mountinfo is read only when there is an NFS mount to label
 * (node_exporter reads it on every scrape; it reports nothing more without NFS mounts). A malformed
 * file fails the collector.
 */

const PREFIX = "node_mountstats_nfs_";
const LABELS = ["export", "protocol", "mountaddr"];
const INFO_LABELS = ["export", "protocol", "mountaddr", "mountpoint"];
const OP_LABELS = ["export", "protocol", "mountaddr", "operation"];
const TRANSPORT_LABELS = ["export", "protocol", "mountaddr", "transport"];
/** node_exporter's float64Mantissa: large millisecond and idle-time counters are reduced modulo 2^53. */
const MANTISSA = 1n << 53n;

const c = (name: string, help: string, labels = LABELS) => counter(PREFIX + name, help, labels);

const ageDesc = c("age_seconds_total", "The age of the NFS mount in seconds.");
const infoDesc = gauge(`${PREFIX}mountpoint_info`, "Info metric for an NFS mountpoint.", INFO_LABELS);

/** The bytes: values in procfs's order. */
const BYTES: readonly MetricDesc[] = [
  c("read_bytes_total", "Number of bytes read using the read() syscall."),
  c("write_bytes_total", "Number of bytes written using the write() syscall."),
  c("direct_read_bytes_total", "Number of bytes read using the read() syscall in O_DIRECT mode."),
  c("direct_write_bytes_total", "Number of bytes written using the write() syscall in O_DIRECT mode."),
  c("total_read_bytes_total", "Number of bytes read from the NFS server, in total."),
  c("total_write_bytes_total", "Number of bytes written to the NFS server, in total."),
  c("read_pages_total", "Number of pages read directly via mmap()'d files."),
  c("write_pages_total", "Number of pages written directly via mmap()'d files."),
];

const T = TRANSPORT_LABELS;
const transportBind = c(
  "transport_bind_total",
  "Number of times the client has had to establish a connection from scratch to the NFS server.",
  T,
);
const transportConnect = c("transport_connect_total", "Number of times the client has made a TCP connection to the NFS server.", T);
const transportIdle = gauge(
  `${PREFIX}transport_idle_time_seconds`,
  "Duration since the NFS mount last saw any RPC traffic, in seconds.",
  T,
);
const transportSends = c("transport_sends_total", "Number of RPC requests for this mount sent to the NFS server.", T);
const transportReceives = c("transport_receives_total", "Number of RPC responses for this mount received from the NFS server.", T);
const transportBadXids = c(
  "transport_bad_transaction_ids_total",
  "Number of times the NFS server sent a response with a transaction ID unknown to this client.",
  T,
);
const transportBacklog = c("transport_backlog_queue_total", "Total number of items added to the RPC backlog queue.", T);
const transportMaxSlots = gauge(
  `${PREFIX}transport_maximum_rpc_slots`,
  "Maximum number of simultaneously active RPC requests ever used.",
  T,
);
const transportSending = c("transport_sending_queue_total", "Total number of items added to the RPC transmission sending queue.", T);
const transportPending = c("transport_pending_queue_total", "Total number of items added to the RPC transmission pending queue.", T);

const O = OP_LABELS;
const opRequests = c("operations_requests_total", "Number of requests performed for a given operation.", O);
const opTransmissions = c(
  "operations_transmissions_total",
  "Number of times an actual RPC request has been transmitted for a given operation.",
  O,
);
const opMajorTimeouts = c("operations_major_timeouts_total", "Number of times a request has had a major timeout for a given operation.", O);
const opSentBytes = c("operations_sent_bytes_total", "Number of bytes sent for a given operation, including RPC headers and payload.", O);
const opReceivedBytes = c(
  "operations_received_bytes_total",
  "Number of bytes received for a given operation, including RPC headers and payload.",
  O,
);
const opQueueTime = c(
  "operations_queue_time_seconds_total",
  "Duration all requests spent queued for transmission for a given operation before they were sent, in seconds.",
  O,
);
const opResponseTime = c(
  "operations_response_time_seconds_total",
  "Duration all requests took to get a reply back after a request for a given operation was transmitted, in seconds.",
  O,
);
const opRequestTime = c(
  "operations_request_time_seconds_total",
  "Duration all requests took from when a request was enqueued to when it was completely handled for a given operation, in seconds.",
  O,
);

/** The events: values by index in procfs's order; index 18 (congestion wait) is not exported. */
const EVENTS: ReadonlyArray<[index: number, desc: MetricDesc]> = [
  [0, c("event_inode_revalidate_total", "Number of times cached inode attributes are re-validated from the server.")],
  [1, c("event_dnode_revalidate_total", "Number of times cached dentry nodes are re-validated from the server.")],
  [2, c("event_data_invalidate_total", "Number of times an inode cache is cleared.")],
  [3, c("event_attribute_invalidate_total", "Number of times cached inode attributes are invalidated.")],
  // node_exporter's HELP texts, copy-paste slips included (vfs_open, vfs_setattr).
  [4, c("event_vfs_open_total", "Number of times cached inode attributes are invalidated.")],
  [5, c("event_vfs_lookup_total", "Number of times a directory lookup has occurred.")],
  [6, c("event_vfs_access_total", "Number of times permissions have been checked.")],
  [7, c("event_vfs_update_page_total", "Number of updates (and potential writes) to pages.")],
  [8, c("event_vfs_read_page_total", "Number of pages read directly via mmap()'d files.")],
  [9, c("event_vfs_read_pages_total", "Number of times a group of pages have been read.")],
  [10, c("event_vfs_write_page_total", "Number of pages written directly via mmap()'d files.")],
  [11, c("event_vfs_write_pages_total", "Number of times a group of pages have been written.")],
  [12, c("event_vfs_getdents_total", "Number of times directory entries have been read with getdents().")],
  [13, c("event_vfs_setattr_total", "Number of times directory entries have been read with getdents().")],
  [14, c("event_vfs_flush_total", "Number of pending writes that have been forcefully flushed to the server.")],
  [15, c("event_vfs_fsync_total", "Number of times fsync() has been called on directories and files.")],
  [16, c("event_vfs_lock_total", "Number of times locking has been attempted on a file.")],
  [17, c("event_vfs_file_release_total", "Number of times files have been closed and released.")],
  [19, c("event_truncation_total", "Number of times files have been truncated.")],
  [20, c("event_write_extension_total", "Number of times a file has been grown due to writes beyond its existing end.")],
  [21, c("event_silly_rename_total", "Number of times a file was removed while still open by another process.")],
  [22, c("event_short_read_total", "Number of times the NFS server gave less data than expected while reading.")],
  [23, c("event_short_write_total", "Number of times the NFS server wrote less data than expected while writing.")],
  [24, c("event_jukebox_delay_total", "Number of times the NFS server indicated EJUKEBOX; retrieving data from offline storage.")],
  [25, c("event_pnfs_read_total", "Number of NFS v4.1+ pNFS reads.")],
  [26, c("event_pnfs_write_total", "Number of NFS v4.1+ pNFS writes.")],
];
if (EVENTS.length !== NFS_EVENTS_FIELDS - 1) throw new Error("mountstats: event table out of step with the parser");

/** float64(x % 2^53) / 1000: node_exporter's milliseconds to seconds. */
function millisToSeconds(ms: bigint): number {
  return Number(ms % MANTISSA) / 1000;
}

/** node_exporter's updateNFSStats: every series of one (export, protocol, address). */
function emitNfsStats(out: MetricSink, s: NfsStats, export_: string, protocol: string, addr: string): void {
  out.add(ageDesc, s.ageSeconds, export_, protocol, addr);
  BYTES.forEach((desc, i) => out.add(desc, s.bytes[i], export_, protocol, addr));
  s.transports.forEach((t, i) => {
    const labels = [export_, protocol, addr, String(i)];
    out.add(transportBind, t.bind, ...labels);
    out.add(transportConnect, t.connect, ...labels);
    out.add(transportIdle, Number(t.idleTimeSeconds % MANTISSA), ...labels);
    out.add(transportSends, t.sends, ...labels);
    out.add(transportReceives, t.receives, ...labels);
    out.add(transportBadXids, t.badTransactionIds, ...labels);
    out.add(transportBacklog, t.cumulativeBacklog, ...labels);
    out.add(transportMaxSlots, t.maximumRpcSlotsUsed, ...labels);
    out.add(transportSending, t.cumulativeSendingQueue, ...labels);
    out.add(transportPending, t.cumulativePendingQueue, ...labels);
  });
  for (const op of s.operations) {
    const labels = [export_, protocol, addr, op.operation];
    out.add(opRequests, op.requests, ...labels);
    out.add(opTransmissions, op.transmissions, ...labels);
    out.add(opMajorTimeouts, op.majorTimeouts, ...labels);
    out.add(opSentBytes, op.bytesSent, ...labels);
    out.add(opReceivedBytes, op.bytesReceived, ...labels);
    out.add(opQueueTime, millisToSeconds(op.queueMilliseconds), ...labels);
    out.add(opResponseTime, millisToSeconds(op.responseMilliseconds), ...labels);
    out.add(opRequestTime, millisToSeconds(op.requestMilliseconds), ...labels);
  }
  for (const [index, desc] of EVENTS) out.add(desc, s.events[index], export_, protocol, addr);
}

/**
 * Read limit for /proc/self/mountstats. Each NFS mount there takes ~5 KiB (its per-operation
 * statistics), so the default host-file cap (MAX_HOST_FILE_BYTES, 16 MiB) is hit at ~3,000 NFS
 * mounts and the collector would fail on such hosts; 256 MiB still bounds a runaway read.
 */
const MOUNTSTATS_MAX_BYTES = 256 * 1024 * 1024;

export const collector: CollectorDefinition = {
  name: "mountstats",
  defaultEnabled: false,
  create({ paths }) {
    const statsFile = paths.proc("self", "mountstats");
    const infoFile = paths.proc("self", "mountinfo");
    return {
      name: "mountstats",
      update(out) {
        const text = readHostFile(statsFile, MOUNTSTATS_MAX_BYTES);
        if (text === undefined) return;
        const mounts = parseMountStats(text, statsFile);
        if (!mounts.some((m) => m.stats !== undefined)) return;
        const addrs = parseMountInfoAddrs(readRequiredHostFile(infoFile), infoFile);
        const devices = new Set<string>();
        const mountPoints = new Set<string>();
        mounts.forEach((m, index) => {
          if (m.stats === undefined) return;
          // The two files list the same mounts in the same order.
          const addr = index < addrs.length ? addrs[index] : "";
          for (const t of m.stats.transports) {
            const mountPointKey = JSON.stringify([m.device, t.protocol, addr, m.mount]);
            if (!mountPoints.has(mountPointKey)) {
              mountPoints.add(mountPointKey);
              out.add(infoDesc, 1, m.device, t.protocol, addr, m.mount);
            }
            const deviceKey = JSON.stringify([m.device, t.protocol, addr]);
            if (devices.has(deviceKey)) break;
            devices.add(deviceKey);
            emitNfsStats(out, m.stats, m.device, t.protocol, addr);
          }
        });
      },
    };
  },
};
