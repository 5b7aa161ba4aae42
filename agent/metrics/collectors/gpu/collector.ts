import fs from "node:fs";
import os from "node:os";
import type { Logger } from "pino";
import type { HostPaths } from "../../../host/paths.js";
import { CollectorError, type Collector, type CollectorDefinition, type ScrapeContext } from "../../collector.js";
import type { MetricSink } from "../../model.js";
import {
  DescCache,
  GPU_FAMILIES,
  INFO_FAMILY,
  MIG_FAMILIES,
  NVML_UP_FAMILY,
  XID_COUNT_FAMILY,
  XID_FAMILY,
  emitReadings,
  gpuLabels,
  migLabels,
  type PodRef,
} from "./dcgm-metrics.js";
import { NvmlAddonUnavailableError, loadNvmlAddon, reading, type NvmlAddon, type NvmlOpenInfo, type NvmlSample } from "./nvml-addon.js";
import { discoverNvml } from "./nvml-library.js";
import { gpuOwners, listPodResources } from "./pod-resources.js";
import { normalizePciBusId } from "./xid.js";

/**
 * The gpu collector: dcgm-exporter's metrics for NVIDIA GPUs through NVML (nvml-addon.ts), with the
 * pods that hold each GPU from the kubelet's pod-resources API, and XID errors from the node's
 * kernel log (xid.ts, fed by the log pipeline). On a node without an NVIDIA driver it says so once
 * and serves nothing.
 *
 * A wedged GPU can block an NVML call for minutes: each call runs on a thread of its own; past
 * `timeout` the scrape reports success 0 and, while that call is still stuck, later scrapes fail
 * at once (saying for how long) instead of piling up threads.
 */

export interface GpuConfig {
  readonly enabled: boolean;
  readonly nvmlLibrary: string;
  readonly nativeAddon: string;
  readonly timeout: number;
  readonly podResourcesSocket: string;
  readonly podResourcesTimeout: number;
}

/** What the log pipeline's XID tracker tells the collector (xid.ts). */
export interface XidSource {
  last(pciBusId: string): { readonly xid: number } | undefined;
  counts(): Iterable<{ readonly pciBusId: string; readonly xid: number; readonly count: number }>;
}

export interface GpuCollectorOptions {
  readonly config: GpuConfig;
  readonly paths: HostPaths;
  readonly logger: Logger;
  readonly hostname: string;
  readonly xid?: XidSource;
  /** For tests: the addon (default: nvml.node, loaded on first use). */
  readonly loadAddon?: () => NvmlAddon;
}

interface Pending<T> {
  readonly promise: Promise<T>;
  readonly since: number;
  settled: boolean;
}

function track<T>(promise: Promise<T>): Pending<T> {
  const pending: Pending<T> = { promise, since: Date.now(), settled: false };
  promise.then(
    () => (pending.settled = true),
    () => (pending.settled = true),
  );
  return pending;
}

class GpuCollector implements Collector {
  readonly name = "gpu";
  private readonly descs = new DescCache();
  private libraries?: readonly string[];
  private addon?: NvmlAddon;
  private opened?: NvmlOpenInfo;
  private opening?: Pending<NvmlOpenInfo>;
  private sampling?: Pending<NvmlSample>;
  private podResourcesFailing = false;
  private podResourcesErrors = 0;

  constructor(private readonly opts: GpuCollectorOptions) {}

  async update(out: MetricSink, ctx: ScrapeContext): Promise<void> {
    if (!this.hasDriver()) return;
    const up = this.descs.get(NVML_UP_FAMILY.name, "gauge", NVML_UP_FAMILY.help, []);
    try {
      const addon = this.loadAddon();
      const deadline = Date.now() + this.opts.config.timeout * 1000;
      const info = this.opened ?? (await this.open(addon, deadline, ctx.signal));
      const owners = this.podOwners(ctx.signal);
      const sample = await this.sample(addon, deadline, ctx.signal);
      out.add(up, 1);
      this.emit(out, info, sample, await owners);
    } catch (err) {
      // Served with success 0 (the registry keeps a failed collector's output, not a timed-out one's).
      out.add(up, 0);
      throw err;
    }
  }

  /** Decided once: a node without an NVIDIA driver stays without one until the agent restarts. */
  private hasDriver(): boolean {
    if (this.libraries === undefined) {
      const found = discoverNvml(this.opts.paths, this.opts.config.nvmlLibrary);
      this.libraries = found.libraries;
      if (found.libraries.length === 0) {
        this.opts.logger.info(
          { looked_at: found.lookedAt },
          "no NVIDIA driver on this node (no libnvidia-ml.so.1, no nvidia-smi): gpu collector off",
        );
      } else {
        this.opts.logger.info({ libraries: found.libraries }, "NVIDIA driver found: gpu collector on");
      }
    }
    return this.libraries.length > 0;
  }

  private loadAddon(): NvmlAddon {
    if (this.addon !== undefined) return this.addon;
    try {
      this.addon = (this.opts.loadAddon ?? (() => loadNvmlAddon(this.opts.config.nativeAddon)))();
      return this.addon;
    } catch (err) {
      if (err instanceof NvmlAddonUnavailableError) throw new CollectorError(err.message, { cause: err });
      throw err;
    }
  }

  private async open(addon: NvmlAddon, deadline: number, signal: AbortSignal): Promise<NvmlOpenInfo> {
    if (this.opening !== undefined && !this.opening.settled) throw stuck("nvmlInit", this.opening.since);
    this.opening = track(this.openFirst(addon));
    const info = await within(this.opening.promise, deadline, signal, "opening NVML");
    this.opened = info;
    this.opts.logger.info({ driver_version: info.driverVersion, nvml_version: info.nvmlVersion, library: info.library }, "NVML opened");
    return info;
  }

  /** dlopen + nvmlInit with each candidate library until one works; the error says why each failed. */
  private async openFirst(addon: NvmlAddon): Promise<NvmlOpenInfo> {
    const failures: string[] = [];
    for (const library of this.libraries ?? []) {
      try {
        return await addon.open(library);
      } catch (err) {
        const code = (err as { code?: string }).code;
        failures.push(`${library}: ${(err as Error).message}`);
        // Loaded but the driver refused: another copy of the library will not do better.
        if (code !== "DLOPEN_FAILED") break;
      }
    }
    throw new CollectorError(`NVML unavailable: ${failures.join("; ")}`);
  }

  private async sample(addon: NvmlAddon, deadline: number, signal: AbortSignal): Promise<NvmlSample> {
    if (this.sampling !== undefined && !this.sampling.settled) throw stuck("an NVML call", this.sampling.since);
    this.sampling = track(addon.sample());
    try {
      return await within(this.sampling.promise, deadline, signal, "reading the GPUs through NVML");
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "NVML_ERROR_UNINITIALIZED" || code === "NVML_ERROR_DRIVER_NOT_LOADED") this.opened = undefined;
      if (err instanceof CollectorError) throw err;
      throw new CollectorError(`NVML: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The pods holding each GPU (by UUID), or none when the kubelet's socket is absent or not answering. */
  private async podOwners(signal: AbortSignal): Promise<Map<string, PodRef>> {
    const socket = this.opts.config.podResourcesSocket;
    const local = this.opts.paths.root(socket);
    // Not on a Kubernetes node, or the socket not mounted: no pods to name, nothing to report.
    if (socket === "" || !fs.existsSync(local)) return new Map();
    try {
      const pods = await listPodResources(local, {
        timeoutMs: this.opts.config.podResourcesTimeout * 1000,
        signal,
      });
      if (this.podResourcesFailing) this.opts.logger.info("kubelet pod-resources API answering again: pod labels back on GPU series");
      this.podResourcesFailing = false;
      return gpuOwners(pods);
    } catch (err) {
      this.podResourcesErrors++;
      if (!this.podResourcesFailing) {
        this.opts.logger.warn({ err: (err as Error).message, socket }, "kubelet pod-resources API failed: GPU series without pod labels");
      }
      this.podResourcesFailing = true;
      return new Map();
    }
  }

  private emit(out: MetricSink, info: NvmlOpenInfo, sample: NvmlSample, owners: Map<string, PodRef>): void {
    const hostname = this.opts.hostname;
    const infoDesc = this.descs.get(INFO_FAMILY.name, "gauge", INFO_FAMILY.help, [
      "gpu",
      "UUID",
      "pci_bus_id",
      "device",
      "modelName",
      "Hostname",
      "driver_version",
      "nvml_version",
    ]);
    const failed: string[] = [];
    for (const device of sample.devices) {
      if (device.error !== "") {
        failed.push(`GPU ${device.index}: ${device.error}`);
        continue;
      }
      const labels = gpuLabels(device, hostname, info.driverVersion, owners.get(device.uuid));
      out.add(infoDesc, 1, ...labels.values.slice(0, 6), info.driverVersion, info.nvmlVersion);
      emitReadings(out, this.descs, GPU_FAMILIES, (r) => reading(device.values, r), labels);
      // Only when the log pipeline watches the kernel's log: 0 then means "no XID seen", not "not looked".
      if (this.opts.xid !== undefined) {
        const xid = this.opts.xid.last(device.pciBusId);
        out.add(this.descs.get(XID_FAMILY.name, "gauge", XID_FAMILY.help, labels.names), xid?.xid ?? 0, ...labels.values);
      }
      // Compute instances of one GPU instance share its memory and its labels: one series per label set.
      const seen = new Set<string>();
      for (const mig of device.migs) {
        const migLabelSet = migLabels(labels, mig, owners.get(mig.uuid));
        const key = migLabelSet.values.join("\u0000");
        if (seen.has(key)) continue;
        seen.add(key);
        emitReadings(out, this.descs, MIG_FAMILIES, (r) => reading(mig.values, r), migLabelSet);
      }
    }
    this.emitXidCounts(out, sample);
    out.add(
      this.descs.get(
        "nodetap_gpu_pod_resources_errors_total",
        "counter",
        "Failed calls to the kubelet's pod-resources API (GPU series then go without pod labels).",
        [],
      ),
      this.podResourcesErrors,
    );
    if (failed.length > 0) throw new CollectorError(`NVML could not read ${failed.join("; ")}`);
  }

  private emitXidCounts(out: MetricSink, sample: NvmlSample): void {
    if (this.opts.xid === undefined) return;
    const byBus = new Map(sample.devices.map((d) => [normalizePciBusId(d.pciBusId) ?? d.pciBusId, d]));
    const desc = this.descs.get(XID_COUNT_FAMILY.name, "counter", XID_COUNT_FAMILY.help, ["gpu", "UUID", "pci_bus_id", "xid"]);
    for (const { pciBusId, xid, count } of this.opts.xid.counts()) {
      const device = byBus.get(pciBusId);
      out.add(desc, count, device === undefined ? "" : String(device.index), device?.uuid ?? "", pciBusId, String(xid));
    }
  }

  close(): void {
    // NVML is left initialised: a thread may still be inside the driver, and the process is ending.
  }
}

function stuck(what: string, since: number): CollectorError {
  const seconds = ((Date.now() - since) / 1000).toFixed(0);
  return new CollectorError(
    `${what} has not returned for ${seconds}s: the GPU or its driver is not answering (no new NVML call until it does)`,
  );
}

/** The promise's value, or a CollectorError once the deadline passes or the scrape is aborted. */
async function within<T>(promise: Promise<T>, deadline: number, signal: AbortSignal, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const limit = new Promise<never>((_, reject) => {
    const fail = () => reject(new CollectorError(`${what} took longer than the gpu collector's timeout`));
    timer = setTimeout(fail, Math.max(0, deadline - Date.now()));
    onAbort = fail;
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
  }
}

export function createGpuCollector(opts: GpuCollectorOptions): Collector {
  return new GpuCollector(opts);
}

export const collector: CollectorDefinition = {
  name: "gpu",
  defaultEnabled: true,
  create({ config, paths, logger, nodeName, xid }) {
    return new GpuCollector({
      config: config.collectors.gpu,
      paths,
      logger,
      hostname: nodeName ?? process.env.NODE_NAME ?? os.hostname(),
      xid,
    });
  },
};
