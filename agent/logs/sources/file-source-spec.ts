import type { LogsConfig } from "../config.js";
import { ConfigError } from "../../config/errors.js";
import type { LineFormat } from "../parsers/format.js";
import type { MultilineLimits } from "../parsers/multiline.js";
import { multilineRuleFactory, type ContinuationRule } from "../parsers/multiline-rules.js";
import { PathFilter } from "./glob.js";

/** One configured file source (pods, host or files), ready for the tail manager. */
export interface FileSourceSpec {
  readonly name: string;
  readonly include: readonly string[];
  readonly exclude: PathFilter;
  readonly format: LineFormat;
  readonly startAt: "beginning" | "end";
  readonly multiline?: { newRule: () => ContinuationRule; limits: MultilineLimits };
  /** Attach Kubernetes metadata parsed from the path. */
  readonly kubernetes: boolean;
}

/** Tailing limits and timings, in bytes and milliseconds. */
export interface TailSettings {
  readonly readBufferBytes: number;
  readonly maxLineBytes: number;
  readonly maxMergedBytes: number;
  readonly maxOpenFiles: number;
  readonly maxOpenRotatedFiles: number;
  readonly scanIntervalMs: number;
  readonly pollIntervalMs: number;
  readonly rotateWaitMs: number;
  readonly partialLineFlushAfterMs: number;
  readonly idleCloseAfterMs: number;
  readonly fingerprintBytes: number;
}

export function tailSettingsFrom(config: LogsConfig): TailSettings {
  const t = config.tail;
  return {
    readBufferBytes: t.readBufferBytes,
    maxLineBytes: t.maxLineBytes,
    maxMergedBytes: t.maxMergedBytes,
    maxOpenFiles: t.maxOpenFiles,
    maxOpenRotatedFiles: Math.min(t.maxOpenRotatedFiles, t.maxOpenFiles),
    scanIntervalMs: t.scanInterval * 1000,
    pollIntervalMs: t.pollInterval * 1000,
    rotateWaitMs: t.rotateWait * 1000,
    partialLineFlushAfterMs: t.partialLineFlushAfter * 1000,
    idleCloseAfterMs: t.idleCloseAfter * 1000,
    fingerprintBytes: t.fingerprintBytes,
  };
}

type MultilineConfig = LogsConfig["sources"]["pods"]["multiline"];

function multilineSpec(key: string, m: MultilineConfig): FileSourceSpec["multiline"] {
  if (m.preset !== "none" && m.startPattern !== "") {
    throw new ConfigError(`${key}.startPattern`, `cannot be set together with ${key}.preset; set one of them`);
  }
  const newRule = multilineRuleFactory(m.preset, m.startPattern);
  if (newRule === undefined) return undefined;
  return { newRule, limits: { flushAfterMs: m.flushAfter * 1000, maxLines: m.maxLines, maxBytes: m.maxBytes } };
}

function checkGlobs(key: string, globs: readonly string[]): void {
  for (const g of globs) {
    if (!g.startsWith("/")) throw new ConfigError(key, `${JSON.stringify(g)} is not an absolute path; include globs start with /`);
  }
}

/** The enabled file sources, validated (throws ConfigError naming the key). */
export function fileSourceSpecs(config: LogsConfig): FileSourceSpec[] {
  const s = config.sources;
  const specs: FileSourceSpec[] = [];
  const add = (name: "pods" | "host" | "files", enabled: boolean, kubernetes: boolean) => {
    const src = s[name];
    const key = `logs.sources.${name}`;
    checkGlobs(`${key}.include`, src.include);
    const multiline = multilineSpec(`${key}.multiline`, src.multiline);
    if (!enabled || src.include.length === 0) return;
    specs.push({
      name,
      include: src.include,
      exclude: new PathFilter(src.exclude),
      format: src.format,
      startAt: src.startAt,
      multiline,
      kubernetes,
    });
  };
  add("pods", s.pods.enabled, true);
  add("host", s.host.enabled, false);
  add("files", true, true);
  return specs;
}
