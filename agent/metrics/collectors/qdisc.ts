import path from "node:path";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { excludeIncludeFilter } from "../filter-flags.js";
import { counter, gauge } from "../model.js";
import { decodeArray, decodeStruct, numberField, readFixtureJson, stringField, type StructSpec } from "./recorded-netlink.js";

/**
 * node_exporter's qdisc collector (collector/qdisc_linux.go): statistics of each network
 * device's root queuing discipline, filtered by device name. node_exporter asks the kernel over
 * rtnetlink (TC) through github.com/ema/qdisc; no /proc or /sys file holds these counters, and
 * nodetap does not read rtnetlink TC messages yet. So on a live host the collector emits nothing
 * and says so once in the log. With --collector.qdisc.fixtures=<dir> it serves the recorded
 * answers in <dir>/results.json exactly as node_exporter does (its end-to-end test).
 */

const LABELS = ["device", "kind"];
const bytesDesc = counter("node_qdisc_bytes_total", "Number of bytes sent.", LABELS);
const packetsDesc = counter("node_qdisc_packets_total", "Number of packets sent.", LABELS);
const dropsDesc = counter("node_qdisc_drops_total", "Number of packets dropped.", LABELS);
const requeuesDesc = counter("node_qdisc_requeues_total", "Number of packets dequeued, not transmitted, and requeued.", LABELS);
const overlimitsDesc = counter("node_qdisc_overlimits_total", "Number of overlimit packets.", LABELS);
const qlenDesc = gauge("node_qdisc_current_queue_length", "Number of packets currently in queue to be sent.", LABELS);
const backlogDesc = gauge("node_qdisc_backlog", "Number of bytes currently in queue to be sent.", LABELS);

export const QDISC_LIVE_UNSUPPORTED =
  "qdisc collector: live queuing discipline statistics need rtnetlink (TC) messages, which nodetap does not read yet; emitting nothing (set --collector.qdisc.fixtures to serve recorded answers)";

/** ema/qdisc's QdiscInfo, as encoding/json fills it. */
export interface QdiscInfo {
  readonly ifaceName: string;
  readonly parent: number;
  readonly handle: number;
  readonly kind: string;
  readonly bytes: number;
  readonly packets: number;
  readonly drops: number;
  readonly requeues: number;
  readonly overlimits: number;
  readonly qlen: number;
  readonly backlog: number;
}

const QDISC_INFO: StructSpec = {
  ifacename: "string",
  parent: "uint32",
  handle: "uint32",
  kind: "string",
  bytes: "uint64",
  packets: "uint32",
  drops: "uint32",
  requeues: "uint32",
  overlimits: "uint32",
  gcflows: "uint64",
  throttled: "uint64",
  flowsplimit: "uint64",
  qlen: "uint32",
  backlog: "uint32",
};

/** A results.json document: an array of QdiscInfo (a null element is a zero QdiscInfo, as in Go). */
export function parseQdiscResults(json: unknown, what = "results.json"): QdiscInfo[] {
  return decodeArray(json, what).map((item, i) => {
    const f = decodeStruct(item, QDISC_INFO, `${what}[${i}]`);
    return {
      ifaceName: stringField(f, "ifacename"),
      parent: numberField(f, "parent"),
      handle: numberField(f, "handle"),
      kind: stringField(f, "kind"),
      bytes: numberField(f, "bytes"),
      packets: numberField(f, "packets"),
      drops: numberField(f, "drops"),
      requeues: numberField(f, "requeues"),
      overlimits: numberField(f, "overlimits"),
      qlen: numberField(f, "qlen"),
      backlog: numberField(f, "backlog"),
    };
  });
}

export const collector: CollectorDefinition = {
  name: "qdisc",
  defaultEnabled: false,
  create({ config, logger }) {
    const options = config.collectors.qdisc;
    const filter = excludeIncludeFilter(options.deviceExclude, options.deviceInclude, "", "qdisc", logger);
    let warned = false;
    return {
      name: "qdisc",
      update(out) {
        if (options.fixtures === "") {
          if (!warned) logger.warn(QDISC_LIVE_UNSUPPORTED);
          warned = true;
          return;
        }
        const file = path.join(options.fixtures, "results.json");
        const json = readFixtureJson(file);
        if (json === undefined) throw new CollectorError(`${file}: file not found`);
        for (const q of parseQdiscResults(json, file)) {
          // Only root qdiscs, as node_exporter reports by default.
          if (q.parent !== 0 || filter.ignored(q.ifaceName)) continue;
          out.add(bytesDesc, q.bytes, q.ifaceName, q.kind);
          out.add(packetsDesc, q.packets, q.ifaceName, q.kind);
          out.add(dropsDesc, q.drops, q.ifaceName, q.kind);
          out.add(requeuesDesc, q.requeues, q.ifaceName, q.kind);
          out.add(overlimitsDesc, q.overlimits, q.ifaceName, q.kind);
          out.add(qlenDesc, q.qlen, q.ifaceName, q.kind);
          out.add(backlogDesc, q.backlog, q.ifaceName, q.kind);
        }
      },
    };
  },
};
