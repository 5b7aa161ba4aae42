import { Counter, Gauge, type Registry } from "prom-client";

/** Self-metrics of routing with several sinks (the single-sink pipeline registers none of these). */
export class RoutingMetrics {
  readonly sinkInFlightBytes: Gauge<"sink">;
  readonly sinkInFlightLimitBytes: Gauge<"sink">;
  readonly routed: Counter<"route">;
  readonly unrouted: Counter;
  readonly blockedFiles: Gauge<"sink">;

  constructor(registry: Registry, blockedBySink: () => Map<string, number>) {
    const registers = [registry];
    this.sinkInFlightBytes = new Gauge({
      name: "nodetap_log_sink_in_flight_bytes",
      help: "Bytes of records queued or in flight to each sink, not yet acknowledged.",
      labelNames: ["sink"],
      registers,
    });
    this.sinkInFlightLimitBytes = new Gauge({
      name: "nodetap_log_sink_in_flight_limit_bytes",
      help: "Each sink's in-flight budget (logs.sinks.<name>.maxInFlightBytes, or its share of logs.maxInFlightBytes); past it the files with records waiting on it stop being read.",
      labelNames: ["sink"],
      registers,
    });
    this.routed = new Counter({
      name: "nodetap_log_route_records_total",
      help: "Records each route matched (a record may match several routes).",
      labelNames: ["route"],
      registers,
    });
    this.unrouted = new Counter({
      name: "nodetap_log_records_unrouted_total",
      help: "Records no route matched: sent nowhere and counted as delivered (add a route without match to catch them).",
      registers,
    });
    this.blockedFiles = new Gauge({
      name: "nodetap_log_files_blocked",
      help: "Files (or the journal) not read on because records of theirs wait on this sink, which is at its in-flight budget.",
      labelNames: ["sink"],
      registers,
      collect() {
        this.reset();
        for (const [sink, files] of blockedBySink()) this.set({ sink }, files);
      },
    });
  }
}
