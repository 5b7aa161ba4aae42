import { CollectorError, type CollectorDefinition } from "../collector.js";
import { DeviceFilter } from "../device-filter.js";
import { readHostFile } from "../host-file.js";
import { counter } from "../model.js";
import { parseGoFloat } from "../parsers/go-float.js";
import { parseInt64 } from "../parsers/numbers.js";
import { goFields, goScanLines } from "../parsers/go-text.js";

/**
 * node_exporter's interrupts collector (collector/interrupts_linux.go): the per-CPU counts of
 * /proc/interrupts as node_interrupts_total{cpu, type, info, devices}. A numbered IRQ line has its
 * chip in `info` and the rest (hardware IRQ, trigger, device names) in `devices`; a named one
 * (NMI, LOC, IPI0, ...) has its description in `info`. Lines with fewer fields than CPUs plus one
 * (ERR, MIS) are left out. Options: name include/exclude regexps matched against
 * "<type>;<info>;<devices>", and include-zeros. No series when the file does not exist.
 */

const interruptsDesc = counter("node_interrupts_total", "Interrupt details.", ["cpu", "type", "info", "devices"]);

export interface Interrupt {
  readonly info: string;
  readonly devices: string;
  /** The per-CPU counts as written (node_exporter parses them when it emits). */
  readonly values: readonly string[];
}

/** strings.TrimLeft(s, " "). */
function trimLeftSpaces(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) === 32) i++;
  return s.slice(i);
}

/**
 * node_exporter's parseInterrupts: the header's field count is the CPU count; every other line
 * is split at its first ":" (aarch64 may print "IPI0:2768808080" without a space), lines without
 * a ":" or with fewer than CPUs + 1 fields after it are skipped; a repeated name replaces the
 * earlier line. Throws CollectorError for an empty file.
 */
export function parseInterrupts(text: string, file = "interrupts"): Map<string, Interrupt> {
  const lines = goScanLines(text, file);
  if (lines.length === 0) throw new CollectorError(`${file}: interrupts empty`);
  const cpus = goFields(lines[0]).length;
  const interrupts = new Map<string, Interrupt>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const parts = goFields(line.slice(colon + 1));
    if (parts.length < cpus + 1) continue;
    const name = trimLeftSpaces(line.slice(0, colon));
    const values = parts.slice(0, cpus);
    // strconv.Atoi succeeds: a numbered IRQ.
    const interrupt = !Number.isNaN(parseInt64(name))
      ? { info: parts[cpus], devices: parts.slice(cpus + 1).join(" "), values }
      : { info: parts.slice(cpus).join(" "), devices: "", values };
    interrupts.set(name, interrupt);
  }
  return interrupts;
}

export interface InterruptSample {
  readonly cpu: string;
  readonly type: string;
  readonly info: string;
  readonly devices: string;
  readonly value: number;
}

/**
 * node_exporter's Update on parsed interrupts: the filter sees "<type>;<info>;<devices>", each
 * count is parsed with strconv.ParseFloat (CollectorError if it is not a number), and zero
 * counts are left out unless includeZeros.
 */
export function interruptSamples(
  interrupts: ReadonlyMap<string, Interrupt>,
  filter: DeviceFilter,
  includeZeros: boolean,
  file = "interrupts",
): InterruptSample[] {
  const samples: InterruptSample[] = [];
  for (const [type, { info, devices, values }] of interrupts) {
    if (filter.ignored(`${type};${info};${devices}`)) continue;
    values.forEach((text, cpu) => {
      const value = parseGoFloat(text);
      if (value === undefined) {
        throw new CollectorError(`${file}: invalid value ${JSON.stringify(text.slice(0, 40))} in interrupts (${type}, CPU ${cpu})`);
      }
      if (!includeZeros && value === 0) return;
      samples.push({ cpu: String(cpu), type, info, devices, value });
    });
  }
  return samples;
}

export const collector: CollectorDefinition = {
  name: "interrupts",
  defaultEnabled: false,
  create({ paths, config }) {
    const options = config.collectors.interrupts;
    // node_exporter's newDeviceFilter(exclude, include): both apply when both are set.
    const filter = new DeviceFilter(options.nameExclude, options.nameInclude);
    const file = paths.proc("interrupts");
    return {
      name: "interrupts",
      update(out) {
        const text = readHostFile(file);
        if (text === undefined) return;
        const samples = interruptSamples(parseInterrupts(text, file), filter, options.includeZeros, file);
        for (const s of samples) out.add(interruptsDesc, s.value, s.cpu, s.type, s.info, s.devices);
      },
    };
  },
};
