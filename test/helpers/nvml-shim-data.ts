/**
 * From a recorded nvidia-smi capture (test/fixtures/nvidia-smi) and a state (idle, load): the data
 * file the stand-in NVML library reads (test/fixtures/nvml-shim/nvml-shim.c, env NVML_SHIM_DATA),
 * and the values the agent must serve for it, in dcgm-exporter's names and units.
 *
 * Where each fact comes from (one source per fact; the -q report and the CSV were taken about a
 * second apart, so a fast-changing reading can differ between them, see gpu-capture.test.ts):
 *   -q report: name, uuid, PCI bus id and ids, minor number, utilization (GPU, memory, encoder,
 *     decoder), FB memory (total, reserved, used, free), temperatures (GPU, memory), SM and memory
 *     clocks, PCIe replays and TX/RX throughput, remapped rows, fan speed, MIG mode, MIG devices;
 *   query-gpu CSV: power.draw (what nvmlDeviceGetPowerUsage returns), enforced.power.limit,
 *     clocks_event_reasons.active, the four ECC totals;
 *   `--version`: driver and CUDA versions (the NVML version, see below); `-L`: the MIG devices'
 *     profiles and (masked) UUIDs.
 * Not recorded anywhere, so absent (the shim answers NVML_ERROR_NOT_SUPPORTED) unless a test sets
 * them through overrides: energy_mj, nvlink_tx_kib, nvlink_rx_kib.
 * Derived or synthesized (not recorded as NVML returns them):
 *   nvml: "<CUDA major>.<driver>" (e.g. 13.590.48.01), the form nvmlSystemGetNVMLVersion returned
 *     on a real 580.159.04 driver (13.580.159.04, CUDA 13.0) while nvidia-smi printed "580.159";
 *   mig_max: 7 (Hopper's MIG device maximum) when MIG is enabled, 0 when disabled (what the real
 *     580 driver returned on an H200 with MIG disabled);
 *   a MIG device's name "<product> MIG <profile>": the profile is recorded by `nvidia-smi -L`,
 *     the spelling around it is NVML's MIG device naming, not recorded.
 */
import fs from "node:fs";
import path from "node:path";
import {
  type Capture,
  type CaptureState,
  type QNode,
  csvHex,
  csvNumber,
  getSection,
  loadCapture,
  parseGpuList,
  parseQueryGpuCsv,
  parseQueryReport,
  parseReading,
  parseVersion,
  qNode,
  qNodes,
  qNumber,
  qValue,
} from "./nvidia-smi-capture.js";

/** Per-GPU keys of the shim data file (`gpu <i> <key> <value>`); a key left out = NVML_ERROR_NOT_SUPPORTED. */
export const GPU_KEYS = [
  "name",
  "uuid",
  "pci_bus_id",
  "pci_device_id",
  "pci_subsystem_id",
  "minor",
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
  "mig_mode_current",
  "mig_mode_pending",
  "mig_max",
] as const;
export type GpuKey = (typeof GPU_KEYS)[number];

/** Per-MIG-device keys (`mig <gpu i> <mig index> <key> <value>`). */
export const MIG_KEYS = ["gi", "ci", "name", "uuid", "mem_total", "mem_reserved", "mem_free", "mem_used"] as const;
export type MigKey = (typeof MIG_KEYS)[number];

export interface ShimMig {
  /** The MIG device index (nvmlDeviceGetMigDeviceHandleByIndex). */
  index: number;
  facts: Partial<Record<MigKey, string>>;
}

export interface ShimGpu {
  facts: Partial<Record<GpuKey, string>>;
  migs: ShimMig[];
}

export interface ShimData {
  driver: string;
  nvml: string;
  /** In NVML index order. */
  gpus: ShimGpu[];
  /** Where each GPU came from, for the data file's comments. */
  sources: string[];
}

/** A fact override: a value to serve, or null to leave the key out (NOT_SUPPORTED). */
export type FactOverride = string | number | bigint | null;

export interface GpuSource {
  /** A capture (or its file name) and the state whose readings to serve. */
  capture: Capture | string;
  state: CaptureState;
  /** Which GPU of the capture (its position in the -q report; every recorded capture has one). Default 0. */
  gpu?: number;
  /** Replace or remove facts (e.g. synthetic uuid/pci_bus_id/minor to put two captures on one node, or an energy_mj value). */
  overrides?: Partial<Record<GpuKey, FactOverride>>;
  /** Per MIG device index: replace or remove its facts. */
  migOverrides?: Record<number, Partial<Record<MigKey, FactOverride>>>;
}

/** The Hopper MIG device maximum (7 GPU slices) with MIG enabled: not recorded by the captures. */
export const SYNTHETIC_MIG_MAX = 7;
const MIB = 1048576n;

function mibToBytes(mib: number | undefined): string | undefined {
  return mib === undefined ? undefined : (BigInt(mib) * MIB).toString();
}

function yesNo(value: string | undefined, what: string): string | undefined {
  if (value === undefined || value === "N/A") return undefined;
  if (value === "Yes") return "1";
  if (value === "No") return "0";
  throw new Error(`${what}: expected Yes/No, got ${value}`);
}

function migMode(value: string | undefined, what: string): string | undefined {
  if (value === undefined || value === "N/A") return undefined;
  if (value === "Enabled") return "1";
  if (value === "Disabled") return "0";
  throw new Error(`${what}: expected Enabled/Disabled, got ${value}`);
}

function str(v: number | undefined): string | undefined {
  return v === undefined ? undefined : String(v);
}

function setFacts<K extends string>(into: Partial<Record<K, string>>, facts: Partial<Record<K, string | undefined>>): void {
  for (const [k, v] of Object.entries(facts) as Array<[K, string | undefined]>) if (v !== undefined) into[k] = v;
}

function applyOverrides<K extends string>(
  facts: Partial<Record<K, string>>,
  overrides: Partial<Record<K, FactOverride>> | undefined,
): void {
  for (const [k, v] of Object.entries(overrides ?? {}) as Array<[K, FactOverride]>) {
    if (v === null) delete facts[k];
    else facts[k] = typeof v === "string" ? v : v.toString();
  }
}

/** A GPU's "Remapped Rows" block: four facts, or none when the block says N/A. */
function remappedRows(gpu: QNode): Partial<Record<GpuKey, string | undefined>> {
  const node = qNode(gpu, "Remapped Rows");
  if (!node || node.children.length === 0) return {};
  return {
    remap_cor: str(qNumber(node, ["Correctable Error"], "")),
    remap_unc: str(qNumber(node, ["Uncorrectable Error"], "")),
    remap_pending: yesNo(qValue(node, "Pending"), "Remapped Rows Pending"),
    remap_failure: yesNo(qValue(node, "Remapping Failure Occurred"), "Remapping Failure Occurred"),
  };
}

/** The recorded facts of one GPU of a capture in one state (no overrides applied). */
export function recordedGpu(
  captureOrFile: Capture | string,
  state: CaptureState,
  gpuPos = 0,
): { driver: string; nvml: string; gpu: ShimGpu } {
  const capture = typeof captureOrFile === "string" ? loadCapture(captureOrFile) : captureOrFile;
  const report = parseQueryReport(getSection(capture, state, "query (-q)").body);
  const gpu = report.gpus[gpuPos];
  if (!gpu) throw new Error(`${capture.file} ${state}: no GPU ${gpuPos} in the -q report`);
  const busId = qValue(gpu, "PCI", "Bus Id");
  const csv = parseQueryGpuCsv(getSection(capture, state, "query-gpu").body);
  const row = csv.rows.find((r) => r["pci.bus_id"] === busId);
  if (!row) throw new Error(`${capture.file} ${state}: no CSV row for ${busId}`);
  const version = parseVersion(getSection(capture, "capabilities", "version").body);
  const driver = report.driverVersion;
  // CUDA version: "CUDA Version : 13.1"; the 610 driver deprecates it for "CUDA UMD version".
  const cuda = [version["cuda umd version"], version["cuda version"]].find((v) => v !== undefined && /^\d+\.\d+$/.test(v));
  if (!driver || !cuda) throw new Error(`${capture.file}: driver or CUDA version not recorded`);
  const nvml = `${cuda.split(".")[0]}.${driver}`;

  const facts: Partial<Record<GpuKey, string>> = {};
  const productName = qValue(gpu, "Product Name")!;
  setFacts<GpuKey>(facts, {
    name: productName,
    uuid: qValue(gpu, "GPU UUID"),
    pci_bus_id: busId,
    pci_device_id: qValue(gpu, "PCI", "Device Id"),
    pci_subsystem_id: qValue(gpu, "PCI", "Sub System Id"),
    minor: str(qNumber(gpu, ["Minor Number"], "")),
    util_gpu: str(qNumber(gpu, ["Utilization", "GPU"], "%")),
    util_mem: str(qNumber(gpu, ["Utilization", "Memory"], "%")),
    util_enc: str(qNumber(gpu, ["Utilization", "Encoder"], "%")),
    util_dec: str(qNumber(gpu, ["Utilization", "Decoder"], "%")),
    mem_total: mibToBytes(qNumber(gpu, ["FB Memory Usage", "Total"], "MiB")),
    mem_reserved: mibToBytes(qNumber(gpu, ["FB Memory Usage", "Reserved"], "MiB")),
    mem_used: mibToBytes(qNumber(gpu, ["FB Memory Usage", "Used"], "MiB")),
    mem_free: mibToBytes(qNumber(gpu, ["FB Memory Usage", "Free"], "MiB")),
    power_mw: str(wattsToMilliwatts(csvNumber(row, "power.draw"))),
    power_limit_mw: str(wattsToMilliwatts(csvNumber(row, "enforced.power.limit"))),
    temp_gpu: str(qNumber(gpu, ["Temperature", "GPU Current Temp"], "C")),
    temp_mem: str(qNumber(gpu, ["Temperature", "Memory Current Temp"], "C")),
    clock_sm: str(qNumber(gpu, ["Clocks", "SM"], "MHz")),
    clock_mem: str(qNumber(gpu, ["Clocks", "Memory"], "MHz")),
    pcie_replay: str(qNumber(gpu, ["PCI", "Replays Since Reset"], "")),
    pcie_tx_kbs: str(qNumber(gpu, ["PCI", "Tx Throughput"], "KB/s")),
    pcie_rx_kbs: str(qNumber(gpu, ["PCI", "Rx Throughput"], "KB/s")),
    clocks_event_reasons: hex(csvHex(row, "clocks_event_reasons.active")),
    ...remappedRows(gpu),
    ecc_sbe_vol: str(csvNumber(row, "ecc.errors.corrected.volatile.total")),
    ecc_dbe_vol: str(csvNumber(row, "ecc.errors.uncorrected.volatile.total")),
    ecc_sbe_agg: str(csvNumber(row, "ecc.errors.corrected.aggregate.total")),
    ecc_dbe_agg: str(csvNumber(row, "ecc.errors.uncorrected.aggregate.total")),
    fan_speed: str(qNumber(gpu, ["Fan Speed"], "%")),
    mig_mode_current: migMode(qValue(gpu, "MIG Mode", "Current"), "MIG Mode Current"),
    mig_mode_pending: migMode(qValue(gpu, "MIG Mode", "Pending"), "MIG Mode Pending"),
  });
  if (facts.mig_mode_current !== undefined) facts.mig_max = facts.mig_mode_current === "1" ? String(SYNTHETIC_MIG_MAX) : "0";

  // MIG devices: numbers from -q, profile and (masked) UUID from -L (recorded once, under capabilities).
  const migNodes = qNodes(gpu, "MIG Device");
  const listed = parseGpuList(getSection(capture, "capabilities", "list (-L)").body).find((g) => g.uuid === facts.uuid);
  const migs: ShimMig[] = migNodes.map((m) => {
    const index = Number(qValue(m, "Index"));
    const fromList = listed?.migs.find((l) => l.index === index);
    if (!fromList) throw new Error(`${capture.file} ${state}: MIG device ${index} is not in -L`);
    const mf: Partial<Record<MigKey, string>> = {};
    setFacts<MigKey>(mf, {
      gi: str(parseReading(qValue(m, "GPU Instance ID"))),
      ci: str(parseReading(qValue(m, "Compute Instance ID"))),
      name: `${productName} MIG ${fromList.profile}`,
      uuid: fromList.uuid,
      mem_total: mibToBytes(qNumber(m, ["Shared FB Memory Usage", "Total"], "MiB")),
      mem_reserved: mibToBytes(qNumber(m, ["Shared FB Memory Usage", "Reserved"], "MiB")),
      mem_used: mibToBytes(qNumber(m, ["Shared FB Memory Usage", "Used"], "MiB")),
      mem_free: mibToBytes(qNumber(m, ["Shared FB Memory Usage", "Free"], "MiB")),
    });
    return { index, facts: mf };
  });
  if (listed && listed.migs.length !== migs.length)
    throw new Error(`${capture.file} ${state}: -L lists ${listed.migs.length} MIG devices, -q ${migs.length}`);
  return { driver, nvml, gpu: { facts, migs } };
}

function wattsToMilliwatts(w: number | undefined): number | undefined {
  return w === undefined ? undefined : Math.round(w * 1000);
}

function hex(v: bigint | undefined): string | undefined {
  return v === undefined ? undefined : `0x${v.toString(16).padStart(16, "0")}`;
}

/**
 * The shim's data for one or more recorded GPUs (one source = one NVML device, in order). Every
 * GPU must have its own uuid, pci_bus_id and minor: all captures mask the UUID to
 * GPU-00000000-..., so putting two on one node takes overrides (synthetic identifiers).
 */
export function shimData(sources: GpuSource | GpuSource[]): ShimData {
  const list = Array.isArray(sources) ? sources : [sources];
  if (list.length === 0) throw new Error("no GPU");
  let driver = "";
  let nvml = "";
  const gpus: ShimGpu[] = [];
  const names: string[] = [];
  list.forEach((src, i) => {
    const rec = recordedGpu(src.capture, src.state, src.gpu ?? 0);
    if (i === 0) ({ driver, nvml } = rec);
    else if (rec.driver !== driver)
      throw new Error(`GPU ${i} was recorded with driver ${rec.driver}, GPU 0 with ${driver}: one node has one driver`);
    applyOverrides(rec.gpu.facts, src.overrides);
    for (const [idx, ov] of Object.entries(src.migOverrides ?? {})) {
      const mig = rec.gpu.migs.find((m) => m.index === Number(idx));
      if (!mig) throw new Error(`GPU ${i} has no MIG device ${idx}`);
      applyOverrides(mig.facts, ov);
    }
    gpus.push(rec.gpu);
    const file = typeof src.capture === "string" ? src.capture : src.capture.file;
    names.push(`${file} ${src.state}${src.overrides || src.migOverrides ? " (with overrides)" : ""}`);
  });
  for (const key of ["uuid", "pci_bus_id", "minor"] as const) {
    const seen = new Map<string, number>();
    gpus.forEach((g, i) => {
      const v = g.facts[key];
      if (v === undefined) return;
      if (seen.has(v)) throw new Error(`GPUs ${seen.get(v)} and ${i} share ${key} ${v}: give one a synthetic ${key} through overrides`);
      seen.set(v, i);
    });
  }
  return { driver, nvml, gpus, sources: names };
}

/** The data file's text (format: see nvml-shim.c). */
export function renderShimData(data: ShimData): string {
  const lines = ["# nvml-shim data, generated by test/helpers/nvml-shim-data.ts from:"];
  data.sources.forEach((s, i) => lines.push(`#   GPU ${i}: test/fixtures/nvidia-smi/${s}`));
  lines.push(`driver ${data.driver}`, `nvml ${data.nvml}`, `count ${data.gpus.length}`);
  data.gpus.forEach((g, i) => {
    for (const key of GPU_KEYS) if (g.facts[key] !== undefined) lines.push(`gpu ${i} ${key} ${g.facts[key]}`);
    for (const m of g.migs)
      for (const key of MIG_KEYS) if (m.facts[key] !== undefined) lines.push(`mig ${i} ${m.index} ${key} ${m.facts[key]}`);
  });
  return `${lines.join("\n")}\n`;
}

/**
 * Writes the data file for a capture and state (or several GPU sources) into dir and returns its
 * path (for env NVML_SHIM_DATA).
 */
export function writeShimDataFile(dir: string, data: ShimData, fileName = "nvml-shim.data"): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, fileName);
  fs.writeFileSync(file, renderShimData(data));
  return file;
}

// ---------------------------------------------------------------------------------------------
// What the agent must serve

/** The per-GPU families the NVML readings feed (SPEC "Metrics"), with their dcgm-exporter types. */
export const GPU_METRIC_TYPES = {
  DCGM_FI_DEV_SM_CLOCK: "gauge",
  DCGM_FI_DEV_MEM_CLOCK: "gauge",
  DCGM_FI_DEV_MEMORY_TEMP: "gauge",
  DCGM_FI_DEV_GPU_TEMP: "gauge",
  DCGM_FI_DEV_POWER_USAGE: "gauge",
  DCGM_FI_DEV_POWER_MGMT_LIMIT: "gauge",
  DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: "counter",
  DCGM_FI_DEV_PCIE_TX_THROUGHPUT: "counter",
  DCGM_FI_DEV_PCIE_RX_THROUGHPUT: "counter",
  DCGM_FI_DEV_PCIE_REPLAY_COUNTER: "counter",
  DCGM_FI_DEV_GPU_UTIL: "gauge",
  DCGM_FI_DEV_MEM_COPY_UTIL: "gauge",
  DCGM_FI_DEV_ENC_UTIL: "gauge",
  DCGM_FI_DEV_DEC_UTIL: "gauge",
  DCGM_FI_DEV_FB_FREE: "gauge",
  DCGM_FI_DEV_FB_USED: "gauge",
  DCGM_FI_DEV_FB_TOTAL: "gauge",
  DCGM_FI_DEV_FB_RESERVED: "gauge",
  DCGM_FI_DEV_ECC_SBE_VOL_TOTAL: "counter",
  DCGM_FI_DEV_ECC_DBE_VOL_TOTAL: "counter",
  DCGM_FI_DEV_ECC_SBE_AGG_TOTAL: "counter",
  DCGM_FI_DEV_ECC_DBE_AGG_TOTAL: "counter",
  DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL: "counter",
  DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS: "counter",
  DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS: "counter",
  DCGM_FI_DEV_ROW_REMAP_FAILURE: "gauge",
  DCGM_FI_DEV_ROW_REMAP_PENDING: "gauge",
  DCGM_FI_DEV_CLOCKS_EVENT_REASONS: "gauge",
  DCGM_FI_DEV_FAN_SPEED: "gauge",
} as const;
export type GpuMetricName = keyof typeof GPU_METRIC_TYPES;
export const GPU_METRIC_NAMES = Object.keys(GPU_METRIC_TYPES) as GpuMetricName[];

/** The families a MIG instance gets (SPEC: FB free/used/total per instance). */
export type MigMetricName = "DCGM_FI_DEV_FB_FREE" | "DCGM_FI_DEV_FB_USED" | "DCGM_FI_DEV_FB_TOTAL";

export interface ExpectedGpuLabels {
  gpu: string;
  UUID: string;
  pci_bus_id: string;
  device: string;
  modelName: string;
}

export interface ExpectedGpu {
  /** NVML index. */
  index: number;
  /** The per-GPU labels except Hostname (and the pod labels), in SPEC order. */
  labels: ExpectedGpuLabels;
  driverVersion: string;
  /** nvmlDeviceGetMigMode's current mode (1 enabled, 0 disabled); undefined = not supported. */
  migMode: 0 | 1 | undefined;
  /** Every family the GPU has a reading for, in dcgm-exporter's units. */
  values: Partial<Record<GpuMetricName, number>>;
  /** The families without a reading (NVML answers NOT_SUPPORTED): no series for this GPU. */
  unsupported: GpuMetricName[];
  /** The MIG devices (one per compute instance), by MIG index. */
  migDevices: ExpectedMigDevice[];
  /** The MIG series: one per GPU instance (compute instances of one GPU instance share its memory and labels). */
  migInstances: ExpectedMigInstance[];
}

export interface ExpectedMigDevice {
  index: number;
  gpuInstanceId: number;
  computeInstanceId: number;
  /** nvmlDeviceGetName of the MIG handle, e.g. "NVIDIA H200 MIG 1c.3g.71gb". */
  name: string;
  /** MIG-... UUID (masked in the captures, distinct per device), what the pod-resources API names. */
  uuid: string;
  /** The GPU instance profile (GPU_I_PROFILE), e.g. "3g.71gb": the name's profile without a compute-instance "<n>c." prefix. */
  profile: string;
  values: Partial<Record<MigMetricName, number>>;
}

export interface ExpectedMigInstance {
  labels: ExpectedGpuLabels & { GPU_I_PROFILE: string; GPU_I_ID: string };
  /** The MIG devices (compute instances) in this GPU instance. */
  migDeviceIndexes: number[];
  migUuids: string[];
  values: Partial<Record<MigMetricName, number>>;
}

export interface ExpectOptions {
  /**
   * "v2" (default): nvmlDeviceGetMemoryInfo_v2 works: FB_USED excludes the reserved memory and
   * FB_RESERVED is served. "v1": the agent fell back to nvmlDeviceGetMemoryInfo (e.g.
   * NVML_SHIM_FAIL=nvmlDeviceGetMemoryInfo_v2:3, or no mem_reserved fact): v1's used includes the
   * reserved memory, and there is no FB_RESERVED.
   */
  memoryInfo?: "v1" | "v2";
}

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  return v.startsWith("0x") ? Number(BigInt(v)) : Number(v);
}

function bytesToMiB(v: string | undefined): number | undefined {
  return v === undefined ? undefined : Number(BigInt(v)) / 1048576;
}

/** What the agent must serve for this shim data: per GPU, labels, values and the unsupported families. */
export function expectedGpus(data: ShimData, options: ExpectOptions = {}): ExpectedGpu[] {
  return data.gpus.map((g, index) => {
    const f = g.facts;
    const minor = f.minor ?? "";
    const labels: ExpectedGpuLabels = {
      gpu: String(index),
      UUID: f.uuid ?? "",
      pci_bus_id: f.pci_bus_id ?? "",
      device: `nvidia${minor}`,
      modelName: f.name ?? "",
    };
    const v1 = options.memoryInfo === "v1" || f.mem_reserved === undefined;
    const used =
      v1 && f.mem_used !== undefined ? (bytesToMiB(f.mem_used) ?? 0) + (bytesToMiB(f.mem_reserved) ?? 0) : bytesToMiB(f.mem_used);
    const tx = num(f.nvlink_tx_kib);
    const rx = num(f.nvlink_rx_kib);
    const all: Record<GpuMetricName, number | undefined> = {
      DCGM_FI_DEV_SM_CLOCK: num(f.clock_sm),
      DCGM_FI_DEV_MEM_CLOCK: num(f.clock_mem),
      DCGM_FI_DEV_MEMORY_TEMP: num(f.temp_mem),
      DCGM_FI_DEV_GPU_TEMP: num(f.temp_gpu),
      DCGM_FI_DEV_POWER_USAGE: f.power_mw === undefined ? undefined : Number(f.power_mw) / 1000,
      DCGM_FI_DEV_POWER_MGMT_LIMIT: f.power_limit_mw === undefined ? undefined : Number(f.power_limit_mw) / 1000,
      DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: num(f.energy_mj),
      DCGM_FI_DEV_PCIE_TX_THROUGHPUT: num(f.pcie_tx_kbs),
      DCGM_FI_DEV_PCIE_RX_THROUGHPUT: num(f.pcie_rx_kbs),
      DCGM_FI_DEV_PCIE_REPLAY_COUNTER: num(f.pcie_replay),
      // nvmlDeviceGetUtilizationRates returns GPU and memory together: both or neither.
      DCGM_FI_DEV_GPU_UTIL: f.util_gpu !== undefined && f.util_mem !== undefined ? num(f.util_gpu) : undefined,
      DCGM_FI_DEV_MEM_COPY_UTIL: f.util_gpu !== undefined && f.util_mem !== undefined ? num(f.util_mem) : undefined,
      DCGM_FI_DEV_ENC_UTIL: num(f.util_enc),
      DCGM_FI_DEV_DEC_UTIL: num(f.util_dec),
      DCGM_FI_DEV_FB_FREE: bytesToMiB(f.mem_free),
      DCGM_FI_DEV_FB_USED: used,
      DCGM_FI_DEV_FB_TOTAL: bytesToMiB(f.mem_total),
      DCGM_FI_DEV_FB_RESERVED: v1 ? undefined : bytesToMiB(f.mem_reserved),
      DCGM_FI_DEV_ECC_SBE_VOL_TOTAL: num(f.ecc_sbe_vol),
      DCGM_FI_DEV_ECC_DBE_VOL_TOTAL: num(f.ecc_dbe_vol),
      DCGM_FI_DEV_ECC_SBE_AGG_TOTAL: num(f.ecc_sbe_agg),
      DCGM_FI_DEV_ECC_DBE_AGG_TOTAL: num(f.ecc_dbe_agg),
      // Both link directions or no series.
      DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL: tx !== undefined && rx !== undefined ? tx + rx : undefined,
      // nvmlDeviceGetRemappedRows returns the four together.
      DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS: remapAll(f) ? num(f.remap_unc) : undefined,
      DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS: remapAll(f) ? num(f.remap_cor) : undefined,
      DCGM_FI_DEV_ROW_REMAP_FAILURE: remapAll(f) ? num(f.remap_failure) : undefined,
      DCGM_FI_DEV_ROW_REMAP_PENDING: remapAll(f) ? num(f.remap_pending) : undefined,
      DCGM_FI_DEV_CLOCKS_EVENT_REASONS: num(f.clocks_event_reasons),
      DCGM_FI_DEV_FAN_SPEED: num(f.fan_speed),
    };
    const values: Partial<Record<GpuMetricName, number>> = {};
    const unsupported: GpuMetricName[] = [];
    for (const name of GPU_METRIC_NAMES) {
      const v = all[name];
      if (v === undefined) unsupported.push(name);
      else values[name] = v;
    }
    const migMode = f.mig_mode_current === undefined ? undefined : f.mig_mode_current === "1" ? 1 : 0;
    const migDevices: ExpectedMigDevice[] = migMode === 1 ? g.migs.map((m) => expectedMigDevice(m)) : [];
    const migInstances: ExpectedMigInstance[] = [];
    for (const d of migDevices) {
      const gi = migInstances.find((x) => x.labels.GPU_I_ID === String(d.gpuInstanceId));
      if (gi) {
        if (gi.labels.GPU_I_PROFILE !== d.profile)
          throw new Error(`GPU instance ${d.gpuInstanceId}: profiles ${gi.labels.GPU_I_PROFILE} and ${d.profile}`);
        gi.migDeviceIndexes.push(d.index);
        gi.migUuids.push(d.uuid);
        continue;
      }
      migInstances.push({
        labels: { ...labels, GPU_I_PROFILE: d.profile, GPU_I_ID: String(d.gpuInstanceId) },
        migDeviceIndexes: [d.index],
        migUuids: [d.uuid],
        values: d.values,
      });
    }
    return { index, labels, driverVersion: data.driver, migMode, values, unsupported, migDevices, migInstances };
  });
}

function remapAll(f: Partial<Record<GpuKey, string>>): boolean {
  return f.remap_cor !== undefined && f.remap_unc !== undefined && f.remap_pending !== undefined && f.remap_failure !== undefined;
}

/** "NVIDIA H200 MIG 1c.3g.71gb" -> "3g.71gb". */
export function migProfileFromName(name: string): string {
  const m = / MIG (?:\d+c\.)?(\d+g\.\d+gb(?:\+\w+)?)$/.exec(name);
  if (!m) throw new Error(`not a MIG device name: ${name}`);
  return m[1];
}

function expectedMigDevice(m: ShimMig): ExpectedMigDevice {
  const f = m.facts;
  const values: Partial<Record<MigMetricName, number>> = {};
  const put = (k: MigMetricName, v: number | undefined) => {
    if (v !== undefined) values[k] = v;
  };
  put("DCGM_FI_DEV_FB_FREE", bytesToMiB(f.mem_free));
  put("DCGM_FI_DEV_FB_USED", bytesToMiB(f.mem_used));
  put("DCGM_FI_DEV_FB_TOTAL", bytesToMiB(f.mem_total));
  return {
    index: m.index,
    gpuInstanceId: Number(f.gi),
    computeInstanceId: Number(f.ci),
    name: f.name ?? "",
    uuid: f.uuid ?? "",
    profile: migProfileFromName(f.name ?? ""),
    values,
  };
}
