import path from "node:path";
import { readTextIfExists } from "../../host/read.js";
import type { CollectorDefinition } from "../collector.js";
import { gauge } from "../model.js";
import { splitFields } from "../parsers/text.js";

/**
 * node_exporter's bonding collector: for each master in /sys/class/net/bonding_masters, its
 * slaves (bonding/slaves) and how many of them have MII status "up"
 * (lower_<slave>/bonding_slave/mii_status, or slave_<slave>/... on older kernels).
 */

const slavesDesc = gauge("node_bonding_slaves", "Number of configured slaves per bonding interface.", ["master"]);
const activeDesc = gauge("node_bonding_active", "Number of active slaves per bonding interface.", ["master"]);

/**
 * Interface names of a whitespace-separated sysfs list (bonding_masters, bonding/slaves). Names
 * the kernel cannot have ("/" inside, "." or "..") are dropped so that they never become paths.
 */
export function parseInterfaceList(text: string): string[] {
  return splitFields(text).filter((name) => name !== "." && name !== ".." && !name.includes("/"));
}

export interface BondStatus {
  slaves: number;
  active: number;
}

/** Counts slaves and those whose mii_status file reads "up" (surrounding whitespace ignored). */
export function summarizeBond(miiStatuses: readonly string[]): BondStatus {
  let active = 0;
  for (const status of miiStatuses) if (status.trim() === "up") active++;
  return { slaves: miiStatuses.length, active };
}

export const collector: CollectorDefinition = {
  name: "bonding",
  defaultEnabled: true,
  create({ paths, logger }) {
    const netDir = paths.sys("class", "net");
    const readMiiStatus = (master: string, slave: string): string | undefined =>
      readTextIfExists(path.join(netDir, master, `lower_${slave}`, "bonding_slave", "mii_status")) ??
      readTextIfExists(path.join(netDir, master, `slave_${slave}`, "bonding_slave", "mii_status"));
    return {
      name: "bonding",
      update(out) {
        // Absent when the bonding module is not loaded.
        const masters = readTextIfExists(path.join(netDir, "bonding_masters"));
        if (masters === undefined) return;
        for (const master of parseInterfaceList(masters)) {
          const slaves = readTextIfExists(path.join(netDir, master, "bonding", "slaves"));
          const statuses: string[] = [];
          let missing: string | undefined = slaves === undefined ? `${master}/bonding/slaves` : undefined;
          for (const slave of slaves === undefined ? [] : parseInterfaceList(slaves)) {
            const status = readMiiStatus(master, slave);
            if (status === undefined) {
              missing = `${master}/lower_${slave}/bonding_slave/mii_status`;
              break;
            }
            statuses.push(status);
          }
          // A master or slave removed while being read: node_exporter reports no bonding data for
          // that scrape; nodetap leaves out only that master.
          if (missing !== undefined) {
            logger.debug({ file: path.join(netDir, missing) }, "bonding interface changed while read; left out of this scrape");
            continue;
          }
          const status = summarizeBond(statuses);
          out.add(slavesDesc, status.slaves, master);
          out.add(activeDesc, status.active, master);
        }
      },
    };
  },
};
