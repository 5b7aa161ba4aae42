import fs from "node:fs";
import path from "node:path";
import { readText } from "../../host/read.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { gauge } from "../model.js";
import { goTrimSpace } from "../sysfs-go-text.js";

/**
 * node_exporter's cpu_vulnerabilities collector (collector/cpu_vulnerabilities_linux.go with
 * procfs's sysfs.CPUVulnerabilities): one node_cpu_vulnerabilities_info series per file of
 * /sys/devices/system/cpu/vulnerabilities, with the state the kernel's text starts with ("Not
 * affected", "Vulnerable", "Mitigation") and the rest of the text as the mitigation; text that
 * starts otherwise ("KVM: Mitigation: VMX unsupported", "Unknown: No mitigations") has state
 * "unknown" and the whole text as the mitigation. No directory, no series (filepath.Glob finds
 * nothing); a file that cannot be read fails the collector.
 */

const infoDesc = gauge(
  "node_cpu_vulnerabilities_info",
  "Details of each CPU vulnerability reported by sysfs. The value of the series is an int encoded state of the vulnerability. The same state is stored as a string in the label",
  ["codename", "state", "mitigation"],
);

export interface CpuVulnerability {
  readonly codename: string;
  readonly state: "not affected" | "vulnerable" | "mitigation" | "unknown";
  readonly mitigation: string;
}

const NOT_AFFECTED = "Not affected";
const VULNERABLE = "Vulnerable";
const MITIGATION = "Mitigation";

/** procfs's parseVulnerability: the state from the text's start, the mitigation after "<State>: ". */
export function parseVulnerability(codename: string, text: string): CpuVulnerability {
  const value = goTrimSpace(text);
  const rest = (prefix: string) => {
    const after = value.slice(prefix.length);
    return after.startsWith(": ") ? after.slice(2) : after;
  };
  if (value === NOT_AFFECTED) return { codename, state: "not affected", mitigation: "" };
  if (value.startsWith(VULNERABLE)) return { codename, state: "vulnerable", mitigation: rest(VULNERABLE) };
  if (value.startsWith(MITIGATION)) return { codename, state: "mitigation", mitigation: rest(MITIGATION) };
  return { codename, state: "unknown", mitigation: value };
}

/** The directory's entries, sorted as filepath.Glob returns them; [] when it cannot be listed (Glob ignores that). */
function listVulnerabilities(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

export const collector: CollectorDefinition = {
  name: "cpu_vulnerabilities",
  defaultEnabled: false,
  create({ paths }) {
    const dir = paths.sys("devices/system/cpu/vulnerabilities");
    return {
      name: "cpu_vulnerabilities",
      update(out) {
        const vulnerabilities = listVulnerabilities(dir).map((name) => {
          const file = path.join(dir, name);
          let text: string;
          try {
            text = readText(file, 64 * 1024);
          } catch (err) {
            throw new CollectorError(`failed to get vulnerabilities: ${file}: ${(err as Error).message}`, { cause: err });
          }
          return parseVulnerability(name, text);
        });
        for (const v of vulnerabilities) out.add(infoDesc, 1, v.codename, v.state, v.mitigation);
      },
    };
  },
};
