import fs from "node:fs";
import path from "node:path";
import { freePort, ServerProcess, testenvTool, waitUntil } from "./servers.js";

export type VlRow = Record<string, string> & { _msg: string; _time: string; _stream: string };

/**
 * A real VictoriaLogs (built from its Go module by scripts/testenv-sinks-victorialogs.sh) on
 * 127.0.0.1: it takes the Loki push API (/insert/loki/api/v1/push), OTLP (/insert/opentelemetry/v1/logs)
 * and Elasticsearch _bulk, and answers LogsQL queries (/select/logsql/query).
 */
export class VictoriaLogs {
  readonly server: ServerProcess;

  private constructor(
    readonly port: number,
    /** The TLS listener's port (when started with tls), beside the plain one used for queries. */
    readonly tlsPort: number | undefined,
    readonly dataDir: string,
    args: string[],
  ) {
    this.server = new ServerProcess("victoria-logs", testenvTool("victoria-logs"), args);
  }

  static async start(dir: string, opts: { flags?: string[]; tls?: { cert: string; key: string } } = {}): Promise<VictoriaLogs> {
    const port = await freePort();
    const tlsPort = opts.tls ? await freePort() : undefined;
    const dataDir = path.join(dir, "vl-data");
    fs.mkdirSync(dataDir, { recursive: true });
    const args = [
      `-storageDataPath=${dataDir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      ...(opts.tls
        ? [
            `-httpListenAddr=127.0.0.1:${tlsPort}`,
            "-tls=false",
            "-tls=true",
            "-tlsCertFile=",
            `-tlsCertFile=${opts.tls.cert}`,
            "-tlsKeyFile=",
            `-tlsKeyFile=${opts.tls.key}`,
          ]
        : []),
      "-retentionPeriod=100y",
      "-futureRetention=100y",
      "-inmemoryDataFlushInterval=1s",
      "-loggerLevel=WARN",
      ...(opts.flags ?? []),
    ];
    const vl = new VictoriaLogs(port, tlsPort, dataDir, args);
    await vl.restart();
    return vl;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get tlsBase(): string {
    return `https://127.0.0.1:${this.tlsPort}`;
  }

  /** Starts (again, on the same data directory and port) and waits until it answers /health. */
  async restart(): Promise<void> {
    this.server.start();
    await waitUntil(
      `victoria-logs on port ${this.port} (${this.server.tail(500)})`,
      async () => (await fetch(`${this.base}/health`)).ok,
      30_000,
    );
  }

  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    return this.server.stop(signal);
  }

  /** Rows matching a LogsQL query (all fields), oldest first. */
  async query(logsql: string, tenant?: string): Promise<VlRow[]> {
    const url = `http://127.0.0.1:${this.port}/select/logsql/query?${new URLSearchParams({ query: `${logsql} | sort by (_time)`, limit: "10000000" })}`;
    const res = await fetch(url, { headers: tenant ? { AccountID: tenant, ProjectID: "0" } : {} });
    if (!res.ok) throw new Error(`LogsQL query failed: ${res.status} ${await res.text()}`);
    const text = await res.text();
    return text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as VlRow);
  }

  /** Number of rows matching `logsql` (LogsQL stats). */
  async count(logsql: string, tenant?: string): Promise<number> {
    const url = `http://127.0.0.1:${this.port}/select/logsql/query?${new URLSearchParams({ query: `${logsql} | stats count() n` })}`;
    const res = await fetch(url, { headers: tenant ? { AccountID: tenant, ProjectID: "0" } : {} });
    if (!res.ok) throw new Error(`LogsQL query failed: ${res.status} ${await res.text()}`);
    const line = (await res.text()).trim().split("\n")[0];
    return line ? Number((JSON.parse(line) as { n: string }).n) : 0;
  }

  async waitForCount(logsql: string, n: number, timeoutMs = 60_000, tenant?: string): Promise<void> {
    let last = -1;
    try {
      await waitUntil(`${n} rows for ${logsql}`, async () => (last = await this.count(logsql, tenant)) >= n, timeoutMs, 300);
    } catch (err) {
      throw new Error(`${(err as Error).message}; last count ${last}; server: ${this.server.tail(1500)}`, { cause: err });
    }
  }
}
