import { CollectorError, type CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { counter, gauge, type MetricDesc } from "../model.js";
import { parseGoFloat } from "../parsers/go-float.js";
import { parseUint64 } from "../parsers/uint64.js";
import { goScanWords } from "../parsers/go-text.js";

/**
 * node_exporter's drbd collector (collector/drbd_linux.go): /proc/drbd of DRBD 8 read word by
 * word. "<minor>:" starts device drbd<minor>; "key:value" words of the known keys become series
 * (sizes in KiB are turned into bytes), everything else is skipped. No /proc/drbd: no series; a
 * known numeric key with a value Go's ParseFloat refuses, or a "ro:"/"ds:" value without "/"
 * (where node_exporter would panic), fails the collector.
 */

const DEVICE = ["device"];
const DEVICE_NODE = ["device", "node"];

/** Numeric keys: family and the factor applied (KiB -> bytes for sizes). */
const NUMERICAL: ReadonlyMap<string, readonly [MetricDesc, number]> = new Map([
  ["ns", [counter("node_drbd_network_sent_bytes_total", "Total number of bytes sent via the network.", DEVICE), 1024]],
  ["nr", [counter("node_drbd_network_received_bytes_total", "Total number of bytes received via the network.", DEVICE), 1]],
  ["dw", [counter("node_drbd_disk_written_bytes_total", "Net data written on local hard disk; in bytes.", DEVICE), 1024]],
  ["dr", [counter("node_drbd_disk_read_bytes_total", "Net data read from local hard disk; in bytes.", DEVICE), 1024]],
  ["al", [counter("node_drbd_activitylog_writes_total", "Number of updates of the activity log area of the meta data.", DEVICE), 1]],
  ["bm", [counter("node_drbd_bitmap_writes_total", "Number of updates of the bitmap area of the meta data.", DEVICE), 1]],
  ["lo", [gauge("node_drbd_local_pending", "Number of open requests to the local I/O sub-system.", DEVICE), 1]],
  [
    "pe",
    [
      gauge("node_drbd_remote_pending", "Number of requests sent to the peer, but that have not yet been answered by the latter.", DEVICE),
      1,
    ],
  ],
  [
    "ua",
    [
      gauge(
        "node_drbd_remote_unacknowledged",
        "Number of requests received by the peer via the network connection, but that have not yet been answered.",
        DEVICE,
      ),
      1,
    ],
  ],
  [
    "ap",
    [gauge("node_drbd_application_pending", "Number of block I/O requests forwarded to DRBD, but not yet answered by DRBD.", DEVICE), 1],
  ],
  ["ep", [gauge("node_drbd_epochs", "Number of Epochs currently on the fly.", DEVICE), 1]],
  ["oos", [gauge("node_drbd_out_of_sync_bytes", "Amount of data known to be out of sync; in bytes.", DEVICE), 1024]],
]);

/** "local/remote" keys: family and the value that reads as 1. */
const STRING_PAIR: ReadonlyMap<string, readonly [MetricDesc, string]> = new Map([
  ["ro", [gauge("node_drbd_node_role_is_primary", "Whether the role of the node is in the primary state.", DEVICE_NODE), "Primary"]],
  ["ds", [gauge("node_drbd_disk_state_is_up_to_date", "Whether the disk of the node is up to date.", DEVICE_NODE), "UpToDate"]],
]);

const connectedDesc = gauge("node_drbd_connected", "Whether DRBD is connected to the peer.", DEVICE);

export interface DrbdSample {
  readonly desc: MetricDesc;
  readonly value: number;
  readonly labels: readonly string[];
}

/** The series of a /proc/drbd text, in the file's order. */
export function parseDrbd(text: string, file = "/proc/drbd"): DrbdSample[] {
  const out: DrbdSample[] = [];
  let device = "unknown";
  for (const word of goScanWords(text, file)) {
    const kv = word.split(":");
    if (kv.length !== 2) continue;
    const [key, value] = kv;
    if (value === "") {
      const minor = parseUint64(key, 10);
      if (minor !== undefined) {
        device = `drbd${minor}`;
        continue;
      }
    }
    const numerical = NUMERICAL.get(key);
    if (numerical !== undefined) {
      const number = parseGoFloat(value);
      if (number === undefined) throw new CollectorError(`${file}: ${device}: ${key}: not a number: ${JSON.stringify(value.slice(0, 40))}`);
      out.push({ desc: numerical[0], value: number * numerical[1], labels: [device] });
      continue;
    }
    const pair = STRING_PAIR.get(key);
    if (pair !== undefined) {
      const slash = value.indexOf("/");
      if (slash === -1)
        throw new CollectorError(`${file}: ${device}: ${key}: expected local/remote, got ${JSON.stringify(value.slice(0, 40))}`);
      const remoteEnd = value.indexOf("/", slash + 1);
      const local = value.slice(0, slash);
      const remote = value.slice(slash + 1, remoteEnd === -1 ? undefined : remoteEnd);
      out.push({ desc: pair[0], value: local === pair[1] ? 1 : 0, labels: [device, "local"] });
      out.push({ desc: pair[0], value: remote === pair[1] ? 1 : 0, labels: [device, "remote"] });
      continue;
    }
    if (key === "cs") out.push({ desc: connectedDesc, value: value === "Connected" ? 1 : 0, labels: [device] });
  }
  return out;
}

export const collector: CollectorDefinition = {
  name: "drbd",
  defaultEnabled: false,
  create({ paths }) {
    const file = paths.proc("drbd");
    return {
      name: "drbd",
      update(out) {
        const text = readHostFile(file);
        if (text === undefined) return;
        for (const sample of parseDrbd(text, file)) out.add(sample.desc, sample.value, ...sample.labels);
      },
    };
  },
};
