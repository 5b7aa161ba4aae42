import fs from "node:fs";
import path from "node:path";
import { freePort, ServerProcess, testenvTool, waitUntil } from "./servers.js";

/**
 * A real OpenSearch node (Maven Central modules + transport-netty4, assembled by
 * scripts/testenv-sinks-opensearch.sh) on 127.0.0.1, single-node discovery, in a temp dir.
 * `settings` are extra node settings, e.g. a one-thread write pool with a queue of 1 to get
 * real 429s (es_rejected_execution_exception).
 */
export class OpenSearch {
  readonly server: ServerProcess;

  private constructor(
    readonly port: number,
    args: string[],
  ) {
    this.server = new ServerProcess("opensearch", testenvTool("opensearch"), args);
  }

  static async start(dir: string, settings: Record<string, string> = {}): Promise<OpenSearch> {
    fs.mkdirSync(path.join(dir, "config"), { recursive: true });
    const port = await freePort();
    const transport = await freePort();
    const all: Record<string, string> = {
      "path.home": dir,
      "path.data": path.join(dir, "data"),
      "path.logs": path.join(dir, "logs"),
      "cluster.name": "nodetap-test",
      "node.name": "n1",
      "network.host": "127.0.0.1",
      "http.port": String(port),
      "transport.port": String(transport),
      "discovery.type": "single-node",
      // Tests fill a small disk fast: no read-only block at the default watermarks.
      "cluster.routing.allocation.disk.threshold_enabled": "false",
      "action.auto_create_index": "true",
      ...settings,
    };
    const os = new OpenSearch(
      port,
      Object.entries(all).map(([k, v]) => `${k}=${v}`),
    );
    await os.restart();
    return os;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    this.server.start();
    await waitUntil(
      `opensearch on port ${this.port}`,
      async () => {
        if (!this.server.running) throw new Error(`opensearch exited: ${this.server.tail(3000)}`);
        const res = await fetch(`${this.url}/_cluster/health?wait_for_status=yellow&timeout=1s`);
        return res.ok;
      },
      120_000,
      500,
    );
  }

  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    return this.server.stop(signal, 30_000);
  }

  async request<T = unknown>(method: string, p: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}${p}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** All documents of `index` (refreshed first; at most 10000, the default result window). */
  async documents(index: string): Promise<Array<{ _id: string; _index: string; _source: Record<string, unknown> }>> {
    await this.request("POST", `/${index}/_refresh`);
    const res = await this.request<{ hits: { hits: Array<{ _id: string; _index: string; _source: Record<string, unknown> }> } }>(
      "POST",
      `/${index}/_search`,
      {
        size: 10000,
        query: { match_all: {} },
      },
    );
    return res.hits.hits;
  }

  async count(index: string): Promise<number> {
    await this.request("POST", `/${index}/_refresh`);
    return (await this.request<{ count: number }>("GET", `/${index}/_count`)).count;
  }
}
