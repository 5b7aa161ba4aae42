import "./apply-runtime-settings.js";
import pino from "pino";
import { ConfigError, EXIT_CONFIG, formatIssue } from "./config/errors.js";
import { checkConfig } from "./check-config.js";
import { helpText } from "./config/docs.js";
import { HostPathError, EXIT_HOST_PATHS } from "./host/check.js";
import { Agent, ListenError, EXIT_LISTEN } from "./agent.js";
import { statfsCallsInPool } from "./metrics/collectors/filesystem-stat-pool.js";
import { VERSION } from "./version.js";

/** How long SIGTERM waits for in-flight log records to be acknowledged before giving up. */
const SHUTDOWN_DEADLINE_MS = 20_000;
/** How long to wait for statfs calls still in the thread pool before saying the exit waits for them (a healthy one takes microseconds). */
const STUCK_CALLS_WAIT_MS = 1_000;

async function statfsCallsReturned(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (statfsCallsInPool() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return statfsCallsInPool() === 0;
}

export async function main(argv: string[]): Promise<number> {
  // One pass for both commands: read (argv, file, env) and validate everything run would check
  // before it starts. Every error is printed, one line each, and nothing starts.
  const { read: loaded, issues } = await checkConfig(argv, process.env);
  if (loaded.command === "help") {
    process.stdout.write(helpText());
    return 0;
  }
  if (loaded.command === "version") {
    process.stdout.write(`nodetap ${VERSION} (node ${process.version})\n`);
    return 0;
  }
  const errors = issues.filter((i) => i.severity === "error");
  const warnings = issues.filter((i) => i.severity === "warning");
  if (errors.length > 0) {
    for (const e of [...errors, ...warnings]) process.stderr.write(`nodetap: ${formatIssue(e)}\n`);
    return EXIT_CONFIG;
  }
  if (loaded.command === "check-config") {
    process.stdout.write(`config OK${loaded.configFile ? `: ${loaded.configFile}` : ""}\n`);
    for (const notice of loaded.notices) process.stdout.write(`note: ${notice}\n`);
    for (const n of issues.filter((i) => i.severity === "note"))
      process.stdout.write(`note: ${formatIssue(n).replace(/^config note: /, "")}\n`);
    for (const w of warnings) process.stderr.write(`nodetap: ${formatIssue(w)}\n`);
    return 0;
  }

  // The agent's own log lines go to stderr, always: stdout belongs to the stdout sink's records
  // (a `| jq` must never meet a log line). Synchronous, so nothing is lost at exit.
  const logger = pino(
    { level: loaded.config.log.level, base: { app: "nodetap" }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 2, sync: true }),
  );
  for (const notice of loaded.notices) logger.info(notice);
  for (const w of warnings) logger.warn({ key: w.key }, formatIssue(w));
  let agent: Agent;
  try {
    agent = new Agent(loaded.config, logger);
    await agent.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.error({ key: err.key }, err.message);
      return EXIT_CONFIG;
    }
    if (err instanceof HostPathError) {
      logger.error({ key: err.key }, err.message);
      return EXIT_HOST_PATHS;
    }
    if (err instanceof ListenError) {
      logger.error(err.message);
      return EXIT_LISTEN;
    }
    throw err;
  }

  return new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, "shutdown requested");
      const failed = (err: unknown) => {
        logger.error({ err: (err as Error).message }, "shutdown failed");
        return 1;
      };
      void agent
        .stop(SHUTDOWN_DEADLINE_MS)
        .then(() => 0, failed)
        .then(async (code) => {
          // libuv joins its pool's threads when the process exits, so a statfs stuck in a hung
          // mount holds the exit until the kernel returns it (in a pod: until the kubelet's
          // SIGKILL). Node offers no _exit(2), and as PID 1 the process cannot signal itself.
          if (!(await statfsCallsReturned(STUCK_CALLS_WAIT_MS)))
            logger.warn(
              { statfs_calls_in_pool: statfsCallsInPool() },
              "shutdown finished; the process ends when the kernel returns the statfs calls stuck in a hung mount (or when killed)",
            );
          resolve(code);
        });
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
}

process.on("uncaughtException", (err) => {
  process.stderr.write(`nodetap: uncaught exception: ${err.stack ?? err.message}\n`);
  process.exit(1);
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`nodetap: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
