import type { Logger } from "pino";
import { statSync } from "../../host/missing-paths.js";
import type { HostPaths } from "../../host/paths.js";
import { isMissing } from "../../host/read.js";
import { CollectorError, type Collector, type CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { MalformedLines } from "../malformed-lines.js";
import { gauge, type MetricSink } from "../model.js";
import { majorMinorVersion, parseOsRelease } from "../parsers/os-release.js";

/**
 * node_exporter's os collector (collector/os_release.go): os-release fields of the host's root
 * filesystem, from <rootfs>/etc/os-release or else <rootfs>/usr/lib/os-release.
 */

const INFO_LABELS = [
  ["build_id", "BUILD_ID"],
  ["id", "ID"],
  ["id_like", "ID_LIKE"],
  ["image_id", "IMAGE_ID"],
  ["image_version", "IMAGE_VERSION"],
  ["name", "NAME"],
  ["pretty_name", "PRETTY_NAME"],
  ["variant", "VARIANT"],
  ["variant_id", "VARIANT_ID"],
  ["version", "VERSION"],
  ["version_codename", "VERSION_CODENAME"],
  ["version_id", "VERSION_ID"],
] as const;

const info = gauge(
  "node_os_info",
  "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.",
  INFO_LABELS.map(([label]) => label),
);
const version = gauge("node_os_version", "Metric containing the major.minor part of the OS version.", ["id", "id_like", "name"]);
const supportEnd = gauge("node_os_support_end_timestamp_seconds", "Metric containing the end-of-life date timestamp of the OS.");

/** SUPPORT_END is a date (YYYY-MM-DD) read as midnight UTC, like Go's time.Parse(time.DateOnly). NaN when invalid. */
export function parseSupportEnd(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match === null) return NaN;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const check = new Date(ms);
  // Date.UTC rolls 2024-02-31 over into March; Go rejects it.
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return NaN;
  return ms / 1000;
}

class OsCollector implements Collector {
  readonly name = "os";
  private readonly candidates: readonly string[];
  private readonly malformed: MalformedLines;
  private cached?: ParsedOsRelease;

  constructor(paths: HostPaths, logger: Logger) {
    this.candidates = [paths.root("etc", "os-release"), paths.root("usr", "lib", "os-release")];
    this.malformed = new MalformedLines("os", logger);
  }

  update(out: MetricSink): void {
    const found = this.osRelease();
    if (found === undefined) return; // no os-release: nothing to report
    const { file } = found;
    const { values, problems } = found.parsed;
    this.malformed.record(file, problems);
    const field = (key: string): string => values.get(key) ?? "";
    out.add(info, 1, ...INFO_LABELS.map(([, key]) => field(key)));
    const majorMinor = majorMinorVersion(field("VERSION_ID"));
    if (majorMinor > 0) out.add(version, majorMinor, field("ID"), field("ID_LIKE"), field("NAME"));
    this.malformed.emit(out);
    const end = field("SUPPORT_END");
    if (end !== "") {
      const timestamp = parseSupportEnd(end);
      if (Number.isNaN(timestamp))
        throw new CollectorError(`${file}: SUPPORT_END ${JSON.stringify(end.slice(0, 40))} is not a YYYY-MM-DD date`);
      out.add(supportEnd, timestamp);
    }
  }

  /**
   * The first os-release file there, parsed; read again only when its stat changed (device,
   * inode, size or modification time), as node_exporter reloads it only when its mtime changed.
   */
  private osRelease(): ParsedOsRelease | undefined {
    for (const candidate of this.candidates) {
      let identity: string;
      try {
        const st = statSync(candidate);
        identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
      } catch (err) {
        if (isMissing(err)) continue;
        throw new CollectorError(`${candidate}: ${(err as Error).message}`, { cause: err });
      }
      if (this.cached?.file === candidate && this.cached.identity === identity) return this.cached;
      const text = readHostFile(candidate, 1024 * 1024);
      if (text === undefined) continue;
      this.cached = { file: candidate, identity, parsed: parseOsRelease(text) };
      return this.cached;
    }
    return undefined;
  }
}

interface ParsedOsRelease {
  file: string;
  /** The stat it was read at. */
  identity: string;
  parsed: ReturnType<typeof parseOsRelease>;
}

export const collector: CollectorDefinition = {
  name: "os",
  defaultEnabled: true,
  create({ paths, logger }) {
    return new OsCollector(paths, logger);
  },
};
