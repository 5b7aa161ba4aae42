import fs from "node:fs";
import YAML from "yaml";

/**
 * The agent's config for a torture run: only the given sources (the pods and host presets off
 * unless the layout turns pods on), checkpoints in `stateDir`, the HTTP sink to `url`. Tailing
 * keeps the agent's defaults; batches go out quickly and retries back off to at most 2 s so an
 * outage window does not leave the sink idle for a minute.
 */
export function writeTortureConfig(file: string, p: { url: string; stateDir: string; sources: Record<string, unknown> }): void {
  const config = {
    log: { level: "info" },
    logs: {
      checkpoint: { dir: p.stateDir },
      sources: { pods: { enabled: false }, host: { enabled: false }, ...p.sources },
      sink: {
        type: "http",
        batch: { maxWait: "100ms" },
        retry: { initialBackoff: "50ms", maxBackoff: "2s" },
        http: { url: p.url },
      },
    },
  };
  fs.writeFileSync(file, YAML.stringify(config));
}
