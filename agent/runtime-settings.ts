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
 */
export const RUNTIME_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "131072",
};

/** V8 flags for NODE_OPTIONS, by name; one already given (with any value) is left alone. */
export const RUNTIME_V8_FLAGS: Readonly<Record<string, string>> = {
  "--max-semi-space-size": "8",
};

/** The environment to restart with, or undefined when nothing is missing. */
export function withRuntimeSettings(env: NodeJS.ProcessEnv, execArgv: readonly string[] = []): NodeJS.ProcessEnv | undefined {
  if (env.NODETAP_RUNTIME_DEFAULTS === "off") return undefined;
  const added: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(RUNTIME_ENV)) if (env[name] === undefined) added[name] = value;
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

/**
 * Restarts the single binary with the runtime settings it lacks (see above). Does nothing under
 * `node` (the bundle, tests) or on a Node without process.execve; if the exec fails the agent
 * goes on as it is, saying why on stderr.
 */
export function applyRuntimeSettings(): void {
  const execve = (process as unknown as { execve?: Execve }).execve;
  if (typeof execve !== "function" || !isSea()) return;
  const env = withRuntimeSettings(process.env, process.execArgv);
  if (env === undefined) return;
  try {
    execve(process.execPath, [process.execPath, ...process.argv.slice(2)], env);
  } catch (err) {
    process.stderr.write(`nodetap: could not restart with the runtime settings (${(err as Error).message}); going on without them\n`);
  }
}
