import type { Logger } from "pino";
import { AdjtimexUnavailableError, loadAdjtimex, type AdjtimexAddon, type RawTimex } from "../../host/adjtimex.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { counter, gauge, type MetricDesc, type MetricSink } from "../model.js";

/**
 * node_exporter's timex collector (collector/timex.go): the kernel's clock discipline state from
 * adjtimex(2), read through nodetap's native addon (host/adjtimex.ts). The node-mixin's
 * NodeClockNotSynchronising and NodeClockSkewDetected alerts use offset, sync_status and maxerror.
 */

const offset = gauge("node_timex_offset_seconds", "Time offset in between local system and reference clock.");
const freq = gauge("node_timex_frequency_adjustment_ratio", "Local clock frequency adjustment.");
const maxerror = gauge("node_timex_maxerror_seconds", "Maximum error in seconds.");
const esterror = gauge("node_timex_estimated_error_seconds", "Estimated error in seconds.");
const status = gauge("node_timex_status", "Value of the status array bits.");
const constant = gauge("node_timex_loop_time_constant", "Phase-locked loop time constant.");
const tick = gauge("node_timex_tick_seconds", "Seconds between clock ticks.");
const ppsfreq = gauge("node_timex_pps_frequency_hertz", "Pulse per second frequency.");
const jitter = gauge("node_timex_pps_jitter_seconds", "Pulse per second jitter.");
const shift = gauge("node_timex_pps_shift_seconds", "Pulse per second interval duration.");
const stabil = gauge("node_timex_pps_stability_hertz", "Pulse per second stability, average of recent frequency changes.");
const jitcnt = counter("node_timex_pps_jitter_total", "Pulse per second count of jitter limit exceeded events.");
const calcnt = counter("node_timex_pps_calibration_total", "Pulse per second count of calibration intervals.");
const errcnt = counter("node_timex_pps_error_total", "Pulse per second count of calibration errors.");
const stbcnt = counter("node_timex_pps_stability_exceeded_total", "Pulse per second count of stability limit exceeded events.");
const tai = gauge("node_timex_tai_offset_seconds", "International Atomic Time (TAI) offset.");
const syncStatus = gauge("node_timex_sync_status", "Is clock synchronized to a reliable server (1 = yes, 0 = no).");

/** adjtimex's return value when the clock is not synchronised to a reliable server. */
export const TIME_ERROR = 5;
/** status bit: offset and PPS jitter are in nanoseconds (else microseconds). */
export const STA_NANO = 0x2000;
/** adjtimex(2) NOTES: freq, ppsfreq and stabil are ppm with a 16-bit fraction. */
const PPM16FRAC = 1000000.0 * 65536.0;
const NANOSECONDS = 1e9;
const MICROSECONDS = 1e6;

/** node_exporter's conversion of the raw struct timex into its metrics, in its order. */
export function timexSamples(raw: RawTimex): Array<[MetricDesc, number]> {
  const divisor = (raw.status & STA_NANO) !== 0 ? NANOSECONDS : MICROSECONDS;
  return [
    [syncStatus, raw.state === TIME_ERROR ? 0 : 1],
    [offset, raw.offset / divisor],
    [freq, 1 + raw.freq / PPM16FRAC],
    [maxerror, raw.maxerror / MICROSECONDS],
    [esterror, raw.esterror / MICROSECONDS],
    [status, raw.status],
    [constant, raw.constant],
    [tick, raw.tick / MICROSECONDS],
    [ppsfreq, raw.ppsfreq / PPM16FRAC],
    [jitter, raw.jitter / divisor],
    [shift, raw.shift],
    [stabil, raw.stabil / PPM16FRAC],
    [jitcnt, raw.jitcnt],
    [calcnt, raw.calcnt],
    [errcnt, raw.errcnt],
    [stbcnt, raw.stbcnt],
    [tai, raw.tai],
  ];
}

class TimexCollector implements Collector {
  readonly name = "timex";
  private deniedLogged = false;

  constructor(
    private readonly load: () => AdjtimexAddon,
    private readonly logger: Logger,
  ) {}

  update(out: MetricSink): void {
    let addon: AdjtimexAddon;
    try {
      addon = this.load();
    } catch (err) {
      if (err instanceof AdjtimexUnavailableError) throw new CollectorError(err.message, { cause: err });
      throw err;
    }
    let raw: RawTimex;
    try {
      raw = addon.read();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === "EPERM" || code === "EACCES") {
        // As node_exporter (ErrNoData): a sandbox that denies even the read-only call means no data here.
        if (!this.deniedLogged) this.logger.debug({ err }, "adjtimex denied: not collecting timex metrics");
        this.deniedLogged = true;
        return;
      }
      throw new CollectorError(`failed to retrieve adjtimex stats: ${(err as Error).message}`, { cause: err });
    }
    for (const [desc, value] of timexSamples(raw)) out.add(desc, value);
  }
}

export const collector: CollectorDefinition = {
  name: "timex",
  defaultEnabled: true,
  create({ config, logger }) {
    const configured = config.collectors.timex.nativeAddon;
    return new TimexCollector(() => loadAdjtimex(configured), logger);
  },
};

/** For tests: a timex collector reading from a given addon loader. */
export function createTimexCollector(load: () => AdjtimexAddon, logger: Logger): Collector {
  return new TimexCollector(load, logger);
}
