import { CollectorError, type CollectorDefinition } from "../collector.js";
import { gauge, untyped, type MetricDesc, type MetricSink } from "../model.js";
import { parseIntAutoBase } from "../parsers/auto-base-int.js";
import { sanitizeMetricName } from "../parsers/metric-name.js";
import { isLegacyMetricName } from "../parsers/prom-text-scanner.js";
import { readSysfsAttribute } from "../sysfs-attribute.js";
import { goTrimSpace } from "../sysfs-go-text.js";

/**
 * node_exporter's sysctl collector (collector/sysctl_linux.go with procfs's SysctlInts and
 * SysctlStrings): the sysctls named by --collector.sysctl.include (numbers, untyped) and
 * --collector.sysctl.include-info (text, node_sysctl_info), read from /proc/sys/<name with "."
 * as "/"> with procfs's single 128-byte read and split on white space. A sysctl with one value
 * is one series; with several, one series per value with an "index" label, or one family per
 * value when the option names the values ("fs.file-nr:total,current,max"). A sysctl that
 * cannot be read or parsed fails the collector (after the series of the sysctls before it, as
 * node_exporter's do): these are sysctls the configuration asked for.
 */

const infoDesc = gauge("node_sysctl_info", "sysctl info", ["name", "value", "index"]);

export interface SysctlSpec {
  readonly name: string;
  readonly numeric: boolean;
  /** The value names after ":" in the option; undefined without ":". */
  readonly keys?: readonly string[];
}

/** node_exporter's newSysctl: "name" or "name:key1,key2". */
export function parseSysctlOption(option: string, numeric: boolean): SysctlSpec {
  const colon = option.indexOf(":");
  if (colon < 0) return { name: option, numeric };
  return { name: option.slice(0, colon), numeric, keys: option.slice(colon + 1).split(",") };
}

/** strings.Fields: runs of Go white space separate the fields. */
const GO_SPACE_RUN = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** procfs's SysctlStrings on the file's text (at most 128 bytes read). */
export function sysctlFields(text: string): string[] {
  const trimmed = goTrimSpace(text);
  return trimmed === "" ? [] : trimmed.split(GO_SPACE_RUN);
}

/** procfs's SysctlInts: each field strconv.ParseInt(f, 0, 64); CollectorError otherwise. */
export function sysctlInts(name: string, text: string): number[] {
  return sysctlFields(text).map((field, i) => {
    const value = parseIntAutoBase(field);
    if (Number.isNaN(value)) {
      throw new CollectorError(`field ${i} in sysctl ${name} is not a valid int: ${JSON.stringify(field.slice(0, 40))}`);
    }
    return value;
  });
}

/** One series to emit: its family, value and label values. */
export interface SysctlSample {
  readonly desc: MetricDesc;
  readonly value: number;
  readonly labels: readonly string[];
}

function familyName(name: string): string {
  const full = `node_sysctl_${name}`;
  if (!isLegacyMetricName(full)) throw new CollectorError(`sysctl metric name ${JSON.stringify(full)} is not a valid metric name`);
  return full;
}

/** node_exporter's newMetrics for one sysctl, from the file's text. */
export function sysctlSamples(spec: SysctlSpec, text: string): SysctlSample[] {
  const metricName = sanitizeMetricName(spec.name);
  const values: ReadonlyArray<number | string> = spec.numeric ? sysctlInts(spec.name, text) : sysctlFields(text);
  const keys = spec.keys ?? [];
  if (values.length === 0) throw new CollectorError(`sysctl ${spec.name} has no values`);
  if (values.length === 1) {
    if (keys.length > 0) throw new CollectorError(`sysctl ${spec.name} has only one value, but expected [${keys.join(" ")}]`);
    return spec.numeric
      ? [{ desc: untyped(familyName(metricName), `sysctl ${spec.name}`), value: values[0] as number, labels: [] }]
      : [{ desc: infoDesc, value: 1, labels: [spec.name, values[0] as string, "0"] }];
  }
  if (keys.length === 0) {
    if (!spec.numeric) return values.map((v, i) => ({ desc: infoDesc, value: 1, labels: [spec.name, v as string, String(i)] }));
    const desc = untyped(familyName(metricName), `sysctl ${spec.name}`, ["index"]);
    return values.map((v, i) => ({ desc, value: v as number, labels: [String(i)] }));
  }
  if (values.length !== keys.length) {
    throw new CollectorError(`sysctl ${spec.name} has ${values.length} keys but only ${keys.length} defined in flag`);
  }
  if (!spec.numeric) throw new CollectorError("mapped sysctl string values not supported");
  return values.map((v, i) => ({
    desc: untyped(familyName(`${metricName}_${keys[i]}`), `sysctl ${spec.name}, field ${i}`),
    value: v as number,
    labels: [],
  }));
}

/**
 * Adds samples, leaving out what client_golang's registry would reject: a series already
 * collected (the same sysctl asked for twice) and a family whose HELP differs from an earlier
 * one of the same name.
 */
class SysctlOutput {
  private readonly helps = new Map<string, string>();
  private readonly series = new Set<string>();

  constructor(private readonly out: MetricSink) {}

  add(sample: SysctlSample): void {
    const help = this.helps.get(sample.desc.name);
    if (help !== undefined && help !== sample.desc.help) return;
    this.helps.set(sample.desc.name, sample.desc.help);
    const key = `${sample.desc.name}\u0000${sample.labels.join("\u0000")}`;
    if (this.series.has(key)) return;
    this.series.add(key);
    this.out.add(sample.desc, sample.value, ...sample.labels);
  }
}

export const collector: CollectorDefinition = {
  name: "sysctl",
  defaultEnabled: false,
  create({ paths, config }) {
    const options = config.collectors.sysctl;
    const specs = [
      ...options.include.map((o) => parseSysctlOption(o, true)),
      ...options.includeInfo.map((o) => parseSysctlOption(o, false)),
    ];
    return {
      name: "sysctl",
      update(out) {
        const output = new SysctlOutput(out);
        for (const spec of specs) {
          const file = paths.proc("sys", spec.name.replaceAll(".", "/"));
          const read = readSysfsAttribute(file, 128);
          if (read.errno !== undefined) throw new CollectorError(`error obtaining sysctl info: ${file}: ${read.errno}`);
          for (const sample of sysctlSamples(spec, read.text)) output.add(sample);
        }
      },
    };
  },
};
