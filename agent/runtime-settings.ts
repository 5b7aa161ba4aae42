import { isUtf8 } from "node:buffer";
import fs from "node:fs";
import { isSea } from "node:sea";

/**
 * Settings that take effect only when a process starts: glibc reads MALLOC_* before its first
 * allocation, and V8 sizes its young generation when it makes the heap. The image sets them in
 * its environment and `npm start` on its command line; the single binary run on a bare node
 * would start without them (on Node 24 a draining peak of 199-234 MiB instead of ~110; see
 * docs/benchmarks.md, "Memory"). So the binary replaces itself once, before it loads anything
 * else, with the same executable, arguments and environment plus what is missing from these
 * (`process.execve`: same PID, same open files). A setting already in the environment is kept
 * as it is, which is also how to override one; `NODETAP_RUNTIME_DEFAULTS=off` skips it all.
 * Processes the agent starts (journalctl, the host inventory's helpers) inherit them.
 */

/** Set to "off" to start the binary as it is (the config loader lets this NODETAP_ name pass). */
export const RUNTIME_DEFAULTS_ENV = "NODETAP_RUNTIME_DEFAULTS";

export const RUNTIME_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "131072",
};

/** The glibc tunable each MALLOC_* variable is an alias of: one set in GLIBC_TUNABLES is the operator's. */
const GLIBC_TUNABLE_OF: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "glibc.malloc.arena_max",
  MALLOC_MMAP_THRESHOLD_: "glibc.malloc.mmap_threshold",
};

/** Tunable names set in a GLIBC_TUNABLES value (`name=value:name=value`). */
function tunablesIn(value: string | undefined): Set<string> {
  return new Set((value ?? "").split(":").map((item) => item.split("=")[0].trim()));
}

/** V8 flags for NODE_OPTIONS, by name; one already given (with any value) is left alone. */
export const RUNTIME_V8_FLAGS: Readonly<Record<string, string>> = {
  "--max-semi-space-size": "8",
};

/** The environment to restart with, or undefined when nothing is missing. */
export function withRuntimeSettings(env: NodeJS.ProcessEnv, execArgv: readonly string[] = []): NodeJS.ProcessEnv | undefined {
  if (env[RUNTIME_DEFAULTS_ENV] === "off") return undefined;
  const added: NodeJS.ProcessEnv = {};
  const tunables = tunablesIn(env.GLIBC_TUNABLES);
  for (const [name, value] of Object.entries(RUNTIME_ENV))
    if (env[name] === undefined && !tunables.has(GLIBC_TUNABLE_OF[name])) added[name] = value;
  const options = env.NODE_OPTIONS ?? "";
  const given = [...options.split(/\s+/), ...execArgv].map((arg) => arg.split("=")[0].replaceAll("_", "-"));
  const flags = Object.entries(RUNTIME_V8_FLAGS)
    .filter(([name]) => !given.includes(name))
    .map(([name, value]) => `${name}=${value}`);
  if (flags.length > 0) added.NODE_OPTIONS = [options, ...flags].filter((s) => s !== "").join(" ");
  return Object.keys(added).length === 0 ? undefined : { ...env, ...added };
}

/**
 * The settings alone, as environment variables: what the image sets and the benchmarks give the
 * agent they run; `nodeOptions` (e.g. a heap limit) is appended to NODE_OPTIONS.
 */
export function runtimeSettingsEnv(nodeOptions = ""): Record<string, string> {
  const env = withRuntimeSettings({}) as Record<string, string>;
  return { ...env, NODE_OPTIONS: [env.NODE_OPTIONS, nodeOptions].filter((s) => s !== "").join(" ") };
}

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

const HELP_OR_VERSION = new Set(["-h", "--help", "--help-long", "-v", "--version"]);

/**
 * `--help`, `--version` and `check-config` print and exit: nothing for the settings to act on,
 * and the restart cost them about 50 ms (0.13 s against 0.08 for `--version`). Only as the first
 * argument, in the exact forms the parser knows (config/argv.ts): further on, `-v` may be a
 * flag's value, and a run without the settings would be the price of a wrong guess.
 */
export function isShortLivedCommand(args: readonly string[]): boolean {
  return args[0] === "check-config" || HELP_OR_VERSION.has(args[0] ?? "");
}

/** The running executable, the same file even if its path was replaced since (an upgrade). */
const SELF = "/proc/self/exe";

/**
 * Whether a /proc file of this process is UTF-8: Node hands arguments and environment to
 * JavaScript decoded as UTF-8, so other bytes would come back from a restart as U+FFFD.
 */
function isUtf8File(file: string): boolean {
  try {
    return isUtf8(fs.readFileSync(file));
  } catch {
    return false;
  }
}

/**
 * Restarts the single binary with the runtime settings it lacks (see above). Does nothing under
 * `node` (the bundle, tests) or on a Node without process.execve. Anything that would make the
 * restart fail or change what the agent was given (the executable not readable through
 * /proc/self/exe, arguments or environment that are not UTF-8) keeps the agent as it is, with a
 * line on stderr: Node aborts the process when execve(2) itself fails, so this checks first.
 */
export function applyRuntimeSettings(): void {
  const execve = (process as unknown as { execve?: Execve }).execve;
  if (typeof execve !== "function" || !isSea()) return;
  if (isShortLivedCommand(process.argv.slice(2))) return;
  const env = withRuntimeSettings(process.env, process.execArgv);
  if (env === undefined) return;
  const args = [process.argv0, ...process.argv.slice(2)];
  const why = restartObstacle();
  if (why !== undefined) {
    process.stderr.write(`nodetap: not restarting with the runtime settings (${why}); see docs/deployment.md\n`);
    return;
  }
  execve(SELF, args, env);
}

function restartObstacle(): string | undefined {
  try {
    fs.accessSync(SELF, fs.constants.X_OK);
  } catch (err) {
    return `${SELF}: ${(err as Error).message}`;
  }
  if (!isUtf8File("/proc/self/cmdline")) return "arguments that are not UTF-8";
  if (!isUtf8File("/proc/self/environ")) return "environment variables that are not UTF-8";
  return undefined;
}
