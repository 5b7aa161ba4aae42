import { f, type Infer } from "../schema.js";

// The log pipeline's configuration. Grown by the log-pipeline work; kept here so it shares the
// loader, validation, env names and docs with the rest of the config.
export const logsSchema = {
  enabled: f.bool(true, "Run the log pipeline (tail node and pod logs and forward them to the sink).", { flags: ["logs.enabled"] }),
};

export type LogsConfig = Infer<typeof logsSchema>;
