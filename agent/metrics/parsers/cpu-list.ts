import { noProblems, noteProblem, type ParseProblems } from "./parse-problems.js";
import { parseUnsigned } from "./text.js";

/** Upper bound on CPUs in one range, so a corrupt "0-4294967295" cannot allocate gigabytes. */
export const MAX_CPU_NUMBER = 65535;

/**
 * Parses a kernel CPU list such as /sys/devices/system/cpu/isolated ("1,3-5,9") into CPU
 * numbers, like procfs' parseCPURange; an item that is not a number or a range is skipped.
 */
export function parseCpuList(text: string): { cpus: number[]; problems: ParseProblems } {
  const problems = noProblems();
  const cpus: number[] = [];
  const body = text.trim();
  if (body === "") return { cpus, problems };
  for (const item of body.split(",")) {
    if (item === "") continue;
    const dash = item.indexOf("-");
    if (dash === -1) {
      const cpu = parseUnsigned(item);
      if (Number.isNaN(cpu) || cpu > MAX_CPU_NUMBER) noteProblem(problems, 0, item, "not a CPU number");
      else cpus.push(cpu);
      continue;
    }
    const first = parseUnsigned(item.slice(0, dash));
    const last = parseUnsigned(item.slice(dash + 1));
    if (Number.isNaN(first) || Number.isNaN(last) || first > last || last > MAX_CPU_NUMBER) {
      noteProblem(problems, 0, item, "not a CPU range");
      continue;
    }
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return { cpus, problems };
}
