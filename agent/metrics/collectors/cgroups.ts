import { CollectorError, type CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { gauge } from "../model.js";
import { parseInt64 } from "../parsers/numbers.js";
import { goFields, goScanLines } from "../parsers/go-text.js";

/**
 * node_exporter's cgroups collector (collector/cgroups_linux.go with procfs's CgroupSummarys):
 * per controller line of /proc/cgroups, its number of cgroups and whether it is enabled. Both
 * families share node_exporter's HELP text. No /proc/cgroups: no series; a malformed line fails
 * the collector (as procfs rejects the whole file).
 */

const SUBSYS = ["subsys_name"];
// node_exporter gives both families this HELP.
const HELP = "Current cgroup number of the subsystem.";
const cgroupsDesc = gauge("node_cgroups_cgroups", HELP, SUBSYS);
const enabledDesc = gauge("node_cgroups_enabled", HELP, SUBSYS);

export interface CgroupSummary {
  readonly subsysName: string;
  readonly hierarchy: number;
  readonly cgroups: number;
  readonly enabled: number;
}

/**
 * procfs's parseCgroupSummary: lines starting with "#" are comments; every other line (a blank
 * one too) needs 4+ fields "subsys_name hierarchy num_cgroups enabled" with strconv.Atoi numbers.
 */
export function parseCgroupSummaries(text: string, file = "/proc/cgroups"): CgroupSummary[] {
  const out: CgroupSummary[] = [];
  const lines = goScanLines(text, file);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("#")) continue;
    const fields = goFields(line);
    const where = `${file}: line ${i + 1}`;
    if (fields.length < 4)
      throw new CollectorError(`${where}: 4+ fields required, found ${fields.length}: ${JSON.stringify(line.slice(0, 80))}`);
    const number = (at: number, what: string) => {
      const value = parseInt64(fields[at]);
      if (Number.isNaN(value))
        throw new CollectorError(`${where}: unable to parse ${what} from ${JSON.stringify(fields[at].slice(0, 40))}`);
      return value;
    };
    out.push({
      subsysName: fields[0],
      hierarchy: number(1, "hierarchy ID"),
      cgroups: number(2, "cgroup number"),
      enabled: number(3, "enabled"),
    });
  }
  return out;
}

export const collector: CollectorDefinition = {
  name: "cgroups",
  defaultEnabled: false,
  create({ paths }) {
    const file = paths.proc("cgroups");
    return {
      name: "cgroups",
      update(out) {
        const text = readHostFile(file);
        if (text === undefined) return;
        for (const cs of parseCgroupSummaries(text, file)) {
          out.add(cgroupsDesc, cs.cgroups, cs.subsysName);
          out.add(enabledDesc, cs.enabled, cs.subsysName);
        }
      },
    };
  },
};
