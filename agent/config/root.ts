import { type Infer } from "./schema.js";
import { metricsSchema } from "./sections/metrics.js";
import { logSchema, pathsSchema, webSchema } from "./sections/web.js";
import { logsSchema } from "./sections/logs.js";

/** The whole configuration schema: the YAML file's top-level keys. */
export const configSchema = {
  log: logSchema,
  paths: pathsSchema,
  web: webSchema,
  metrics: metricsSchema,
  logs: logsSchema,
};

export type AgentConfig = Infer<typeof configSchema>;
