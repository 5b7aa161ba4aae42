import { compileGoRegex } from "../config/values.js";

/**
 * node_exporter's include/exclude filter for device names: a name is ignored when it matches the
 * exclude pattern, or when an include pattern is set and the name does not match it. Empty
 * patterns are unset. Matching is unanchored, as Go's regexp.MatchString.
 */
export class DeviceFilter {
  private readonly exclude: RegExp | undefined;
  private readonly include: RegExp | undefined;

  constructor(excludePattern: string, includePattern: string) {
    this.exclude = excludePattern === "" ? undefined : compileGoRegex(excludePattern);
    this.include = includePattern === "" ? undefined : compileGoRegex(includePattern);
  }

  ignored(name: string): boolean {
    if (this.exclude !== undefined && this.exclude.test(name)) return true;
    return this.include !== undefined && !this.include.test(name);
  }
}
