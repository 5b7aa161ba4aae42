import fs from "node:fs";
import { readdirSync, stillMissing } from "../../host/missing-paths.js";
import path from "node:path";
import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";
import { parseGoFloat } from "../parsers/go-float.js";
import { readSysfsAttribute, type AttributeRead } from "../sysfs-attribute.js";

/**
 * node_exporter's infiniband collector (collector/infiniband_linux.go) over procfs's
 * sysfs.InfiniBandClass: one info series per device of /sys/class/infiniband, and per port its
 * state, physical state, rate and the counters of its counters/, counters_ext/ (pre-4.5 64-bit
 * counters) and hw_counters/ (mlx5, irdma) directories.
 *
 * Error handling follows procfs and node_exporter: a missing file anywhere that procfs requires
 * (the class directory, fw_ver, ports/, a port's link_layer, state, phys_state or rate) makes the
 * whole collector report nothing (node_exporter's ErrNoData, logged at debug); another read error
 * or an unparsable state/rate fails the scrape. A counter file that is missing, forbidden or not
 * supported is left out, and so is one reading "N/A (no PMA)" (iWARP drivers); any other value
 * that is not an unsigned integer fails the scrape.
 *
 * Reads are synchronous single read(2)s of each attribute (see netclass.ts for why), and only
 * the counter files node_exporter reports are opened (procfs reads every file of the counter
 * directories; a read error on one that it then ignores would fail its scrape, not ours).
 */

const LABELS = ["device", "port"];

const infoDesc = gauge("node_infiniband_info", "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.", [
  "device",
  "board_id",
  "firmware_version",
  "hca_type",
]);
const stateDesc = gauge(
  "node_infiniband_state_id",
  "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)",
  LABELS,
);
const physicalStateDesc = gauge(
  "node_infiniband_physical_state_id",
  "Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, 4: shift, 5: link up, 6: link error recover, 7: phytest)",
  LABELS,
);
const rateDesc = gauge("node_infiniband_rate_bytes_per_second", "Maximum signal transfer rate", LABELS);

interface CounterFile {
  readonly file: string;
  readonly desc: MetricDesc;
  /** port_{rcv,xmit}_data{,_64} count 4-octet words per lane ("divided by 4 unconditionally"): procfs multiplies them by 4. */
  readonly times4?: boolean;
  /** hw_counters/lifespan is in milliseconds and reported as a gauge in whole seconds. */
  readonly millisToSeconds?: boolean;
}

function ibCounter(file: string, name: string, help: string, extra: Partial<CounterFile> = {}): CounterFile {
  return { file, desc: counter(`node_infiniband_${name}`, help, LABELS), ...extra };
}

/** counters/: the InfiniBand port counters (kernel 2.6.12+). */
const COUNTERS: readonly CounterFile[] = [
  ibCounter(
    "excessive_buffer_overrun_errors",
    "excessive_buffer_overrun_errors_total",
    "Number of times that OverrunErrors consecutive flow control update periods occurred, each having at least one overrun error.",
  ),
  ibCounter("link_downed", "link_downed_total", "Number of times the link failed to recover from an error state and went down"),
  ibCounter("link_error_recovery", "link_error_recovery_total", "Number of times the link successfully recovered from an error state"),
  ibCounter(
    "local_link_integrity_errors",
    "local_link_integrity_errors_total",
    "Number of times that the count of local physical errors exceeded the threshold specified by LocalPhyErrors.",
  ),
  ibCounter("multicast_rcv_packets", "multicast_packets_received_total", "Number of multicast packets received (including errors)"),
  ibCounter("multicast_xmit_packets", "multicast_packets_transmitted_total", "Number of multicast packets transmitted (including errors)"),
  ibCounter(
    "port_rcv_constraint_errors",
    "port_constraint_errors_received_total",
    "Number of packets received on the switch physical port that are discarded",
  ),
  ibCounter("port_rcv_data", "port_data_received_bytes_total", "Number of data octets received on all links", { times4: true }),
  ibCounter(
    "port_rcv_discards",
    "port_discards_received_total",
    "Number of inbound packets discarded by the port because the port is down or congested",
  ),
  ibCounter("port_rcv_errors", "port_errors_received_total", "Number of packets containing an error that were received on this port"),
  ibCounter("port_rcv_packets", "port_packets_received_total", "Number of packets received on all VLs by this port (including errors)"),
  ibCounter(
    "port_rcv_remote_physical_errors",
    "port_receive_remote_physical_errors_total",
    "Number of packets marked with the EBP (End of Bad Packet) delimiter received on the port.",
  ),
  ibCounter(
    "port_rcv_switch_relay_errors",
    "port_receive_switch_relay_errors_total",
    "Number of packets that could not be forwarded by the switch.",
  ),
  ibCounter(
    "port_xmit_constraint_errors",
    "port_constraint_errors_transmitted_total",
    "Number of packets not transmitted from the switch physical port",
  ),
  ibCounter("port_xmit_data", "port_data_transmitted_bytes_total", "Number of data octets transmitted on all links", { times4: true }),
  ibCounter(
    "port_xmit_discards",
    "port_discards_transmitted_total",
    "Number of outbound packets discarded by the port because the port is down or congested",
  ),
  ibCounter(
    "port_xmit_packets",
    "port_packets_transmitted_total",
    "Number of packets transmitted on all VLs from this port (including errors)",
  ),
  ibCounter(
    "port_xmit_wait",
    "port_transmit_wait_total",
    "Number of ticks during which the port had data to transmit but no data was sent during the entire tick",
  ),
  ibCounter("symbol_error", "symbol_error_total", "Number of minor link errors detected on one or more physical lanes."),
  ibCounter("unicast_rcv_packets", "unicast_packets_received_total", "Number of unicast packets received (including errors)"),
  ibCounter("unicast_xmit_packets", "unicast_packets_transmitted_total", "Number of unicast packets transmitted (including errors)"),
  ibCounter("VL15_dropped", "vl15_dropped_total", "Number of incoming VL15 packets dropped due to resource limitations."),
];

/** counters_ext/: 64-bit counters of OFED drivers before kernel 4.5. */
const LEGACY_COUNTERS: readonly CounterFile[] = [
  ibCounter("port_multicast_rcv_packets", "legacy_multicast_packets_received_total", "Number of multicast packets received"),
  ibCounter("port_multicast_xmit_packets", "legacy_multicast_packets_transmitted_total", "Number of multicast packets transmitted"),
  ibCounter("port_rcv_data_64", "legacy_data_received_bytes_total", "Number of data octets received on all links", { times4: true }),
  ibCounter("port_rcv_packets_64", "legacy_packets_received_total", "Number of data packets received on all links"),
  ibCounter("port_unicast_rcv_packets", "legacy_unicast_packets_received_total", "Number of unicast packets received"),
  ibCounter("port_unicast_xmit_packets", "legacy_unicast_packets_transmitted_total", "Number of unicast packets transmitted"),
  ibCounter("port_xmit_data_64", "legacy_data_transmitted_bytes_total", "Number of data octets transmitted on all links", {
    times4: true,
  }),
  // node_exporter's HELP says "received" here too.
  ibCounter("port_xmit_packets_64", "legacy_packets_transmitted_total", "Number of data packets received on all links"),
];

const OFED_4_1 = "The counters was added in MLNX_OFED 4.1";
const OFED_5_0 = "The counter was added in MLNX_OFED rev 5.0-1.0.0.0 and kernel v5.6.0";

/** hw_counters/: driver counters (kernel 4.6+; mlx5, see NVIDIA's "Understanding mlx5 Linux counters"). */
const HW_COUNTERS: readonly CounterFile[] = [
  ibCounter(
    "duplicate_request",
    "duplicate_requests_packets_total",
    "The number of received packets. A duplicate request is a request that had been previously executed.",
  ),
  ibCounter(
    "implied_nak_seq_err",
    "implied_nak_seq_errors_total",
    "The number of time the requested decided an ACK. with a PSN larger than the expected PSN for an RDMA read or response.",
  ),
  {
    file: "lifespan",
    desc: gauge(
      "node_infiniband_lifespan_seconds",
      "The maximum period in ms which defines the aging of the counter reads. Two consecutive reads within this period might return the same values.",
      LABELS,
    ),
    millisToSeconds: true,
  },
  ibCounter(
    "local_ack_timeout_err",
    "local_ack_timeout_errors_total",
    "The number of times QP's ack timer expired for RC, XRC, DCT QPs at the sender side. The QP retry limit was not exceed, therefore it is still recoverable error.",
  ),
  ibCounter(
    "np_cnp_sent",
    "np_cnp_packets_sent_total",
    `The number of CNP packets sent by the Notification Point when it noticed congestion experienced in the RoCEv2 IP header (ECN bits). ${OFED_4_1}`,
  ),
  ibCounter(
    "np_ecn_marked_roce_packets",
    "np_ecn_marked_roce_packets_received_total",
    `The number of RoCEv2 packets received by the notification point which were marked for experiencing the congestion (ECN bits where '11' on the ingress RoCE traffic) . ${OFED_4_1}`,
  ),
  ibCounter("out_of_buffer", "out_of_buffer_drops_total", "The number of drops occurred due to lack of WQE for the associated QPs."),
  ibCounter("out_of_sequence", "out_of_sequence_packets_received_total", "The number of out of sequence packets received."),
  ibCounter(
    "packet_seq_err",
    "packet_sequence_errors_total",
    "The number of received NAK sequence error packets. The QP retry limit was not exceeded.",
  ),
  ibCounter("req_cqe_error", "req_cqes_errors_total", `The number of times requester detected CQEs completed with errors. ${OFED_4_1}`),
  ibCounter(
    "req_cqe_flush_error",
    "req_cqes_flush_errors_total",
    `The number of times requester detected CQEs completed with flushed errors. ${OFED_4_1}`,
  ),
  ibCounter(
    "req_remote_access_errors",
    "req_remote_access_errors_total",
    `The number of times requester detected remote access errors. ${OFED_4_1}`,
  ),
  ibCounter(
    "req_remote_invalid_request",
    "req_remote_invalid_request_errors_total",
    `The number of times requester detected remote invalid request errors. ${OFED_4_1}`,
  ),
  ibCounter("resp_cqe_error", "resp_cqes_errors_total", `The number of times responder detected CQEs completed with errors. ${OFED_4_1}`),
  ibCounter(
    "resp_cqe_flush_error",
    "resp_cqes_flush_errors_total",
    `The number of times responder detected CQEs completed with flushed errors. ${OFED_4_1}`,
  ),
  ibCounter(
    "resp_local_length_error",
    "resp_local_length_errors_total",
    `The number of times responder detected local length errors. ${OFED_4_1}`,
  ),
  ibCounter(
    "resp_remote_access_errors",
    "resp_remote_access_errors_total",
    `The number of times responder detected remote access errors. ${OFED_4_1}`,
  ),
  ibCounter(
    "rnr_nak_retry_err",
    "rnr_nak_retry_packets_received_total",
    "The number of received RNR NAK packets. The QP retry limit was not exceeded.",
  ),
  ibCounter("roce_adp_retrans", "roce_adp_retransmits_total", `The number of adaptive retransmissions for RoCE traffic. ${OFED_5_0}`),
  ibCounter(
    "roce_adp_retrans_to",
    "roce_adp_retransmits_timeout_total",
    `The number of times RoCE traffic reached timeout due to adaptive retransmission. ${OFED_5_0}`,
  ),
  ibCounter("roce_slow_restart", "roce_slow_restart_used_total", `The number of times RoCE slow restart was used. ${OFED_5_0}`),
  ibCounter(
    "roce_slow_restart_cnps",
    "roce_slow_restart_cnps_total",
    `The number of times RoCE slow restart generated CNP packets. ${OFED_5_0}`,
  ),
  ibCounter(
    "roce_slow_restart_trans",
    "roce_slow_restart_total",
    `The number of times RoCE slow restart changed state to slow restart. ${OFED_5_0}`,
  ),
  ibCounter(
    "rp_cnp_handled",
    "rp_cnp_packets_handled_total",
    `The number of CNP packets handled by the Reaction Point HCA to throttle the transmission rate. ${OFED_4_1}`,
  ),
  ibCounter(
    "rp_cnp_ignored",
    "rp_cnp_ignored_packets_received_total",
    "The number of CNP packets received and ignored by the Reaction Point HCA. This counter should not raise if RoCE Congestion Control was enabled in the network. If this counter raise, verify that ECN was enabled on the adapter.",
  ),
  ibCounter("rx_atomic_requests", "rx_atomic_requests_total", "The number of received ATOMIC request for the associated QPs."),
  ibCounter("rx_dct_connect", "rx_dct_connect_requests_total", "The number of received connection requests for the associated DCTs."),
  ibCounter(
    "rx_icrc_encapsulated",
    "rx_icrc_encapsulated_errors_total",
    "The number of RoCE packets with ICRC errors. This counter was added in MLNX_OFED 4.4 and kernel 4.19",
  ),
  ibCounter("rx_read_requests", "rx_read_requests_total", "The number of received READ requests for the associated QPs."),
  ibCounter("rx_write_requests", "rx_write_requests_total", "The number of received WRITE requests for the associated QPs."),
];

const COUNTER_FILES = {
  counters: new Map(COUNTERS.map((c) => [c.file, c])),
  counters_ext: new Map(LEGACY_COUNTERS.map((c) => [c.file, c])),
  hw_counters: new Map(HW_COUNTERS.map((c) => [c.file, c])),
} as const;
type CounterDir = keyof typeof COUNTER_FILES;

/**
 * "<id>: <name>" of a port's state and phys_state files (procfs's parseState): exactly one colon,
 * the id a base-10 uint32; undefined otherwise.
 */
export function parseInfiniBandState(text: string): { id: number; name: string } | undefined {
  const parts = text.split(":");
  if (parts.length !== 2) return undefined;
  const idText = parts[0].trim();
  if (!/^\d{1,10}$/.test(idText)) return undefined;
  const id = Number(idText);
  if (id > 0xffffffff) return undefined;
  return { id, name: parts[1].trim() };
}

/**
 * A port's rate file ("100 Gb/sec (4X EDR)") in bytes per second, as procfs's parseRate: the text
 * before the first space parsed as a float32 (Go's ParseFloat(s, 32)) times 125000000, truncated
 * to an integer. undefined where procfs errs, and (unlike Go, whose uint64 conversion of such a
 * float is platform-defined) for a negative, infinite or NaN rate.
 */
export function parseInfiniBandRate(text: string): number | undefined {
  const space = text.indexOf(" ");
  if (space < 0) return undefined;
  const parsed = parseGoFloat(text.slice(0, space + 1).trim());
  if (parsed === undefined || Number.isNaN(parsed)) return undefined;
  const value = Math.fround(parsed);
  if (!Number.isFinite(value) || value < 0) return undefined;
  const rate = Math.trunc(value * 125000000);
  return rate < 2 ** 64 ? rate : undefined;
}

const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * A counter value as procfs's ValueParser.PUInt64: Go's strconv.ParseUint(text, 0, 64) (decimal,
 * or 0x/0o/0b/leading-0 prefixed, underscores between digits), as a BigInt; undefined where Go errs.
 */
export function parseCounterValue(text: string): bigint | undefined {
  const n = text.length;
  if (n === 0) return undefined;
  if (n <= 15 && /^(0|[1-9]\d*)$/.test(text)) return BigInt(text);
  let base = 10;
  let i = 0;
  let prefix = "";
  if (text[0] === "0" && n > 1) {
    const marker = text[1].toLowerCase();
    if (marker === "x" || marker === "o" || marker === "b") {
      base = marker === "x" ? 16 : marker === "o" ? 8 : 2;
      prefix = `0${marker}`;
      i = 2;
    } else {
      base = 8;
      prefix = "0o";
      i = 1;
    }
  }
  let digits = "";
  let lastWasDigit = i > 0;
  let lastWasUnderscore = false;
  for (; i < n; i++) {
    const c = text[i];
    if (c === "_") {
      if (!lastWasDigit) return undefined;
      lastWasDigit = false;
      lastWasUnderscore = true;
      continue;
    }
    const digit = parseInt(c, 36);
    if (Number.isNaN(digit) || digit >= base) return undefined;
    digits += c;
    lastWasDigit = true;
    lastWasUnderscore = false;
  }
  if (lastWasUnderscore || digits === "") return undefined;
  const value = BigInt(prefix === "" ? digits : prefix + digits);
  return value > MAX_UINT64 ? undefined : value;
}

/** procfs's SysReadFile reads at most 128 bytes of an attribute. */
const SYS_READ_MAX = 128;

/** The whole collector reports nothing, as node_exporter does when procfs returns a "not exist" error. */
class NoInfiniBandData extends Error {}

/**
 * Whether procfs skips a counter file that could not be read: missing, forbidden ("permission"),
 * EOPNOTSUPP from read(2), and (counters/ only) EINVAL.
 */
function skippedReadError(read: AttributeRead & { errno: string }, dir: CounterDir): boolean {
  const { errno, during } = read;
  if (errno === "ENOENT" || errno === "EACCES" || errno === "EPERM") return true;
  if (during === "read" && (errno === "EOPNOTSUPP" || errno === "ENOTSUP")) return true;
  return dir === "counters" && errno === "EINVAL";
}

/** Directory entries; undefined when the directory does not exist (ENOENT). Other errors throw. */
function readDirectory(dir: string): fs.Dirent[] | undefined {
  if (stillMissing(dir)) return undefined;
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CollectorError(`${dir}: ${(err as Error).message}`, { cause: err });
  }
}

function byName(a: fs.Dirent, b: fs.Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** A file procfs requires: missing means no data at all, another error fails the scrape. */
function readRequired(file: string, maxBytes = 4096): string {
  const read = readSysfsAttribute(file, maxBytes);
  if (read.text !== undefined) return read.text;
  if (read.errno === "ENOENT") throw new NoInfiniBandData(`${file}: no such file`);
  throw new CollectorError(`${file}: ${read.errno}`);
}

class InfiniBandCollector implements Collector {
  readonly name = "infiniband";
  private readonly classDir: string;

  constructor(
    paths: HostPaths,
    private readonly logger: Logger,
  ) {
    this.classDir = paths.sys("class", "infiniband");
  }

  update(out: MetricSink): void {
    // Everything is read before anything is emitted: a device that turns out to have no data
    // must leave the whole scrape empty, as in node_exporter.
    const pending: Array<[MetricDesc, number, ...string[]]> = [];
    const emit = (desc: MetricDesc, value: number, ...labels: string[]) => pending.push([desc, value, ...labels]);
    const devices = readDirectory(this.classDir);
    // Most nodes: nothing to report, and no exception built to say so on every scrape.
    if (devices === undefined) return;
    try {
      for (const device of devices.sort(byName)) this.collectDevice(device.name, emit);
    } catch (err) {
      if (!(err instanceof NoInfiniBandData)) throw err;
      this.logger.debug({ reason: err.message }, "infiniband statistics not found, skipping");
      return;
    }
    for (const [desc, value, ...labels] of pending) out.add(desc, value, ...labels);
  }

  private collectDevice(device: string, emit: (desc: MetricDesc, value: number, ...labels: string[]) => void): void {
    const deviceDir = path.join(this.classDir, device);
    // fw_ver is required (every driver has it since kernel 4.10); board_id and hca_type are optional.
    const firmware = readRequired(path.join(deviceDir, "fw_ver"), SYS_READ_MAX).trim();
    const optional = (name: string) => {
      const read = readSysfsAttribute(path.join(deviceDir, name), SYS_READ_MAX);
      if (read.text !== undefined) return read.text.trim();
      if (read.errno === "ENOENT") return "";
      throw new CollectorError(`${path.join(deviceDir, name)}: ${read.errno}`);
    };
    const boardId = optional("board_id");
    const hcaType = optional("hca_type");
    const portsDir = path.join(deviceDir, "ports");
    const ports = readDirectory(portsDir);
    if (ports === undefined) throw new NoInfiniBandData(`${portsDir}: no such directory`);
    emit(infoDesc, 1, device, boardId, firmware, hcaType);

    const numbered = ports.map((entry) => {
      if (!/^\d{1,10}$/.test(entry.name) || Number(entry.name) > 0xffffffff) {
        throw new CollectorError(`${portsDir}: port ${JSON.stringify(entry.name)} is not a number`);
      }
      return { dir: entry.name, port: Number(entry.name) };
    });
    numbered.sort((a, b) => a.port - b.port);
    for (const { dir, port } of numbered) this.collectPort(device, String(port), path.join(portsDir, dir), emit);
  }

  private collectPort(
    device: string,
    port: string,
    portDir: string,
    emit: (desc: MetricDesc, value: number, ...labels: string[]) => void,
  ): void {
    // procfs requires link_layer although node_exporter does not report it.
    readRequired(path.join(portDir, "link_layer"));
    const state = parseInfiniBandState(readRequired(path.join(portDir, "state")));
    if (state === undefined) throw new CollectorError(`${portDir}/state: expected "<id>: <name>"`);
    const physState = parseInfiniBandState(readRequired(path.join(portDir, "phys_state")));
    if (physState === undefined) throw new CollectorError(`${portDir}/phys_state: expected "<id>: <name>"`);
    const rateText = readRequired(path.join(portDir, "rate"));
    const rate = parseInfiniBandRate(rateText);
    if (rate === undefined) throw new CollectorError(`${portDir}/rate: cannot parse ${JSON.stringify(rateText.trim().slice(0, 40))}`);
    emit(stateDesc, state.id, device, port);
    emit(physicalStateDesc, physState.id, device, port);
    emit(rateDesc, rate, device, port);

    // counters_ext/ is only looked at where counters/ exists, as procfs does.
    if (this.collectCounters(device, port, portDir, "counters", emit)) this.collectCounters(device, port, portDir, "counters_ext", emit);
    this.collectCounters(device, port, portDir, "hw_counters", emit);
  }

  /** Emits the known counters of one counter directory; false when the directory does not exist. */
  private collectCounters(
    device: string,
    port: string,
    portDir: string,
    dir: CounterDir,
    emit: (desc: MetricDesc, value: number, ...labels: string[]) => void,
  ): boolean {
    const counterDir = path.join(portDir, dir);
    const entries = readDirectory(counterDir);
    if (entries === undefined) return false;
    const known = COUNTER_FILES[dir];
    for (const entry of entries.sort(byName)) {
      const spec = known.get(entry.name);
      if (spec === undefined || !entry.isFile()) continue;
      const file = path.join(counterDir, entry.name);
      const read = readSysfsAttribute(file, SYS_READ_MAX);
      if (read.text === undefined) {
        if (skippedReadError(read, dir)) continue;
        throw new CollectorError(`${file}: ${read.errno}`);
      }
      const text = read.text.trim();
      const value = parseCounterValue(text);
      if (value === undefined) {
        // iWARP drivers without a performance management agent print "N/A (no PMA)".
        if (text.includes("N/A (no PMA)")) continue;
        throw new CollectorError(`${file}: expected an unsigned integer, got ${JSON.stringify(text.slice(0, 40))}`);
      }
      let reported = value;
      if (spec.times4 === true) reported = (value * 4n) & MAX_UINT64; // Go's uint64 multiplication wraps
      if (spec.millisToSeconds === true) reported = value / 1000n;
      emit(spec.desc, Number(reported), device, port);
    }
    return true;
  }
}

export const collector: CollectorDefinition = {
  name: "infiniband",
  defaultEnabled: true,
  create({ paths, logger }) {
    return new InfiniBandCollector(paths, logger);
  },
};
