import { ConfigChecker } from "./config/checker.js";
import type { ConfigIssue } from "./config/errors.js";
import { readConfig, type ReadConfig } from "./config/load.js";
import type { AgentConfig } from "./config-schema.js";
import { validateKubernetesConfig } from "./kubernetes/validate-config.js";
import { validateLogsConfig } from "./logs/validate-config.js";
import { validateMetricsConfig } from "./metrics/validate-config.js";
import { validateWebConfig } from "./server/validate-config.js";

/**
 * The one validation pass after the config is read: every check that `run` would make before it
 * serves or ships anything, made without starting anything, so that `check-config` refuses what
 * `run` refuses and both report every problem at once. Each section's check is the code that
 * section runs at start (the server's listen address parser, the file sources' spec builder, the
 * sinks' own checks), called so that one problem does not hide the next.
 *
 * It reads what the config refers to (env:/file: secrets, TLS and password files, the checkpoint
 * directory's permissions) but writes, binds and connects nothing. With `offline`
 * (check-config --offline) those reads are skipped and each is listed as a note.
 */
export interface ValidateOptions {
  /** Keys set explicitly: settings that do nothing for the chosen sink get a warning. */
  explicit?: ReadonlySet<string>;
  /** Where each explicit key came from, added to its issues (`in FILE`, `env NAME`, `flag --name`). */
  sources?: ReadonlyMap<string, string>;
  /** Keys whose given value was rejected while reading: their checks would only repeat the error. */
  failed?: ReadonlySet<string>;
  offline?: boolean;
}

export async function validateConfig(
  config: AgentConfig,
  env: NodeJS.ProcessEnv = process.env,
  opts: ValidateOptions = {},
): Promise<ConfigIssue[]> {
  const check = new ConfigChecker({ env, explicit: opts.explicit, failed: opts.failed, offline: opts.offline });
  validateWebConfig(config.web, check);
  validateMetricsConfig(config.metrics, check);
  await validateLogsConfig(config.logs, check);
  validateKubernetesConfig(config.kubernetes, config.logs, check, env);
  // Issues with the source of their key added; none about a key whose value was already rejected.
  const sources = opts.sources ?? new Map<string, string>();
  return check.issues
    .filter((i) => !check.failedUnder(i.key))
    .map((i) => (i.source !== undefined ? i : { ...i, source: sourceOf(sources, i.key) }))
    .map((i) => (i.source === undefined ? { severity: i.severity, key: i.key, problem: i.problem } : i));
}

/** Reads the configuration (argv, env, file) and validates it: every error, warning and note, in that order of discovery. */
export async function checkConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ read: ReadConfig; issues: ConfigIssue[] }> {
  const read = readConfig(argv, env);
  const checked = await validateConfig(read.config, env, {
    explicit: read.explicit,
    sources: read.sources,
    failed: read.failed,
    offline: read.offline,
  });
  return { read, issues: [...read.issues, ...checked] };
}

/** The source of the key or the closest key above it; for a section (web.tls), the one source of the keys under it. */
function sourceOf(sources: ReadonlyMap<string, string>, key: string): string | undefined {
  for (let k = key; k !== ""; k = k.includes(".") ? k.slice(0, k.lastIndexOf(".")) : "") {
    const s = sources.get(k);
    if (s !== undefined) return s;
  }
  const below = new Set([...sources].filter(([k]) => k.startsWith(`${key}.`)).map(([, s]) => s));
  return below.size === 1 ? [...below][0] : undefined;
}
