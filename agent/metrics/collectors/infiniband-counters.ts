import { counter, gauge, type MetricDesc } from "../model.js";

/** The counter files of an InfiniBand port that node_exporter reports, by counter directory, with the metric family of each. */

/** The labels of every per-port series. */
export const PORT_LABELS = ["device", "port"];

export interface CounterFile {
  readonly file: string;
  readonly desc: MetricDesc;
  /** port_{rcv,xmit}_data{,_64} count 4-octet words per lane ("divided by 4 unconditionally"): procfs multiplies them by 4. */
  readonly times4?: boolean;
  /** hw_counters/lifespan is in milliseconds and reported as a gauge in whole seconds. */
  readonly millisToSeconds?: boolean;
}

function ibCounter(file: string, name: string, help: string, extra: Partial<CounterFile> = {}): CounterFile {
  return { file, desc: counter(`node_infiniband_${name}`, help, PORT_LABELS), ...extra };
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
      PORT_LABELS,
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

export const COUNTER_FILES = {
  counters: new Map(COUNTERS.map((c) => [c.file, c])),
  counters_ext: new Map(LEGACY_COUNTERS.map((c) => [c.file, c])),
  hw_counters: new Map(HW_COUNTERS.map((c) => [c.file, c])),
} as const;
export type CounterDir = keyof typeof COUNTER_FILES;
