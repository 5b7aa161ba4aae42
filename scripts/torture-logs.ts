/**
 * Crash/rotation torture of the file log pipeline: the real agent, real files rotated the way
 * real rotators do, SIGKILLs on a seeded schedule, and an HTTP receiver that accounts for every
 * line. Exit code 0 when no line was lost, 1 otherwise (2 on bad usage).
 *
 *   npm run torture:logs -- --scheme rename-chain --crash random --seed 7
 *   npm run torture:logs -- --help
 */
import { parseArgs } from "node:util";
import {
  CRASH_MODES,
  DEFAULT_OPTIONS,
  SCHEMES,
  resolveOptions,
  type CrashMode,
  type Scheme,
  type TortureOptions,
} from "./torture/options.js";
import { formatReport } from "./torture/report.js";
import { runTorture } from "./torture/run.js";

const d = DEFAULT_OPTIONS;
const HELP = `Usage: npm run torture:logs -- [options]

  --seed N          seed of every random choice; same seed, same schedule (${d.seed})
  --files N         files written at once (${d.files})
  --rate N          lines per second per file (${d.rate})
  --duration S      seconds of writing (${d.duration})
  --rotate-every S  seconds between rotations, +-10% jitter (${d.rotateEvery})
  --keep N          rotated files kept by the rotator; kubelet keeps 4 (${d.keep})
  --kills N         SIGKILLs over the run (${d.kills})
  --line-bytes N    bytes per line, newline included (${d.lineBytes})
  --scheme S        ${SCHEMES.join(" | ")} (${d.scheme})
  --crash C         ${CRASH_MODES.join(" | ")} (${d.crash})
  --settle-quiet S  after writing: stop waiting once nothing new arrived for S seconds (${d.settleQuiet})
  --settle-max S    after writing: stop waiting after S seconds in any case (${d.settleMax})
  --agent-arg ARG   extra agent argument, repeatable (e.g. --agent-arg=--logs.tail.scan-interval=200ms)
  --keep-dir        keep the temp dir (logs/, state/, nodetap.yaml, agent.log)
  --json            print the result as one JSON object
  --quiet           no progress lines on stderr
  --help            this text

Schemes: rename-chain (logrotate create: f.log -> f.log.1 ...), dateext (f.log -> f.log-YYYYMMDD-<s>),
delaycompress (rename-chain, f.log.2.. gzipped), compress (rename-chain, f.log.1 gzipped at once),
copytruncate (copy to f.log.1, truncate f.log), copytruncate-compress (the copy gzipped at once),
copytruncate-noappend (copytruncate of files written without O_APPEND: holes of NUL bytes),
kubelet (pods/<ns>_<pod>_<uid>/app/0.log -> 0.log.YYYYMMDD-HHMMSS, older ones gzipped, 5 files),
kubelet-symlinks (the same, read through containers/<pod>_<ns>_<c>-<id>.log symlinks, Fluent Bit's include).
Crash modes: random (uniform moments, restart after 0.2-1 s), startup (restarts killed again
50-600 ms after spawn, several in a row), drain (0-300 ms after a rotation), sink-refusing
(kills inside 1-3 s windows of 503s or refused connections), none.
`;

function num(name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} needs a number, got ${JSON.stringify(v)}`);
  return n;
}

function parse(argv: string[]): { options: TortureOptions; json: boolean } | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      seed: { type: "string" },
      files: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string" },
      "rotate-every": { type: "string" },
      keep: { type: "string" },
      kills: { type: "string" },
      "line-bytes": { type: "string" },
      scheme: { type: "string" },
      crash: { type: "string" },
      "settle-quiet": { type: "string" },
      "settle-max": { type: "string" },
      "agent-arg": { type: "string", multiple: true },
      "keep-dir": { type: "boolean" },
      json: { type: "boolean" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return undefined;
  return {
    json: values.json ?? false,
    options: resolveOptions({
      seed: num("seed", values.seed, d.seed),
      files: num("files", values.files, d.files),
      rate: num("rate", values.rate, d.rate),
      duration: num("duration", values.duration, d.duration),
      rotateEvery: num("rotate-every", values["rotate-every"], d.rotateEvery),
      keep: num("keep", values.keep, d.keep),
      kills: num("kills", values.kills, d.kills),
      lineBytes: num("line-bytes", values["line-bytes"], d.lineBytes),
      scheme: (values.scheme ?? d.scheme) as Scheme,
      crash: (values.crash ?? d.crash) as CrashMode,
      settleQuiet: num("settle-quiet", values["settle-quiet"], d.settleQuiet),
      settleMax: num("settle-max", values["settle-max"], d.settleMax),
      agentArgs: values["agent-arg"] ?? [],
      keepDir: values["keep-dir"] ?? false,
      verbose: !(values.quiet ?? false),
    }),
  };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`torture:logs: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (!parsed) {
    process.stdout.write(HELP);
    return 0;
  }
  const result = await runTorture(parsed.options);
  process.stdout.write(parsed.json ? JSON.stringify(result) + "\n" : formatReport(result));
  return result.lost === 0 ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err: Error) => {
    process.stderr.write(`torture:logs: ${err.stack ?? err.message}\n`);
    process.exitCode = 2;
  },
);
