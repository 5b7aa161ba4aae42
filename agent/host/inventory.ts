import type { Logger } from "pino";
import { cpu as siCpu } from "systeminformation/lib/cpu.js";
import { mem as siMem } from "systeminformation/lib/memory.js";
import { osInfo as siOsInfo } from "systeminformation/lib/osinfo.js";
import { system as siSystem } from "systeminformation/lib/system.js";

/**
 * A one-time host inventory for /status, gathered with systeminformation at start. It spawns
 * helper processes and reads this process's own view of the machine, so it is never used per
 * scrape; per-scrape data comes from the collectors reading HostPaths. The four files it needs are
 * imported one by one: the package's index loads all twenty (wifi, bluetooth, docker, printers,
 * ...), and every node would keep their code in memory (about 0.3 MB of source in the bundle, the
 * rest loaded and run at start).
 */
export interface HostInventory {
  gatheredAt?: string;
  error?: string;
  cpu?: { manufacturer: string; brand: string; cores: number; physicalCores: number; speedGHz: number };
  memory?: { totalBytes: number };
  system?: { manufacturer: string; model: string; virtual: boolean; virtualHost?: string };
  os?: { distro: string; release: string; kernel: string; arch: string; hostname: string };
}

export async function gatherInventory(logger: Logger, timeoutMs = 15_000): Promise<HostInventory> {
  const work = (async (): Promise<HostInventory> => {
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
