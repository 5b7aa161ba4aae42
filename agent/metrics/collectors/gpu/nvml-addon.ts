import { addonCandidates } from "../../../host/adjtimex.js";
import { findAddon } from "../../../host/native-addon.js";

/**
 * nodetap's NVML addon (native/nvml/nvml.c, built into nvml.node next to timex.node): the driver's
 * libnvidia-ml.so.1 dlopen'ed at run time, every NVML call on a thread of its own so that a wedged
 * GPU never blocks the event loop. This module loads the addon and names its readings.
 */

/** The addon's readings, in the order of its Float64Arrays (native/nvml/nvml.c READING_NAMES). */
export const READINGS = [
  "util_gpu",
  "util_mem",
  "util_enc",
  "util_dec",
  "mem_total",
  "mem_reserved",
  "mem_free",
  "mem_used",
  "power_mw",
  "power_limit_mw",
  "energy_mj",
  "temp_gpu",
  "temp_mem",
  "clock_sm",
  "clock_mem",
  "pcie_replay",
  "pcie_tx_kbs",
  "pcie_rx_kbs",
  "clocks_event_reasons",
  "remap_cor",
  "remap_unc",
  "remap_pending",
  "remap_failure",
  "ecc_sbe_vol",
  "ecc_dbe_vol",
  "ecc_sbe_agg",
  "ecc_dbe_agg",
  "nvlink_tx_kib",
  "nvlink_rx_kib",
  "fan_speed",
] as const;

/** A reading of the addon, or one derived from them (NVLink TX + RX). */
export type Reading = (typeof READINGS)[number] | "nvlink_total_kib";

export interface NvmlMigDevice {
  readonly index: number;
  /** NaN when NVML did not say. */
  readonly gpuInstanceId: number;
  readonly computeInstanceId: number;
  /** e.g. "NVIDIA H200 MIG 3g.71gb". */
  readonly name: string;
  /** "MIG-..." as the device plugin lists it in the kubelet's pod resources. */
  readonly uuid: string;
  readonly values: Float64Array;
}

export interface NvmlDevice {
  readonly index: number;
  /** /dev/nvidia<minor>; NaN when NVML did not say. */
  readonly minor: number;
  readonly name: string;
  readonly uuid: string;
  /** NVML's form, "00000000:83:00.0". */
  readonly pciBusId: string;
  /** 1 MIG on, 0 off, -1 not supported. */
  readonly migMode: number;
  /** Non-empty when the device could not be read at all (e.g. "NVML_ERROR_GPU_IS_LOST: ..."). */
  readonly error: string;
  readonly values: Float64Array;
  readonly migs: readonly NvmlMigDevice[];
}

export interface NvmlSample {
  readonly devices: readonly NvmlDevice[];
}

export interface NvmlOpenInfo {
  readonly driverVersion: string;
  readonly nvmlVersion: string;
  readonly library: string;
}

export interface NvmlAddon {
  open(library: string): Promise<NvmlOpenInfo>;
  sample(): Promise<NvmlSample>;
  readonly readingNames: readonly string[];
}

/** The addon is missing or is not nodetap's NVML addon; the message says what was tried. */
export class NvmlAddonUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NvmlAddonUnavailableError";
  }
}

const HOW_TO_BUILD =
  "build it with `npm run build:native` (needs a C compiler and Node's headers, no NVIDIA files; the image and the single " +
  "binary's release ship nvml.node next to the executable), or set metrics.collectors.gpu.nativeAddon";

export const NVML_ADDON_FILE = "nvml.node";

/** Loads the first candidate that exists and is the NVML addon whose readings this module knows. */
export function loadNvmlAddon(configured: string): NvmlAddon {
  // undefined takes addonCandidates' defaults: this executable's directory, then nodetap's package.
  const all = addonCandidates(configured, undefined, undefined, NVML_ADDON_FILE);
  const found = findAddon(all, (e) => {
    const names = e.readingNames;
    if (typeof e.sample !== "function" || !Array.isArray(names)) return "is not nodetap's NVML addon";
    if (names.join(",") !== READINGS.join(",")) return "is from another nodetap version (its readings differ from this agent's)";
    return undefined;
  });
  if (found.exports) return found.exports as unknown as NvmlAddon;
  if (found.failures.length === 0)
    throw new NvmlAddonUnavailableError(`the NVML addon is missing: no ${all.join(" or ")}; ${HOW_TO_BUILD}`);
  throw new NvmlAddonUnavailableError(`the NVML addon is unusable: ${found.failures.join("; ")}; ${HOW_TO_BUILD}`);
}

const READING_INDEX = new Map<string, number>(READINGS.map((name, i) => [name, i]));

/** One reading of a device's values; NaN when the GPU has no such value. */
export function reading(values: Float64Array, name: Reading): number {
  if (name === "nvlink_total_kib") {
    const tx = values[READING_INDEX.get("nvlink_tx_kib")!]!;
    const rx = values[READING_INDEX.get("nvlink_rx_kib")!]!;
    return tx + rx;
  }
  return values[READING_INDEX.get(name)!]!;
}
