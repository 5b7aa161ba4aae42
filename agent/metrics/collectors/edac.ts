import fs from "node:fs";
import { readdirSync } from "../../host/missing-paths.js";
import { CollectorError, type CollectorDefinition } from "../collector.js";
import { counter, type MetricSink } from "../model.js";
import { parseUint } from "../parsers/numbers.js";
import { goTrimSpace } from "../sysfs-go-text.js";

/**
 * node_exporter's edac collector (collector/edac_linux.go): memory controller error counts from
 * /sys/devices/system/edac/mc/mc<N>, per csrow (the *_noinfo_count files as csrow="unknown") and
 * per csrow channel. Every count must be readable except a channel's ue_count, which some
 * hardware lacks; a host without EDAC gets no series.
 */

const ceCount = counter("node_edac_correctable_errors_total", "Total correctable memory errors.", ["controller"]);
const ueCount = counter("node_edac_uncorrectable_errors_total", "Total uncorrectable memory errors.", ["controller"]);
const csrowCeCount = counter("node_edac_csrow_correctable_errors_total", "Total correctable memory errors for this csrow.", [
  "controller",
  "csrow",
]);
const csrowUeCount = counter("node_edac_csrow_uncorrectable_errors_total", "Total uncorrectable memory errors for this csrow.", [
  "controller",
  "csrow",
]);
const CHANNEL = ["controller", "csrow", "channel", "dimm_label"];
const channelCeCount = counter("node_edac_channel_correctable_errors_total", "Total correctable memory errors for this channel.", CHANNEL);
const channelUeCount = counter(
  "node_edac_channel_uncorrectable_errors_total",
  "Total uncorrectable memory errors for this channel.",
  CHANNEL,
);

/** node_exporter's readUintFromFile on the file's text: strconv.ParseUint of the trimmed content; CollectorError otherwise. */
export function parseEdacCount(text: string, what = "count"): number {
  const trimmed = goTrimSpace(text);
  const value = parseUint(trimmed);
  if (Number.isNaN(value)) throw new CollectorError(`${what}: expected an unsigned integer, got ${JSON.stringify(trimmed.slice(0, 40))}`);
  return value;
}

/** A ch<N>_dimm_label's content as the dimm_label value: trimmed, "#" removed, "csrow" and "channel" prefixed with "_". */
export function edacDimmLabel(text: string): string {
  return goTrimSpace(text).replaceAll("#", "").replaceAll("csrow", "_csrow").replaceAll("channel", "_channel");
}

/** Entries named prefix + digit + anything, sorted as filepath.Glob("prefix[0-9]*") lists them; none when unlistable. */
function globNumbered(dir: string, prefix: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.length > prefix.length && n.startsWith(prefix) && isDigit(n.charCodeAt(prefix.length))).sort();
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** The digits right after `prefix`: what node_exporter's `mc([0-9]*)` / `csrow([0-9]*)` regexps capture. */
function leadingNumber(name: string, prefix: string): string {
  let end = prefix.length;
  while (end < name.length && isDigit(name.charCodeAt(end))) end++;
  return name.slice(prefix.length, end);
}

/** The ch<N>_ce_count files of a csrow directory (glob ch*_ce_count, then `ch([0-9]+)_ce_count` on the name) with N. */
function channelFiles(dir: string): Array<[file: string, channel: string]> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: Array<[string, string]> = [];
  for (const name of names.filter((n) => n.startsWith("ch") && n.endsWith("_ce_count") && n.length >= 11).sort()) {
    const match = /ch([0-9]+)_ce_count/.exec(name);
    if (match !== null) out.push([name, match[1]]);
  }
  return out;
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? String(err);
}

/** readUintFromFile: the whole file, trimmed, as a uint64; CollectorError naming `what` when it cannot be read or parsed. */
function readCount(file: string, what: string): number {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new CollectorError(`couldn't get ${what}: ${file}: ${errnoOf(err)}`, { cause: err });
  }
  return parseEdacCount(text, `couldn't get ${what}: ${file}`);
}

/** The count, or undefined when the file cannot be read or parsed (a channel's ue_count). */
function readOptionalCount(file: string): number | undefined {
  try {
    return parseEdacCount(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

function readDimmLabel(file: string): string {
  try {
    return edacDimmLabel(fs.readFileSync(file, "utf8"));
  } catch {
    return "unknown";
  }
}

function collectEdac(mcDir: string, out: MetricSink): void {
  for (const mc of globNumbered(mcDir, "mc")) {
    const controller = leadingNumber(mc, "mc");
    const controllerDir = `${mcDir}/${mc}`;
    const what = (file: string) => `${file} for controller ${controller}`;
    out.add(ceCount, readCount(`${controllerDir}/ce_count`, what("ce_count")), controller);
    out.add(csrowCeCount, readCount(`${controllerDir}/ce_noinfo_count`, what("ce_noinfo_count")), controller, "unknown");
    out.add(ueCount, readCount(`${controllerDir}/ue_count`, what("ue_count")), controller);
    out.add(csrowUeCount, readCount(`${controllerDir}/ue_noinfo_count`, what("ue_noinfo_count")), controller, "unknown");

    for (const row of globNumbered(controllerDir, "csrow")) {
      // node_exporter's `mc([0-9]*)/csrow([0-9]*)` regexp: a controller named mc0x has no csrows it can read.
      if (mc !== `mc${controller}`) throw new CollectorError(`csrow string didn't match regexp: ${controllerDir}/${row}`);
      const csrow = leadingNumber(row, "csrow");
      const rowDir = `${controllerDir}/${row}`;
      const rowWhat = (file: string) => `${file} for controller/csrow ${controller}/${csrow}`;
      out.add(csrowCeCount, readCount(`${rowDir}/ce_count`, rowWhat("ce_count")), controller, csrow);
      out.add(csrowUeCount, readCount(`${rowDir}/ue_count`, rowWhat("ue_count")), controller, csrow);

      for (const [file, channel] of channelFiles(rowDir)) {
        const label = readDimmLabel(`${rowDir}/ch${channel}_dimm_label`);
        const ce = readCount(`${rowDir}/${file}`, `ce_count for controller/csrow/channel ${controller}/${csrow}/${channel}`);
        out.add(channelCeCount, ce, controller, csrow, channel, label);
        const ue = readOptionalCount(`${rowDir}/ch${channel}_ue_count`);
        if (ue !== undefined) out.add(channelUeCount, ue, controller, csrow, channel, label);
      }
    }
  }
}

export const collector: CollectorDefinition = {
  name: "edac",
  defaultEnabled: true,
  create({ paths }) {
    return {
      name: "edac",
      update(out) {
        // Like node_exporter, which sends each series as it is read, a failure keeps what came before it.
        collectEdac(paths.sys("devices/system/edac/mc"), out);
      },
    };
  },
};
