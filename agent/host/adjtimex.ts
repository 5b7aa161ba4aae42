import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { findAddon } from "./native-addon.js";

/**
 * adjtimex(2) for the timex collector, through nodetap's one native addon (native/timex/timex.c,
 * built into build/native/timex.node by scripts/build-native.sh): Node.js cannot make the system
 * call, and no /proc or /sys file carries the kernel's clock discipline state. The addon calls it
 * with modes = 0 (read only, no privilege) and returns the fields of struct timex unconverted.
 *
 * The addon is loaded once per configured path, with process.dlopen, which works the same from
 * the ESM sources, the compiled dist/js, the esbuild CJS bundle and the single executable (SEA).
 */

/** The fields of struct timex (see adjtimex(2)) and adjtimex's return value, as the kernel gives them. */
export interface RawTimex {
  /** Return value of adjtimex: TIME_OK 0, TIME_INS 1, TIME_DEL 2, TIME_OOP 3, TIME_WAIT 4, TIME_ERROR 5. */
  readonly state: number;
  /** Time offset; nanoseconds when status has STA_NANO, microseconds otherwise. */
  readonly offset: number;
  /** Frequency offset, ppm with a 16-bit fraction (65536 = 1 ppm). */
  readonly freq: number;
  /** Maximum error, microseconds. */
  readonly maxerror: number;
  /** Estimated error, microseconds. */
  readonly esterror: number;
  /** Clock command/status bits (STA_*). */
  readonly status: number;
  /** PLL time constant. */
  readonly constant: number;
  /** Clock precision, microseconds (read only). */
  readonly precision: number;
  /** Clock frequency tolerance, ppm with a 16-bit fraction (read only). */
  readonly tolerance: number;
  /** Current time (read only): seconds and microseconds (nanoseconds with STA_NANO). */
  readonly timeSec: number;
  readonly timeUsec: number;
  /** Microseconds between clock ticks. */
  readonly tick: number;
  /** PPS frequency, ppm with a 16-bit fraction. */
  readonly ppsfreq: number;
  /** PPS jitter; nanoseconds with STA_NANO, microseconds otherwise. */
  readonly jitter: number;
  /** PPS interval duration, seconds as a power of two. */
  readonly shift: number;
  /** PPS stability, ppm with a 16-bit fraction. */
  readonly stabil: number;
  /** PPS counts: jitter limit exceeded, calibration intervals, calibration errors, stability limit exceeded. */
  readonly jitcnt: number;
  readonly calcnt: number;
  readonly errcnt: number;
  readonly stbcnt: number;
  /** TAI offset, seconds. */
  readonly tai: number;
}

export interface AdjtimexAddon {
  /** Calls adjtimex with modes = 0. Throws an Error whose `code` is the errno name (EPERM, ...) when the call fails. */
  read(): RawTimex;
}

/** The addon's file name, next to the executable of a single binary or image. */
export const ADDON_FILE = "timex.node";
/** Where scripts/build-native.sh puts it, relative to the package root. */
export const BUILT_ADDON = path.join("build", "native", ADDON_FILE);

const HOW_TO_BUILD =
  "build it with `npm run build:native` (needs a C compiler and Node's headers, node_api.h; the image and the single " +
  "binary's release ship it next to the executable), or set metrics.collectors.timex.nativeAddon " +
  "(--collector.timex.native-addon) to the path of a timex.node";

/** The addon could not be loaded; the message says which files were tried, why each failed, and how to build one. */
export class AdjtimexUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AdjtimexUnavailableError";
  }
}

/**
 * This module's directory: __dirname in CommonJS (the esbuild bundle, the single binary), else
 * import.meta.url (ESM: the sources under tsx, dist/js). Undefined where neither says.
 */
function moduleDir(): string | undefined {
  // Checked first so that import.meta, which the CJS bundle has only as an empty object, is never needed there.
  if (typeof __dirname === "string") return __dirname;
  const url = (import.meta as { url?: string }).url;
  return url === undefined ? undefined : path.dirname(fileURLToPath(url));
}

/** The nearest directory at or above `start` whose package.json is nodetap's; undefined if none. */
export function packageRoot(start: string): string | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: unknown };
      if (pkg.name === "nodetap") return dir;
    } catch {
      // no package.json here, or not JSON: keep looking
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Where to look for a native addon (timex.node unless `file` says another), in order: the configured
 * path alone when one is set; else the file next to the running executable (the single binary, the image), then
 * build/native/timex.node in the package that holds this module (a checkout, npm install).
 */
export function addonCandidates(configured: string, execPath = process.execPath, fromDir = moduleDir(), file = ADDON_FILE): string[] {
  if (configured !== "") return [path.resolve(configured)];
  const candidates = [path.join(path.dirname(execPath), file)];
  const root = fromDir === undefined ? undefined : packageRoot(fromDir);
  if (root !== undefined) candidates.push(path.join(root, "build", "native", file));
  return candidates;
}

/** Loads the first candidate that exists and is a timex addon; AdjtimexUnavailableError saying why otherwise. */
export function loadAddonFrom(candidates: readonly string[]): AdjtimexAddon {
  const found = findAddon(candidates, (e) =>
    typeof e.read === "function" ? undefined : "is not nodetap's timex addon (it exports no read function)",
  );
  if (found.exports) return found.exports as unknown as AdjtimexAddon;
  if (found.failures.length === 0) {
    throw new AdjtimexUnavailableError(
      `the native addon for adjtimex(2) is missing: no ${candidates.join(" or ")}; Node.js cannot call adjtimex itself: ${HOW_TO_BUILD}`,
    );
  }
  throw new AdjtimexUnavailableError(`the native addon for adjtimex(2) is unusable: ${found.failures.join("; ")}; ${HOW_TO_BUILD}`);
}

const loaded = new Map<string, AdjtimexAddon | AdjtimexUnavailableError>();

/**
 * The addon for a configured path ("" = the default places), loaded on first use and kept, as is
 * a failure to load it (it is not retried: build or install the addon, then restart).
 */
export function loadAdjtimex(configured: string): AdjtimexAddon {
  let result = loaded.get(configured);
  if (result === undefined) {
    try {
      result = loadAddonFrom(addonCandidates(configured));
    } catch (err) {
      result = err instanceof AdjtimexUnavailableError ? err : new AdjtimexUnavailableError(String(err));
    }
    loaded.set(configured, result);
  }
  if (result instanceof AdjtimexUnavailableError) throw result;
  return result;
}
