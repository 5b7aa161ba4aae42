import fs from "node:fs";
import path from "node:path";
import { epochNanos } from "./corpus.js";
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

  /**
   * Rows matching a LogsQL query (all fields), oldest first. Sorted here rather than with a
   * `| sort by (_time)` pipe: in one CI run that pipe answered no rows at all right after
   * `stats count()` had counted every one of them.
   */
  async query(logsql: string, tenant?: string): Promise<VlRow[]> {
    const url = `http://127.0.0.1:${this.port}/select/logsql/query?${new URLSearchParams({ query: logsql, limit: "10000000" })}`;
    const res = await fetch(url, { headers: tenant ? { AccountID: tenant, ProjectID: "0" } : {} });
    if (!res.ok) throw new Error(`LogsQL query failed: ${res.status} ${await res.text()}`);
    const text = await res.text();
    const rows = text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as VlRow);
    const keyed = rows.map((row) => ({ row, at: epochNanos(row._time) }));
    keyed.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    return keyed.map((k) => k.row);
  }

  /** Number of rows matching `logsql` (LogsQL stats). */
  async count(logsql: string, tenant?: string): Promise<number> {
    const url = `http://127.0.0.1:${this.port}/select/logsql/query?${new URLSearchParams({ query: `${logsql} | stats count() n` })}`;
    const res = await fetch(url, { headers: tenant ? { AccountID: tenant, ProjectID: "0" } : {} });
    if (!res.ok) throw new Error(`LogsQL query failed: ${res.status} ${await res.text()}`);
    const line = (await res.text()).trim().split("\n")[0];
    return line ? Number((JSON.parse(line) as { n: string }).n) : 0;
  }

  /** Waits until `query(logsql)` returns at least `n` rows, and returns them. */
  async waitForRows(logsql: string, n: number, timeoutMs = 60_000, tenant?: string): Promise<VlRow[]> {
    let rows: VlRow[] = [];
    try {
      await waitUntil(`${n} rows for ${logsql}`, async () => (rows = await this.query(logsql, tenant)).length >= n, timeoutMs, 300);
    } catch (err) {
      throw new Error(`${(err as Error).message}; last count ${rows.length}; server: ${this.server.tail(1500)}`, { cause: err });
    }
    return rows;
  }
}
