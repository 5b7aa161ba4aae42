import type { ConfigChecker } from "../config/checker.js";
import { collectIssue, ConfigError } from "../config/errors.js";
import type { LogsConfig } from "../logs/config.js";
import type { KubernetesConfig } from "./config.js";
import { metadataWanted, resolveSettings } from "./settings.js";

/** The kubernetes section as Agent uses it: resolved (address, node name, token file) when metadata is wanted. */
export function validateKubernetesConfig(config: KubernetesConfig, logs: LogsConfig, check: ConfigChecker, env: NodeJS.ProcessEnv): void {
  const podsEnabled = logs.enabled && logs.sources.pods.enabled;
  if (config.metadata === "on" && !podsEnabled) {
    check.add("warning", "kubernetes.metadata", "has no effect: it enriches pod log records, and logs or logs.sources.pods is disabled");
    return;
  }
  if (!metadataWanted(config, podsEnabled, env)) return;
  if (config.metadata === "on") {
    collectIssue(check.issues, () => resolveSettings(config, env));
    return;
  }
  // auto: the agent turns metadata off with a warning rather than refusing to start.
  try {
    resolveSettings(config, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    check.add("warning", err.key, `${err.problem}; kubernetes.metadata is auto, so pod records will carry path metadata only`);
  }
}
