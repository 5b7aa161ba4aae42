import type { Logger } from "pino";

/**
 * A one-time host inventory for /status, gathered with systeminformation. It spawns helper
 * processes and reads this process's own view of the machine, so it is never used per scrape;
 * per-scrape data comes from the collectors reading HostPaths. It is gathered when /status is
 * first asked for, not at start: systeminformation's code (0.2 MB of source in the bundle) and
 * what running it leaves behind cost every idle node about 2.5 MiB for a page that an operator
 * opens now and then (docs/benchmarks.md, "Memory"). The four files it needs are loaded one by
 * one, on that first call: the package's index loads all twenty (wifi, bluetooth, docker,
 * printers, ...).
 */
export interface HostInventory {
  gatheredAt?: string;
  error?: string;
  /** /status did not wait for it to the end (see Agent.hostInventory). */
  pending?: string;
  cpu?: { manufacturer: string; brand: string; cores: number; physicalCores: number; speedGHz: number };
  memory?: { totalBytes: number };
  system?: { manufacturer: string; model: string; virtual: boolean; virtualHost?: string };
  os?: { distro: string; release: string; kernel: string; arch: string; hostname: string };
}

export async function gatherInventory(logger: Logger, timeoutMs = 15_000): Promise<HostInventory> {
  const work = (async (): Promise<HostInventory> => {
    const [{ cpu: siCpu }, { mem: siMem }, { system: siSystem }, { osInfo: siOsInfo }] = await Promise.all([
      import("systeminformation/lib/cpu.js"),
      import("systeminformation/lib/memory.js"),
      import("systeminformation/lib/system.js"),
      import("systeminformation/lib/osinfo.js"),
    ]);
    const [cpu, mem, system, os] = await Promise.all([siCpu(), siMem(), siSystem(), siOsInfo()]);
    return {
      gatheredAt: new Date().toISOString(),
      cpu: { manufacturer: cpu.manufacturer, brand: cpu.brand, cores: cpu.cores, physicalCores: cpu.physicalCores, speedGHz: cpu.speed },
      memory: { totalBytes: mem.total },
      system: { manufacturer: system.manufacturer, model: system.model, virtual: system.virtual, virtualHost: system.virtualHost },
      os: { distro: os.distro, release: os.release, kernel: os.kernel, arch: os.arch, hostname: os.hostname },
    };
  })();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<HostInventory>((resolve) => {
    timer = setTimeout(() => resolve({ error: `inventory not gathered within ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
  });
  try {
    const inventory = await Promise.race([work, limit]);
    if (inventory.error) logger.warn({ err: inventory.error }, "host inventory incomplete");
    return inventory;
  } catch (err) {
    logger.warn({ err: (err as Error).message }, "host inventory failed");
    return { error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
