import path from "node:path";
import type { FileCheckpoint } from "../checkpoint.js";
import type { FileSourceSpec } from "./file-source-spec.js";
import type { FileTailer } from "./file-tailer.js";
import { globToRegExp } from "./glob.js";
import { activePathOf } from "./rotation-names.js";

/** The configured file sources, and which paths are still theirs. */
export class ConfiguredSources {
  private readonly byName: Map<string, FileSourceSpec>;
  private readonly includeRes: Map<string, RegExp[]>;

  constructor(specs: readonly FileSourceSpec[]) {
    this.byName = new Map(specs.map((s) => [s.name, s]));
    this.includeRes = new Map(specs.map((s) => [s.name, s.include.map((p) => globToRegExp(path.normalize(p)))]));
  }

  spec(name: string): FileSourceSpec | undefined {
    return this.byName.get(name);
  }

  /** Whether `file` is still named by one of the source's include globs and not excluded. */
  covers(spec: FileSourceSpec, file: string): boolean {
    if (spec.exclude.matches(file)) return false;
    return (this.includeRes.get(spec.name) ?? []).some((re) => re.test(file));
  }

  /**
   * Active paths of the `knownSources` (sources that ran before), from the files tailed now and
   * the previous run's checkpoints: where files may have rotated away unseen.
   */
  streamsOf(tailed: Iterable<FileTailer>, previous: FileCheckpoint[], knownSources: ReadonlySet<string>): Map<string, FileSourceSpec> {
    const streams = new Map<string, FileSourceSpec>();
    for (const t of tailed) if (t.state === "active" && knownSources.has(t.spec.name)) streams.set(t.stream, t.spec);
    for (const cp of previous) {
      const spec = this.byName.get(cp.source);
      const stream = cp.stream ?? activePathOf(cp.path) ?? cp.path;
      if (spec && knownSources.has(spec.name) && this.covers(spec, stream)) streams.set(stream, spec);
    }
    return streams;
  }
}
