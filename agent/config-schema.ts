import { type Infer } from "./config/schema.js";
import { metricsSchema } from "./config/sections/metrics.js";
import { runtimeSchema } from "./config/sections/runtime.js";
import { logSchema, pathsSchema, webSchema } from "./config/sections/web.js";
import { kubernetesSchema } from "./kubernetes/config.js";
import { logsSchema } from "./logs/config.js";

/**
 * The whole configuration schema: the YAML file's top-level keys. The composition root of the
 * sections, beside agent.ts: agent/config holds the schema language and the loader, each part of
 * the agent (agent/logs/config.ts, ...) its own section.
 */
export const configSchema = {
  log: logSchema,
  paths: pathsSchema,
  web: webSchema,
  metrics: metricsSchema,
  logs: logsSchema,
  kubernetes: kubernetesSchema,
  runtime: runtimeSchema,
};

export type AgentConfig = Infer<typeof configSchema>;
