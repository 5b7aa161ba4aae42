import path from "node:path";
import type { Logger } from "pino";
import type { HostPaths } from "../../host/paths.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { gauge, type MetricDesc, type MetricSink } from "../model.js";
import { readSysfsAttribute } from "../sysfs-attribute.js";
import { COUNTER_FILES, PORT_LABELS, type CounterDir } from "./infiniband-counters.js";
import {
  MAX_UINT64,
  NoInfiniBandData,
  SYS_READ_MAX,
  byName,
  parseCounterValue,
  parseInfiniBandRate,
  parseInfiniBandState,
  readDirectory,
  readRequired,
  skippedReadError,
} from "./infiniband-sysfs.js";

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

const infoDesc = gauge("node_infiniband_info", "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.", [
  "device",
  "board_id",
  "firmware_version",
  "hca_type",
]);
const stateDesc = gauge(
  "node_infiniband_state_id",
  "State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)",
  PORT_LABELS,
);
const physicalStateDesc = gauge(
  "node_infiniband_physical_state_id",
  "Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, 4: shift, 5: link up, 6: link error recover, 7: phytest)",
  PORT_LABELS,
);
const rateDesc = gauge("node_infiniband_rate_bytes_per_second", "Maximum signal transfer rate", PORT_LABELS);

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
