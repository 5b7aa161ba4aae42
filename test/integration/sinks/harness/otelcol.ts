import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import YAML from "yaml";
import { freePort, ServerProcess, testenvTool, waitUntil } from "./servers.js";

type AnyValue = { stringValue?: string; intValue?: string; boolValue?: boolean };
interface KeyValue {
  key: string;
  value: AnyValue;
}

/** One log record as the Collector's file exporter wrote it, with its resource's attributes flattened. */
export interface CollectedLog {
  resource: Record<string, string>;
  scope: { name?: string; version?: string };
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber?: number;
  severityText?: string;
  body: string;
  attributes: Record<string, string>;
}

function flat(list: KeyValue[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, kv.value.stringValue ?? kv.value.intValue ?? String(kv.value.boolValue)]));
}

/**
 * A real OpenTelemetry Collector (minimal distribution built with OCB by
 * scripts/testenv-sinks-otelcol.sh): OTLP/HTTP receiver on 127.0.0.1 (optionally TLS, optionally
 * a small max_request_body_size), file exporter appending OTLP/JSON lines to out.json.
 */
export class OtelCollector {
  readonly server: ServerProcess;
  readonly out: string;

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly tls: boolean,
  ) {
    this.out = path.join(dir, "otelcol-out.json");
    this.server = new ServerProcess("otelcol", testenvTool("otelcol"), [`--config=file:${path.join(dir, "otelcol.yaml")}`]);
  }

  static async start(
    dir: string,
    opts: { tls?: { cert: string; key: string }; maxRequestBodyBytes?: number } = {},
  ): Promise<OtelCollector> {
    fs.mkdirSync(dir, { recursive: true });
    const port = await freePort();
    const c = new OtelCollector(port, dir, opts.tls !== undefined);
    const http: Record<string, unknown> = { endpoint: `127.0.0.1:${port}` };
    if (opts.tls) http.tls = { cert_file: opts.tls.cert, key_file: opts.tls.key };
    if (opts.maxRequestBodyBytes) http.max_request_body_size = opts.maxRequestBodyBytes;
    const config = {
      receivers: { otlp: { protocols: { http } } },
      exporters: { file: { path: c.out, append: true, flush_interval: "100ms" } },
      service: {
        telemetry: { metrics: { level: "none" }, logs: { level: "warn" } },
        pipelines: { logs: { receivers: ["otlp"], exporters: ["file"] } },
      },
    };
    fs.writeFileSync(path.join(dir, "otelcol.yaml"), YAML.stringify(config));
    await c.restart();
    return c;
  }

  get url(): string {
    return `${this.tls ? "https" : "http"}://127.0.0.1:${this.port}/v1/logs`;
  }

  async restart(): Promise<void> {
    this.server.start();
    await waitUntil(
      `otelcol on port ${this.port}`,
      () => {
        if (!this.server.running) throw new Error(`otelcol exited: ${this.server.tail(2000)}`);
        return new Promise<boolean>((resolve) => {
          const s = net.connect(this.port, "127.0.0.1");
          s.once("connect", () => {
            s.destroy();
            resolve(true);
          });
          s.once("error", () => resolve(false));
        });
      },
      30_000,
    );
  }

  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    return this.server.stop(signal);
  }

  /** Every record the file exporter has written so far. */
  logs(): CollectedLog[] {
    if (!fs.existsSync(this.out)) return [];
    const out: CollectedLog[] = [];
    for (const line of fs.readFileSync(this.out, "utf8").split("\n")) {
      if (line === "") continue;
      const req = JSON.parse(line) as {
        resourceLogs: Array<{
          resource?: { attributes?: KeyValue[] };
          scopeLogs: Array<{
            scope?: { name?: string; version?: string };
            logRecords: Array<{
              timeUnixNano: string;
              observedTimeUnixNano: string;
              severityNumber?: number;
              severityText?: string;
              body?: AnyValue;
              attributes?: KeyValue[];
            }>;
          }>;
        }>;
      };
      for (const rl of req.resourceLogs) {
        const resource = flat(rl.resource?.attributes);
        for (const sl of rl.scopeLogs) {
          for (const r of sl.logRecords) {
            out.push({
              resource,
              scope: sl.scope ?? {},
              timeUnixNano: r.timeUnixNano,
              observedTimeUnixNano: r.observedTimeUnixNano,
              severityNumber: r.severityNumber,
              severityText: r.severityText,
              body: r.body?.stringValue ?? "",
              attributes: flat(r.attributes),
            });
          }
        }
      }
    }
    return out;
  }

  async waitForLogs(n: number, timeoutMs = 60_000): Promise<CollectedLog[]> {
    let got: CollectedLog[] = [];
    try {
      await waitUntil(`${n} records in ${this.out}`, () => (got = this.logs()).length >= n, timeoutMs, 300);
    } catch (err) {
      throw new Error(`${(err as Error).message}; have ${got.length}; collector: ${this.server.tail(1500)}`, { cause: err });
    }
    return got;
  }
}
