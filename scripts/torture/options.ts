/** What a torture run does: the rotation scheme, the crash pattern, rates and sizes. */

export const SCHEMES = [
  "rename-chain",
  "dateext",
  "delaycompress",
  "compress",
  "copytruncate",
  "copytruncate-compress",
  "copytruncate-noappend",
  "kubelet",
  "kubelet-symlinks",
] as const;
export type Scheme = (typeof SCHEMES)[number];

export const CRASH_MODES = ["random", "startup", "drain", "sink-refusing", "none"] as const;
export type CrashMode = (typeof CRASH_MODES)[number];

export interface TortureOptions {
  /** Seeds every random choice; the same seed gives the same schedule. */
  seed: number;
  /** Files written at once, one writer each. */
  files: number;
  /** Lines per second per file. */
  rate: number;
  /** Seconds of writing. */
  duration: number;
  /** Seconds between rotations (each with a little seeded jitter). */
  rotateEvery: number;
  /** Rotated files kept by the rotator (the kubelet scheme always keeps 4, as the kubelet does). */
  keep: number;
  /** SIGKILLs over the run (none with crash "none"). */
  kills: number;
  /** Bytes of a line's message, newline included (CRI framing comes on top). */
  lineBytes: number;
  scheme: Scheme;
  crash: CrashMode;
  /** Extra arguments for the agent. */
  agentArgs: string[];
  /** Keep the temp dir (logs, checkpoints, config, agent logs) for inspection. */
  keepDir: boolean;
  /** After writing stopped: give up once nothing new arrived for this many seconds. */
  settleQuiet: number;
  /** After writing stopped: give up after this many seconds in any case. */
  settleMax: number;
  /** Progress lines on stderr. */
  verbose: boolean;
}

export const DEFAULT_OPTIONS: TortureOptions = {
  seed: 1,
  files: 4,
  rate: 2500,
  duration: 40,
  rotateEvery: 3,
  keep: 8,
  kills: 10,
  lineBytes: 100,
  scheme: "rename-chain",
  crash: "random",
  agentArgs: [],
  keepDir: false,
  settleQuiet: 20,
  settleMax: 90,
  verbose: false,
};

/** The options with defaults filled in and values checked (throws on nonsense). */
export function resolveOptions(partial: Partial<TortureOptions> = {}): TortureOptions {
  const o: TortureOptions = { ...DEFAULT_OPTIONS, ...partial, agentArgs: [...(partial.agentArgs ?? DEFAULT_OPTIONS.agentArgs)] };
  const positive: Array<keyof TortureOptions> = ["files", "rate", "duration", "rotateEvery", "keep", "settleQuiet", "settleMax"];
  for (const k of positive) {
    const v = o[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new Error(`${k} must be a positive number, got ${String(v)}`);
  }
  if (!Number.isInteger(o.files) || !Number.isInteger(o.keep)) throw new Error("files and keep must be integers");
  if (!Number.isInteger(o.kills) || o.kills < 0) throw new Error(`kills must be a whole number >= 0, got ${o.kills}`);
  if (!Number.isInteger(o.seed)) throw new Error(`seed must be an integer, got ${o.seed}`);
  if (!Number.isInteger(o.lineBytes) || o.lineBytes < 32) throw new Error(`line-bytes must be an integer >= 32, got ${o.lineBytes}`);
  if (!SCHEMES.includes(o.scheme)) throw new Error(`scheme must be one of ${SCHEMES.join(", ")}, got ${String(o.scheme)}`);
  if (!CRASH_MODES.includes(o.crash)) throw new Error(`crash must be one of ${CRASH_MODES.join(", ")}, got ${String(o.crash)}`);
  return o;
}
