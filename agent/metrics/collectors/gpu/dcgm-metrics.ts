import type { MetricDesc, MetricSink, MetricType } from "../../model.js";
import type { NvmlDevice, NvmlMigDevice, Reading } from "./nvml-addon.js";

/**
 * NVML readings as dcgm-exporter serves them: its metric names (DCGM field names), types, HELP
 * texts (etc/default-counters.csv) and units, and its labels, so that NVIDIA's DCGM dashboard and
 * alerts written for dcgm-exporter work unchanged. Pure: readings in, samples out.
 *
 * Units follow DCGM, not Prometheus' base units: MiB, MHz, W, mJ, %, and KB/s for the PCIe
 * "throughput" families, which dcgm-exporter declares as counters although their values are rates
 * (NVML samples them over 20 ms); kept so, for the dashboards. Where nodetap adds something of its
 * own, the name starts with nodetap_ (see docs/gpu.md).
 */

interface Family {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** The NVML reading, and what turns it into the DCGM unit. */
  readonly reading: Reading;
  readonly convert?: (raw: number) => number;
}

/** Bytes to whole MiB, as DCGM divides NVML's byte counts. */
const MIB = (bytes: number) => Math.floor(bytes / 1048576);
/** NVML's milliwatts to watts. */
const WATTS = (milliwatts: number) => milliwatts / 1000;

/** In dcgm-exporter's default-counters.csv order, then the ones it leaves commented out or optional. */
export const GPU_FAMILIES: readonly Family[] = [
  { name: "DCGM_FI_DEV_SM_CLOCK", type: "gauge", help: "SM clock frequency (in MHz).", reading: "clock_sm" },
  { name: "DCGM_FI_DEV_MEM_CLOCK", type: "gauge", help: "Memory clock frequency (in MHz).", reading: "clock_mem" },
  { name: "DCGM_FI_DEV_MEMORY_TEMP", type: "gauge", help: "Memory temperature (in C).", reading: "temp_mem" },
  { name: "DCGM_FI_DEV_GPU_TEMP", type: "gauge", help: "GPU temperature (in C).", reading: "temp_gpu" },
  { name: "DCGM_FI_DEV_POWER_USAGE", type: "gauge", help: "Power draw (in W).", reading: "power_mw", convert: WATTS },
  {
    name: "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    type: "counter",
    help: "Total energy consumption since boot (in mJ).",
    reading: "energy_mj",
  },
  {
    name: "DCGM_FI_DEV_PCIE_TX_THROUGHPUT",
    type: "counter",
    help: "Total number of bytes transmitted through PCIe TX (in KB) via NVML.",
    reading: "pcie_tx_kbs",
  },
  {
    name: "DCGM_FI_DEV_PCIE_RX_THROUGHPUT",
    type: "counter",
    help: "Total number of bytes received through PCIe RX (in KB) via NVML.",
    reading: "pcie_rx_kbs",
  },
  { name: "DCGM_FI_DEV_PCIE_REPLAY_COUNTER", type: "counter", help: "Total number of PCIe retries.", reading: "pcie_replay" },
  { name: "DCGM_FI_DEV_GPU_UTIL", type: "gauge", help: "GPU utilization (in %).", reading: "util_gpu" },
  { name: "DCGM_FI_DEV_MEM_COPY_UTIL", type: "gauge", help: "Memory utilization (in %).", reading: "util_mem" },
  { name: "DCGM_FI_DEV_ENC_UTIL", type: "gauge", help: "Encoder utilization (in %).", reading: "util_enc" },
  { name: "DCGM_FI_DEV_DEC_UTIL", type: "gauge", help: "Decoder utilization (in %).", reading: "util_dec" },
  { name: "DCGM_FI_DEV_FB_FREE", type: "gauge", help: "Framebuffer memory free (in MiB).", reading: "mem_free", convert: MIB },
  { name: "DCGM_FI_DEV_FB_USED", type: "gauge", help: "Framebuffer memory used (in MiB).", reading: "mem_used", convert: MIB },
  { name: "DCGM_FI_DEV_FB_TOTAL", type: "gauge", help: "Framebuffer memory total (in MiB).", reading: "mem_total", convert: MIB },
  { name: "DCGM_FI_DEV_FB_RESERVED", type: "gauge", help: "Framebuffer memory reserved (in MiB).", reading: "mem_reserved", convert: MIB },
  {
    name: "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
    type: "counter",
    help: "Total number of single-bit volatile ECC errors.",
    reading: "ecc_sbe_vol",
  },
  {
    name: "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
    type: "counter",
    help: "Total number of double-bit volatile ECC errors.",
    reading: "ecc_dbe_vol",
  },
  {
    name: "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL",
    type: "counter",
    help: "Total number of single-bit persistent ECC errors.",
    reading: "ecc_sbe_agg",
  },
  {
    name: "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL",
    type: "counter",
    help: "Total number of double-bit persistent ECC errors.",
    reading: "ecc_dbe_agg",
  },
  {
    name: "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",
    type: "counter",
    help: "Total number of NVLink bandwidth counters for all lanes.",
    reading: "nvlink_total_kib",
  },
  {
    name: "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
    type: "counter",
    help: "Number of remapped rows for uncorrectable errors",
    reading: "remap_unc",
  },
  {
    name: "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
    type: "counter",
    help: "Number of remapped rows for correctable errors",
    reading: "remap_cor",
  },
  { name: "DCGM_FI_DEV_ROW_REMAP_FAILURE", type: "gauge", help: "Whether remapping of rows has failed", reading: "remap_failure" },
  { name: "DCGM_FI_DEV_ROW_REMAP_PENDING", type: "gauge", help: "Whether remapping of rows is pending", reading: "remap_pending" },
  {
    name: "DCGM_FI_DEV_CLOCKS_EVENT_REASONS",
    type: "gauge",
    help: "Current clock event reasons (bitmask of DCGM_CLOCKS_EVENT_REASON_*).",
    reading: "clocks_event_reasons",
  },
  {
    name: "DCGM_FI_DEV_POWER_MGMT_LIMIT",
    type: "gauge",
    help: "Power management limit (in W).",
    reading: "power_limit_mw",
    convert: WATTS,
  },
  { name: "DCGM_FI_DEV_FAN_SPEED", type: "gauge", help: "Fan speed for the device in percent 0-100.", reading: "fan_speed" },
];

/** What a MIG instance has of its own: its share of the frame buffer. */
export const MIG_FAMILIES: readonly Family[] = GPU_FAMILIES.filter((f) =>
  ["DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_TOTAL"].includes(f.name),
);

export const XID_FAMILY = { name: "DCGM_FI_DEV_XID_ERRORS", help: "Value of the last XID error encountered." };
export const XID_COUNT_FAMILY = {
  name: "nodetap_gpu_xid_errors_total",
  help: "XID errors the kernel logged for this GPU (NVRM: Xid lines in the node's logs), by XID.",
};
export const NVML_UP_FAMILY = {
  name: "nodetap_gpu_nvml_up",
  help: "Whether NVML answered in this scrape (1) or failed to open or read the GPUs (0; the log says why).",
};
export const INFO_FAMILY = {
  name: "nodetap_gpu_info",
  help: "A GPU NVML sees, with its driver version; value 1.",
};

/** The labels of one GPU's series, in dcgm-exporter's order; MIG and pod labels appended when they apply. */
export interface GpuLabels {
  readonly names: readonly string[];
  readonly values: readonly string[];
}

export interface PodRef {
  readonly pod: string;
  readonly namespace: string;
  readonly container: string;
}

/** dcgm-exporter's labels of every GPU series; DCGM_FI_DRIVER_VERSION as its default metrics file adds it. */
const GPU_LABEL_NAMES = ["gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname", "DCGM_FI_DRIVER_VERSION"];

export function gpuLabels(device: NvmlDevice, hostname: string, driverVersion: string, owner: PodRef | undefined): GpuLabels {
  const names = GPU_LABEL_NAMES;
  const values = [
    String(device.index),
    device.uuid,
    device.pciBusId,
    Number.isFinite(device.minor) ? `nvidia${device.minor}` : "",
    device.name,
    hostname,
    driverVersion,
  ];
  return withOwner({ names, values }, owner);
}

/**
 * The GPU instance profile of a MIG device from its name: "NVIDIA H200 MIG 3g.71gb" -> "3g.71gb",
 * and "NVIDIA H200 MIG 1c.3g.71gb" (a compute instance of part of a GPU instance) -> "3g.71gb".
 */
export function migProfile(name: string): string {
  const match = /\bMIG\s+(?:\d+c\.)?(\S+)\s*$/.exec(name);
  return match?.[1] ?? "";
}

export function migLabels(gpu: GpuLabels, mig: NvmlMigDevice, owner: PodRef | undefined): GpuLabels {
  // The GPU's own pod labels (a whole GPU held by a pod) never apply to its MIG instances.
  const base = gpu.names.slice(0, GPU_LABEL_NAMES.length);
  const values = gpu.values.slice(0, GPU_LABEL_NAMES.length);
  return withOwner(
    {
      names: [...base, "GPU_I_PROFILE", "GPU_I_ID"],
      values: [...values, migProfile(mig.name), Number.isFinite(mig.gpuInstanceId) ? String(mig.gpuInstanceId) : ""],
    },
    owner,
  );
}

function withOwner(labels: GpuLabels, owner: PodRef | undefined): GpuLabels {
  if (owner === undefined) return labels;
  return {
    names: [...labels.names, "container", "namespace", "pod"],
    values: [...labels.values, owner.container, owner.namespace, owner.pod],
  };
}

/** Descriptors per family and label set: series of one family may carry MIG or pod labels, others not. */
export class DescCache {
  private readonly descs = new Map<string, MetricDesc>();

  get(name: string, type: MetricType, help: string, labelNames: readonly string[]): MetricDesc {
    const key = `${name}\u0000${labelNames.join(",")}`;
    let desc = this.descs.get(key);
    if (desc === undefined) {
      desc = { name, help, type, labelNames: [...labelNames] };
      this.descs.set(key, desc);
    }
    return desc;
  }
}

/** Emits every family whose reading the device has (NaN: NVML said the GPU has no such value). */
export function emitReadings(
  out: MetricSink,
  descs: DescCache,
  families: readonly Family[],
  value: (reading: Reading) => number,
  labels: GpuLabels,
): void {
  for (const family of families) {
    const raw = value(family.reading);
    if (!Number.isFinite(raw)) continue;
    const desc = descs.get(family.name, family.type, family.help, labels.names);
    out.add(desc, family.convert === undefined ? raw : family.convert(raw), ...labels.values);
  }
}
